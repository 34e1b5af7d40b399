"""Evaluation runs in SQLite: each prediction stored as it is made, metrics on the run row, resume."""
import csv
import io
import json
import time
from functools import partial

from data.datasets import DatasetStore
from data.db import DatabaseFile, Store, now
from data.heartbeat import INTERVAL_S, STALE_S, Heartbeat, stale
from router.catalog import Catalog
from router.decision import Decision
from router.errors import InputError
from router.evaluation import Evaluation, Progress, RunConfig, cases, default_concurrency
from router.events import Event
from router.metrics import report
from router.routing import Router

PROGRESS_EVERY_S = 0.5
STOPPED = "the process running it stopped without finishing (app killed? out of memory?)"


class RunError(InputError):
    """A run that does not exist."""


def decision_from_row(row: dict, run: dict) -> Decision:
    """A stored prediction as a Decision."""
    return Decision(label=row["label"], previous=row["previous"], event=Event(row["event"]),
                    valid=bool(row["valid"]), latency=row["latency"], strategy=run["strategy"],
                    model=run["model"] or "", scores=json.loads(row["scores"]) if row["scores"] else None,
                    raw=row["raw"], prompt_tokens=row["prompt_tokens"] or 0,
                    completion_tokens=row["completion_tokens"] or 0, retries=row["retries"] or 0,
                    constraint=row["constraint_path"], error=row["error"],
                    candidates=json.loads(row["candidates"]) if row["candidates"] else None)


def seen(row: dict, stale_after: float) -> dict:
    """A run row as it stands: 'running' without a recent heartbeat is 'interrupted'."""
    if row["status"] != "running" or not stale(row["heartbeat_at"], stale_after):
        return row
    return {**row, "status": "interrupted", "error": row["error"] or STOPPED}


def config_of(run: dict) -> RunConfig:
    """What a run row evaluates."""
    return RunConfig(run["dataset"], run["strategy"], run["backend"], run["model"], run["adapter"],
                     run["protocol"], run["max_conversations"])


