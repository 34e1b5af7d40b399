"""Datasets of conversations in SQLite: import (all-or-nothing), read back, export as JSONL."""
import json
import re
from pathlib import Path

from data.db import DatabaseFile, Store, immediate, now
from router.catalog import MAX_TASKS, Catalog, check_size
from router.conversation import Conversation, Turn, read_jsonl, to_jsonl
from router.errors import InputError

GOLD_ORIGINS = ("source", "annotator")
VISIBLE = ("unvalidated", "validated", "flagged")
NAME_RULE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")
NAME_HELP = "1 to 64 letters, digits, '_', '.' or '-', not starting with a dot"


class DatasetError(InputError):
    """A dataset that does not exist, or a name already taken or breaking the rule."""


def check_name(name: object) -> str:
    """`name` if it follows the rule of dataset and export names, else DatasetError."""
    if not isinstance(name, str) or not NAME_RULE.fullmatch(name):
        raise DatasetError(f"dataset name {name!r} must be {NAME_HELP}", field="name")
    return name


def export_path(folder: Path, name: str, suffix: str = ".jsonl") -> Path:
    """Where the export of dataset `name` goes: a file directly inside `folder` (created)."""
    folder = Path(folder).resolve()
    path = (folder / f"{check_name(name)}{suffix}").resolve()
    if path.parent != folder:
        raise DatasetError(f"export name {name!r} leaves the exports folder", field="name")
    folder.mkdir(parents=True, exist_ok=True)
    return path


IN_DATASET = "SELECT id FROM conversations WHERE dataset_id = ?"


