"""Evaluation runs in SQLite: each prediction stored as it is made, metrics on the run row, resume."""
import csv
import io
import json
import time
from functools import partial

from data.datasets import DatasetStore
from data.db import DatabaseFile, now
from data.heartbeat import INTERVAL_S, STALE_S, Heartbeat, stale
from router.catalog import Catalog
from router.decision import Decision
from router.errors import InputError
from router.evaluation import Evaluation, Progress, RunConfig, cases
from router.events import Event
from router.metrics import report
from router.routing import Router

STOPPED = "the process running it stopped without finishing (app killed? out of memory?)"


class RunError(InputError):
    """A run that does not exist."""


def decision_from_row(row: dict, run: dict) -> Decision:
    """A stored prediction as a Decision."""
    return Decision(label=row["label"], previous=row["previous"], event=Event(row["event"]),
                    valid=bool(row["valid"]), latency=row["latency"], strategy=run["strategy"],
                    model=run["model"] or "", scores=json.loads(row["scores"]) if row["scores"] else None,
                    raw=row["raw"], candidates=json.loads(row["candidates"]) if row["candidates"] else None)


def seen(row: dict, stale_after: float) -> dict:
    """A run row as it stands: 'running' without a recent heartbeat is 'interrupted'."""
    if row["status"] != "running" or not stale(row["heartbeat_at"], stale_after):
        return row
    return {**row, "status": "interrupted", "error": row["error"] or STOPPED}