class RunStore(Store):
    """Runs and their predictions; a running run beats (data.heartbeat) while its process lives."""

    def __init__(self, file: DatabaseFile, datasets: DatasetStore, interval: float = INTERVAL_S,
                 stale_after: float = STALE_S):
        super().__init__(file)
        self.datasets, self.interval, self.stale_after = datasets, interval, stale_after
        self.noted: dict[int, float] = {}  # run -> when its progress was last written

    def get(self, run: int) -> dict:
        """Run `run` with its dataset name and its metrics parsed."""
        rows = self.rows("r.id = ?", [run])
        if not rows:
            raise RunError(f"no run with id {run}")
        return rows[0]

    def rows(self, where: str, params: list) -> list[dict]:
        """Runs matching `where` (over runs r and datasets d), newest first, as they stand, metrics parsed."""
        rows = (seen(row, self.stale_after) for row in self.db.query(
            f"""SELECT r.*, d.name AS dataset FROM runs r JOIN datasets d ON d.id = r.dataset_id
                WHERE {where} ORDER BY r.id DESC""", params))
        return [{**row, "metrics": json.loads(row["metrics"]) if row["metrics"] else None} for row in rows]

    def many(self, runs: list[int]) -> list[dict]:
        """Runs `runs` in that order, read at once; a missing one is an error."""
        if not runs:
            return []
        found = {r["id"]: r for r in self.rows(f"r.id IN ({', '.join('?' * len(runs))})", runs)}
        missing = [run for run in runs if run not in found]
        if missing:
            raise RunError(f"no run with id {missing[0]}")
        return [found[run] for run in runs]

    def config(self, run: int) -> RunConfig:
        """What run `run` evaluates."""
        return config_of(self.get(run))

    def listing(self, dataset: str | None = None) -> list[dict]:
        """Every run (of one dataset if given), newest first, metrics parsed."""
        return self.rows("? IS NULL OR d.name = ?", [dataset, dataset])

    def create(self, config: RunConfig, queued: bool = False, concurrency: int | None = None) -> int:
        """A new, empty run: running in this process, or queued for the run queue (data.run_queue)."""
        return self.db["runs"].insert({
            "dataset_id": self.datasets.dataset_id(config.dataset), "backend": config.backend,
            "model": config.model, "adapter": config.adapter, "strategy": config.strategy,
            "protocol": config.protocol, "max_conversations": config.limit,
            "status": "queued" if queued else "running", "queued": int(queued),
            "concurrency": concurrency, "created_at": now(),
            "heartbeat_at": None if queued else time.time()}).last_pk

    def unfinished(self, config: RunConfig, queued: bool = False) -> int | None:
        """The latest run of exactly this configuration that stopped before finishing or has failed turns.

        A run still beating belongs to a live process and is left to it; `queued` picks among the
        runs of the run queue (data.run_queue) instead of those run in a process of their own.
        """
        return next((r["id"] for r in self.listing(config.dataset)
                     if bool(r["queued"]) == queued and config_of(r) == config
                     and (r["status"] == "interrupted" or (r["status"] == "done" and self.failed(r["id"])))), None)

    def failed(self, run: int) -> int:
        """How many turns of run `run` failed (no answer after the retries)."""
        return self.db.execute("SELECT count(*) FROM predictions WHERE run_id = ? AND error IS NOT NULL",
                               [run]).fetchone()[0]

    def open(self, config: RunConfig, fresh: bool = False) -> int:
        """The unfinished run of this configuration to resume, or a new one."""
        return (None if fresh else self.unfinished(config)) or self.create(config)

    def done(self, run: int) -> dict[tuple[int, int], Decision]:
        """Decisions already stored for run `run`, by (conversation row id, position); failed turns are not done."""
        meta = self.get(run)
        return {(r["conversation_id"], r["position"]): decision_from_row(r, meta)
                for r in self.db["predictions"].rows_where("run_id = ? AND error IS NULL", [run])}

    def save(self, run: int, conversation: int, position: int, decision: Decision) -> None:
        """Store one prediction."""
        self.db["predictions"].insert({
            "run_id": run, "conversation_id": conversation, "position": position,
            "label": decision.label, "previous": decision.previous, "event": decision.event.value,
            "valid": int(decision.valid), "latency": decision.latency, "raw": decision.raw,
            "scores": json.dumps(decision.scores) if decision.scores is not None else None,
            "prompt_tokens": decision.prompt_tokens, "completion_tokens": decision.completion_tokens,
            "retries": decision.retries, "constraint_path": decision.constraint, "error": decision.error,
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
        """Predicted label of each routed turn of `run` (failed ones left out), by (conversation pk, position)."""
        return {(r["conversation_id"], r["position"]): r["label"]
                for r in self.db["predictions"].rows_where("run_id = ? AND error IS NULL", [run],
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
                 "latency": p["latency"], "raw": p["raw"], "prompt_tokens": p["prompt_tokens"],
                 "completion_tokens": p["completion_tokens"], "error": p["error"]} for p in predictions]

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
                progress: Progress | None = None, fresh: bool = False,
                concurrency: int | None = None) -> int:
        """Run (or resume) `config` with `router`; store predictions and metrics; return the run id.

        `catalog` applies to conversations that have no catalog of their own and a dataset without one.
        """
        run = self.open(config, fresh)
        self.resume(run, router, catalog, progress, concurrency)
        return run

    def resume(self, run: int, router: Router, catalog: Catalog, progress: Progress | None = None,
               concurrency: int | None = None) -> None:
        """Route the turns of run `run` not done yet (failed ones again), `concurrency` at once."""
        config = self.config(run)
        concurrency = concurrency or self.get(run)["concurrency"] or default_concurrency(config.backend)
        conversations = self.datasets.conversations(config.dataset)[: config.limit]
        self.mark(run, "running", error=None, heartbeat_at=time.time(), concurrency=concurrency)
        evaluation = Evaluation(router, self.datasets.catalog(config.dataset) or catalog,
                                config.protocol, self.done(run), partial(self.save, run),
                                partial(self.step, run, progress), concurrency)
        try:
            with Heartbeat(self.file, "runs", run, self.interval):
                judged = evaluation.run(conversations)
        except BaseException as e:
            self.mark(run, "interrupted", error=f"{type(e).__name__}: {e}")
            raise
        self.mark(run, "done", finished_at=now(), routed=evaluation.total, total=evaluation.total,
                  metrics=json.dumps(report(judged, self.failed(run), self.retries(run))))

    def step(self, run: int, progress: Progress | None, done: int, total: int) -> None:
        """Note a run's progress on its row (for other pages and users, twice a second), then tell `progress`."""
        if done == total or time.time() - self.noted.get(run, 0.0) > PROGRESS_EVERY_S:
            self.db["runs"].update(run, {"routed": done, "total": total})
            self.noted[run] = time.time()
        if progress:
            progress(done, total)

    def retries(self, run: int) -> int:
        """Requests of run `run` that were tried again (rate limits, server errors)."""
        return self.db.execute("SELECT coalesce(sum(retries), 0) FROM predictions WHERE run_id = ?",
                               [run]).fetchone()[0]