class DatasetStore(Store):
    """Datasets, their conversations, turns and label history; catalogs of at most `max_tasks` tasks."""

    def __init__(self, file: DatabaseFile, max_tasks: int | None = MAX_TASKS):
        super().__init__(file)
        self.max_tasks = max_tasks

    def names(self) -> list[str]:
        """Dataset names, oldest first."""
        return [r["name"] for r in self.db["datasets"].rows_where(order_by="id")]

    def dataset_id(self, name: str) -> int:
        """The id of dataset `name`."""
        row = next(self.db["datasets"].rows_where("name = ?", [name]), None)
        if row is None:
            raise DatasetError(f"no dataset called '{name}'")
        return row["id"]

    def catalog(self, name: str) -> Catalog | None:
        """The catalog a dataset was imported with, if any."""
        raw = self.db["datasets"].get(self.dataset_id(name))["catalog"]
        return Catalog.from_list(json.loads(raw), max_tasks=None) if raw else None

    def summary(self) -> list[dict]:
        """One row per dataset: name, source, conversation and labelled-turn counts."""
        sql = """SELECT d.name, d.source, d.created_at,
                   (SELECT count(*) FROM conversations c WHERE c.dataset_id = d.id
                      AND c.status != 'deleted') AS conversations,
                   (SELECT count(DISTINCT l.conversation_id || ':' || l.position) FROM labels l
                      JOIN conversations c ON c.id = l.conversation_id
                      WHERE c.dataset_id = d.id AND c.status != 'deleted') AS labelled_turns
                 FROM datasets d ORDER BY d.id"""
        return [dict(r) for r in self.db.query(sql)]

    def create(self, name: str, source: str = "", catalog: Catalog | None = None) -> int:
        """Create an empty dataset; its name follows the rule (check_name)."""
        if name in self.names():
            raise DatasetError(f"dataset '{name}' exists already", field="name")
        return self.db["datasets"].insert({
            "name": check_name(name), "source": source, "created_at": now(),
            "catalog": json.dumps(catalog.to_list()) if catalog is not None else None}).last_pk

    def add(self, name: str, conversations: list[Conversation], source: str = "",
            catalog: Catalog | None = None, origin: str = "source", annotator: str | None = None,
            status: str = "unvalidated") -> int:
        """Add conversations to dataset `name` (created if missing), all of them or none."""
        if not conversations:
            raise DatasetError(f"no conversation to add to dataset '{name}'")
        for catalog_in in [catalog, *(c.tasks for c in conversations)]:
            check_size(len(catalog_in or ()), self.max_tasks)
        with immediate(self.db):
            if name not in self.names():
                self.create(name, source, catalog)
            dataset = self.dataset_id(name)
            taken = {r["ext_id"] for r in self.db["conversations"].rows_where(
                "dataset_id = ?", [dataset], select="ext_id")}
            for conv in conversations:
                if conv.id in taken:
                    raise DatasetError(f"conversation '{conv.id}' is already in dataset '{name}'",
                                       field="id")
                self.insert(dataset, conv, origin, annotator, status)
        return len(conversations)

    def insert(self, dataset: int, conv: Conversation, origin: str, annotator: str | None,
               status: str) -> int:
        """Write one conversation, its turns and its labels; return its row id."""
        pk = self.db["conversations"].insert({
            "dataset_id": dataset, "ext_id": conv.id, "source": conv.source, "status": status,
            "catalog": json.dumps(conv.tasks.to_list()) if conv.tasks is not None else None,
            "meta": json.dumps(conv.meta), "created_at": now()}).last_pk
        self.db["turns"].insert_all({"conversation_id": pk, "position": k, "role": t.role,
                                     "content": t.content} for k, t in enumerate(conv.turns))
        self.db["labels"].insert_all(
            {"conversation_id": pk, "position": k, "task": t.task, "origin": origin,
             "annotator": annotator, "created_at": now()}
            for k, t in enumerate(conv.turns) if t.role == "user" and t.labelled)
        return pk

    def import_jsonl(self, name: str, path: str | Path, catalog: Catalog, source: str = "") -> int:
        """Import a JSONL file into dataset `name`; a bad line (or no conversation) rejects the whole file."""
        conversations = read_jsonl(path, catalog, self.max_tasks)
        if not conversations:
            raise DatasetError("the file holds no conversation", file=Path(path).name)
        return self.add(name, conversations, source or Path(path).stem, catalog)

    def conversation_ids(self, name: str, statuses: tuple[str, ...] = VISIBLE) -> list[int]:
        """Row ids of a dataset's conversations with one of `statuses`, in import order."""
        marks = ",".join("?" * len(statuses))
        return [r["id"] for r in self.db["conversations"].rows_where(
            f"dataset_id = ? AND status IN ({marks})", [self.dataset_id(name), *statuses],
            order_by="id", select="id")]

    def ids_from_source(self, name: str, source: str) -> list[str]:
        """The ids of dataset `name`'s conversations whose own `source` is `source`, whatever their status."""
        return [r["ext_id"] for r in self.db["conversations"].rows_where(
            "dataset_id = ? AND source = ?", [self.dataset_id(name), source], order_by="id", select="ext_id")]

    def load(self, pk: int, origins: tuple[str, ...] = GOLD_ORIGINS) -> Conversation:
        """Conversation `pk` with, on each user turn, its latest label from `origins`."""
        row = self.db["conversations"].get(pk)
        marks = ",".join("?" * len(origins))
        labels = {r["position"]: r["task"] for r in self.db.query(
            f"""SELECT position, task FROM labels WHERE id IN (SELECT max(id) FROM labels
                WHERE conversation_id = ? AND origin IN ({marks}) GROUP BY position)""",
            [pk, *origins])}
        turns = tuple(Turn(r["role"], r["content"], labels.get(r["position"]),
                           r["role"] == "user" and r["position"] in labels)
                      for r in self.db["turns"].rows_where("conversation_id = ?", [pk],
                                                            order_by="position"))
        catalog = Catalog.from_list(json.loads(row["catalog"]), max_tasks=None) if row["catalog"] else None
        return Conversation(id=row["ext_id"], turns=turns, source=row["source"] or "", tasks=catalog,
                            meta={**json.loads(row["meta"] or "{}"), "pk": pk, "status": row["status"]})

    def conversations(self, name: str, statuses: tuple[str, ...] = VISIBLE,
                      origins: tuple[str, ...] = GOLD_ORIGINS) -> list[Conversation]:
        """Every conversation of a dataset, with labels from `origins`."""
        return [self.load(pk, origins) for pk in self.conversation_ids(name, statuses)]

    def export_jsonl(self, name: str, statuses: tuple[str, ...] = VISIBLE) -> str:
        """A dataset as JSONL text in the interchange format."""
        return to_jsonl(self.conversations(name, statuses))

    def write_export(self, name: str, folder: Path, statuses: tuple[str, ...] = VISIBLE) -> Path:
        """Write dataset `name` as `<name>.jsonl` directly inside `folder`; return the file."""
        path = export_path(folder, name)
        path.write_text(self.export_jsonl(name, statuses), encoding="utf-8")
        return path

    def delete(self, name: str) -> None:
        """Remove a dataset with its conversations, turns, labels, runs and predictions."""
        dataset = self.dataset_id(name)
        with immediate(self.db):
            for sql in ("DELETE FROM predictions WHERE run_id IN (SELECT id FROM runs WHERE dataset_id = ?)",
                        "DELETE FROM runs WHERE dataset_id = ?",
                        f"DELETE FROM labels WHERE conversation_id IN ({IN_DATASET})",
                        f"DELETE FROM turns WHERE conversation_id IN ({IN_DATASET})",
                        f"DELETE FROM predictions WHERE conversation_id IN ({IN_DATASET})",
                        "DELETE FROM conversations WHERE dataset_id = ?",
                        "DELETE FROM datasets WHERE id = ?"):
                self.db.execute(sql, [dataset])

    def set_labels(self, pk: int, labels: dict[int, str | None], origin: str,
                   annotator: str | None = None) -> None:
        """Record new labels for user turns (position -> task or None), keeping the history."""
        with immediate(self.db):
            self.db["labels"].insert_all({"conversation_id": pk, "position": position, "task": task,
                                          "origin": origin, "annotator": annotator, "created_at": now()}
                                         for position, task in labels.items())