class RunStore:
    """Runs and their predictions; a running run beats (data.heartbeat) while its process lives."""

    def __init__(self, file: DatabaseFile, datasets: DatasetStore, interval: float = INTERVAL_S,
                 stale_after: float = STALE_S):
        self.file, self.datasets = file, datasets
        self.interval, self.stale_after = interval, stale_after

    @property
    def db(self):
        """This thread's connection."""
        return self.file.db

    def get(self, run: int) -> dict:
        """Run `run` with its dataset name and its metrics parsed."""
        rows = list(self.db.query("""SELECT r.*, d.name AS dataset FROM runs r
                                     JOIN datasets d ON d.id = r.dataset_id WHERE r.id = ?""", [run]))
        if not rows:
            raise RunError(f"no run with id {run}")
        row = seen(rows[0], self.stale_after)
        return {**row, "metrics": json.loads(row["metrics"]) if row["metrics"] else None}

    def config(self, run: int) -> RunConfig:
        """What run `run` evaluates."""
        r = self.get(run)
        return RunConfig(r["dataset"], r["strategy"], r["backend"], r["model"], r["adapter"],
                         r["protocol"], r["max_conversations"])

    def listing(self, dataset: str | None = None) -> list[dict]:
        """Every run (of one dataset if given), newest first, metrics parsed."""
        ids = [r["id"] for r in self.db.query(
            """SELECT r.id FROM runs r JOIN datasets d ON d.id = r.dataset_id
               WHERE ? IS NULL OR d.name = ? ORDER BY r.id DESC""", [dataset, dataset])]
        return [self.get(run) for run in ids]

    def create(self, config: RunConfig) -> int:
        """A new, empty run."""
        return self.db["runs"].insert({
            "dataset_id": self.datasets.dataset_id(config.dataset), "backend": config.backend,
            "model": config.model, "adapter": config.adapter, "strategy": config.strategy,
            "protocol": config.protocol, "max_conversations": config.limit, "status": "running",
            "created_at": now(), "heartbeat_at": time.time()}).last_pk

    def unfinished(self, config: RunConfig) -> int | None:
        """The latest run of exactly this configuration that stopped before finishing, if any.

        A run still beating belongs to a live process and is left to it.
        """
        return next((r["id"] for r in self.listing(config.dataset)
                     if r["status"] == "interrupted" and self.config(r["id"]) == config), None)

    def open(self, config: RunConfig, fresh: bool = False) -> int:
        """The unfinished run of this configuration to resume, or a new one."""
        return (None if fresh else self.unfinished(config)) or self.create(config)

    def done(self, run: int) -> dict[tuple[int, int], Decision]:
        """Decisions already stored for run `run`, by (conversation row id, position)."""
        meta = self.get(run)
        return {(r["conversation_id"], r["position"]): decision_from_row(r, meta)
                for r in self.db["predictions"].rows_where("run_id = ?", [run])}

    def save(self, run: int, conversation: int, position: int, decision: Decision) -> None:
        """Store one prediction."""
        self.db["predictions"].insert({
            "run_id": run, "conversation_id": conversation, "position": position,
            "label": decision.label, "previous": decision.previous, "event": decision.event.value,
            "valid": int(decision.valid), "latency": decision.latency, "raw": decision.raw,
            "scores": json.dumps(decision.scores) if decision.scores is not None else None,
            "candidates": json.dumps(decision.candidates) if decision.candidates is not None else None},
            replace=True)

    def mark(self, run: int, status: str, **fields) -> None:
        """Set the status of run `run` (and other columns)."""
        self.db["runs"].update(run, {"status": status, **fields})

    def predictions(self, run: int) -> list[dict]:
        """Stored predictions of run `run`, with conversation ids, in conversation order."""
        return [dict(r) for r in self.db.query(
            """SELECT p.*, c.ext_id FROM predictions p JOIN conversations c ON c.id = p.conversation_id
               WHERE p.run_id = ? ORDER BY p.conversation_id, p.position""", [run])]

    def labels(self, run: int) -> dict[tuple[int, int], str | None]:
        """Predicted label of each routed turn of run `run`, by (conversation row id, position)."""
        return {(r["conversation_id"], r["position"]): r["label"]
                for r in self.db["predictions"].rows_where("run_id = ?", [run],
                                                           select="conversation_id, position, label")}

    def turns(self, run: int) -> list[dict]:
        """One flat row per routed turn: run, conversation, position, message, gold and prediction."""
        title, predictions = self.config(run).title, self.predictions(run)
        conversations = {pk: self.datasets.load(pk) for pk in {p["conversation_id"] for p in predictions}}
        gold = {(pk, k): (g, prev) for pk, conv in conversations.items() for k, g, prev in cases(conv)}
        return [{"run": run, "config": title, "conversation": p["ext_id"], "position": p["position"],
                 "message": conversations[p["conversation_id"]].turns[p["position"]].content,
                 "gold": gold[p["conversation_id"], p["position"]][0],
                 "gold_previous": gold[p["conversation_id"], p["position"]][1],
                 "label": p["label"], "event": p["event"], "valid": bool(p["valid"]),
                 "latency": p["latency"], "raw": p["raw"]} for p in predictions]

    def export_json(self, runs: list[int]) -> str:
        """Runs with their configuration, metrics and every prediction, as JSON."""
        return json.dumps([{**{k: v for k, v in self.get(r).items() if k != "dataset_id"},
                            "turns": self.turns(r)} for r in runs], indent=2, ensure_ascii=False)

    def export_csv(self, runs: list[int]) -> str:
        """Every prediction of `runs`, one CSV row per turn."""
        rows = [t for r in runs for t in self.turns(r)]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["run"])
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()

    def delete(self, run: int) -> None:
        """Remove run `run` and its predictions."""
        self.get(run)
        with self.db.atomic():
            self.db.execute("DELETE FROM predictions WHERE run_id = ?", [run])
            self.db.execute("DELETE FROM runs WHERE id = ?", [run])

    def execute(self, config: RunConfig, router: Router, catalog: Catalog,
                progress: Progress | None = None, fresh: bool = False) -> int:
        """Run (or resume) `config` with `router`; store predictions and metrics; return the run id.

        `catalog` applies to conversations that have no catalog of their own and a dataset without one.
        """
        run = self.open(config, fresh)
        conversations = self.datasets.conversations(config.dataset)[: config.limit]
        self.mark(run, "running", error=None, heartbeat_at=time.time())
        evaluation = Evaluation(router, self.datasets.catalog(config.dataset) or catalog,
                                config.protocol, self.done(run), partial(self.save, run), progress)
        try:
            with Heartbeat(self.file, "runs", run, self.interval):
                judged = evaluation.run(conversations)
        except BaseException as e:
            self.mark(run, "interrupted", error=f"{type(e).__name__}: {e}")
            raise
        self.mark(run, "done", metrics=json.dumps(report(judged)), finished_at=now())
        return run
