"""The schema as an append-only list of migrations: never edit one that has shipped, add a new one."""
import json
from pathlib import Path

import sqlite_utils

DEFAULT_CATALOG = Path(__file__).with_name("default_catalog.json")
MIGRATIONS = []


def migration(fn):
    """Register a migration; they apply in the order they are defined in this file."""
    MIGRATIONS.append(fn)
    return fn



@migration
def m001_initial(db: sqlite_utils.Database) -> None:
    """Tasks, datasets, conversations, turns, labels, runs, predictions, jobs."""
    db["tasks"].create({"name": str, "description": str, "instructions": str, "infos": str,
                        "position": int, "updated_at": str}, pk="name")
    db["datasets"].create({"id": int, "name": str, "source": str, "catalog": str,
                           "created_at": str}, pk="id", not_null={"name"})
    db["datasets"].create_index(["name"], unique=True)
    db["conversations"].create({"id": int, "dataset_id": int, "ext_id": str, "source": str,
                                "catalog": str, "status": str, "meta": str, "created_at": str},
                               pk="id", foreign_keys=[("dataset_id", "datasets", "id")],
                               defaults={"status": "unvalidated"})
    db["conversations"].create_index(["dataset_id", "ext_id"], unique=True)
    db["turns"].create({"conversation_id": int, "position": int, "role": str, "content": str},
                       pk=("conversation_id", "position"),
                       foreign_keys=[("conversation_id", "conversations", "id")])
    db["labels"].create({"id": int, "conversation_id": int, "position": int, "task": str,
                         "origin": str, "annotator": str, "created_at": str}, pk="id",
                        foreign_keys=[("conversation_id", "conversations", "id")])
    db["labels"].create_index(["conversation_id", "position"])
    db["runs"].create({"id": int, "dataset_id": int, "backend": str, "model": str, "adapter": str,
                       "strategy": str, "protocol": str, "status": str, "metrics": str,
                       "created_at": str}, pk="id", foreign_keys=[("dataset_id", "datasets", "id")])
    db["predictions"].create({"run_id": int, "conversation_id": int, "position": int, "label": str,
                              "previous": str, "event": str, "valid": int, "scores": str,
                              "raw": str, "latency": float},
                             pk=("run_id", "conversation_id", "position"),
                             foreign_keys=[("run_id", "runs", "id"),
                                           ("conversation_id", "conversations", "id")])
    db["jobs"].create({"id": int, "kind": str, "config": str, "status": str, "progress": float,
                       "log": str, "pid": int, "created_at": str, "started_at": str,
                       "finished_at": str}, pk="id")


@migration
def m002_default_catalog(db: sqlite_utils.Database) -> None:
    """Seed the task catalog a new installation starts with."""
    tasks = json.loads(DEFAULT_CATALOG.read_text(encoding="utf-8"))["tasks"]
    db["tasks"].insert_all({"name": t["name"], "description": t["description"],
                            "instructions": t["instructions"], "infos": json.dumps(t["infos"]),
                            "position": k, "updated_at": None} for k, t in enumerate(tasks))


@migration
def m003_eval_run_columns(db: sqlite_utils.Database) -> None:
    """Runs remember their conversation limit, when they finished and why they stopped."""
    for column, kind in (("max_conversations", int), ("finished_at", str), ("error", str)):
        db["runs"].add_column(column, kind)


DEFAULT_GUIDELINES = Path(__file__).with_name("default_guidelines.md")


@migration
def m005_validate_annotations(db: sqlite_utils.Database) -> None:
    """Status history, typo fixes, assignments to annotators, annotation guidelines."""
    db["status_changes"].create({"id": int, "conversation_id": int, "status": str, "previous": str,
                                 "comment": str, "annotator": str, "created_at": str}, pk="id",
                                foreign_keys=[("conversation_id", "conversations", "id")])
    db["status_changes"].create_index(["conversation_id"])
    db["turn_edits"].create({"id": int, "conversation_id": int, "position": int, "old_content": str,
                             "new_content": str, "annotator": str, "created_at": str}, pk="id",
                            foreign_keys=[("conversation_id", "conversations", "id")])
    db["assignments"].create({"conversation_id": int, "annotator": str, "created_at": str},
                             pk=("conversation_id", "annotator"),
                             foreign_keys=[("conversation_id", "conversations", "id")])
    db["guidelines"].create({"id": int, "text": str, "annotator": str, "created_at": str}, pk="id")
    db["guidelines"].insert({"text": DEFAULT_GUIDELINES.read_text(encoding="utf-8"),
                             "annotator": None, "created_at": None})


@migration
def m006_train_jobs(db: sqlite_utils.Database) -> None:
    """Training jobs' results and loss points; fine-tuned router models."""
    for column, kind in (("evaluate", int), ("error", str), ("adapter", str), ("model", str),
                         ("heldout", str), ("eval_runs", str), ("result", str)):
        db["jobs"].add_column(column, kind)
    db["job_losses"].create({"job_id": int, "kind": str, "step": int, "value": float},
                            foreign_keys=[("job_id", "jobs", "id")])
    db["job_losses"].create_index(["job_id"])
    db["models"].create({"name": str, "base": str, "adapter": str, "job_id": int, "created_at": str},
                        pk="name", foreign_keys=[("job_id", "jobs", "id")])


@migration
def m007_heartbeats(db: sqlite_utils.Database) -> None:
    """Runs and jobs carry the last heartbeat of their worker (seconds since the epoch)."""
    for table in ("runs", "jobs"):
        db[table].add_column("heartbeat_at", float)


@migration
def m008_served_runs(db: sqlite_utils.Database) -> None:
    """Predictions keep tokens, retries, constraint path and failures; runs can wait in a queue."""
    for column, kind in (("prompt_tokens", int), ("completion_tokens", int), ("retries", int),
                         ("constraint_path", str), ("error", str)):
        db["predictions"].add_column(column, kind)
    for column, kind in (("concurrency", int), ("queued", int), ("worker", str), ("routed", int),
                         ("total", int)):
        db["runs"].add_column(column, kind)


@migration
def m009_prediction_candidates(db: sqlite_utils.Database) -> None:
    """Predictions keep the candidate tasks of a large catalog with their retrieval scores (JSON)."""
    db["predictions"].add_column("candidates", str)


@migration
def m010_task_display(db: sqlite_utils.Database) -> None:
    """Tasks keep the name users see and an icon (Mojodex's task_displayed_data and icon)."""
    for column in ("title", "icon"):
        db["tasks"].add_column(column, str)
