"""Training jobs in SQLite: a queue (one runs, the others wait), progress, losses and log."""
import json
import time

from data.db import Store, immediate, now
from router.errors import InputError

ACTIVE = ("running", "stopping")
ENDED = ("stopped", "failed", "done")
STOPPABLE = ("queued", "running")
RESUMABLE = ("stopped", "failed")
JSON_COLUMNS = ("config", "eval_runs", "result")


class JobError(InputError):
    """A job that does not exist, or an action its status does not allow."""


class JobStore(Store):
    """Rows of the `jobs` table and their loss points."""

    def create(self, config: dict, kind: str = "train", evaluate: bool = True,
               status: str = "queued") -> int:
        """A new job (queued unless told otherwise)."""
        return self.db["jobs"].insert({"kind": kind, "config": json.dumps(config), "status": status,
                                       "progress": 0.0, "log": "", "evaluate": int(evaluate),
                                       "created_at": now()}).last_pk

    def rows(self, where: str | None = None, params: list | None = None,
             order_by: str = "id") -> list[dict]:
        """Jobs matching `where`, their JSON columns parsed."""
        return [{**r, **{k: json.loads(r[k]) if r[k] else None for k in JSON_COLUMNS}}
                for r in self.db["jobs"].rows_where(where, params or [], order_by=order_by)]

    def get(self, job: int) -> dict:
        """Job `job` with its JSON columns parsed."""
        rows = self.rows("id = ?", [job])
        if not rows:
            raise JobError(f"no job with id {job}")
        return rows[0]

    def listing(self) -> list[dict]:
        """Every job, newest first."""
        return self.rows(order_by="id desc")

    def active(self) -> list[dict]:
        """Jobs running or stopping."""
        return self.rows(f"status IN ({', '.join('?' * len(ACTIVE))})", list(ACTIVE))

    def set(self, job: int, **fields) -> None:
        """Set columns of a job (JSON columns given as objects)."""
        self.db["jobs"].update(job, {k: json.dumps(v) if k in JSON_COLUMNS else v for k, v in fields.items()})

    def mark(self, job: int, status: str, **fields) -> None:
        """Set a job's status and other columns; an ended job gets its finishing time."""
        if status in ENDED:
            fields.setdefault("finished_at", now())
        self.set(job, status=status, **fields)

    def claim_next(self) -> dict | None:
        """Mark the oldest queued job running, unless a job runs already; return it."""
        with immediate(self.db):
            if self.active():
                return None
            row = self.db.execute("SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1").fetchone()
            if row is None:
                return None
            self.db.execute("UPDATE jobs SET status = 'running', started_at = ?, finished_at = NULL, "
                            "error = NULL, heartbeat_at = ? WHERE id = ?", [now(), time.time(), row[0]])
        return self.get(row[0])

    def log(self, job: int, line: str) -> None:
        """Append a line to the job's log."""
        self.db.execute("UPDATE jobs SET log = coalesce(log, '') || ? WHERE id = ?", [line.rstrip() + "\n", job])
        self.db.conn.commit()

    def progress(self, job: int, value: float) -> None:
        """Set the job's progress in [0, 1]."""
        self.set(job, progress=value)

    def add_loss(self, job: int, kind: str, step: int, value: float) -> None:
        """Record a train or eval loss point."""
        self.db["job_losses"].insert({"job_id": job, "kind": kind, "step": step, "value": value})

    def losses(self, job: int) -> list[dict]:
        """Loss points of a job, in order."""
        return list(self.db["job_losses"].rows_where("job_id = ?", [job], order_by="rowid",
                                                     select="kind, step, value"))

    def request_stop(self, job: int) -> str:
        """Ask a job to stop: a queued job stops at once, a running one saves a checkpoint first."""
        status = self.get(job)["status"]
        if status == "queued":
            self.mark(job, "stopped")
        elif status == "running":
            self.mark(job, "stopping")
        else:
            raise JobError(f"job {job} is {status}; only a queued or running job can stop")
        return self.get(job)["status"]

    def resume(self, job: int) -> None:
        """Queue a stopped or failed job again; it resumes from its last checkpoint."""
        status = self.get(job)["status"]
        if status not in RESUMABLE:
            raise JobError(f"job {job} is {status}; only a stopped or failed job can resume")
        self.mark(job, "queued", finished_at=None)

    def stop_requested(self, job: int) -> bool:
        """Whether someone asked job `job` to stop."""
        return self.get(job)["status"] == "stopping"


class JobReporter:
    """Reports a training job's progress, losses and log lines to its row (router.training.job.Reporter)."""

    def __init__(self, jobs: JobStore, job: int):
        self.jobs, self.job = jobs, job

    def log(self, line: str) -> None:
        """Append a line to the job's log, and echo it."""
        print(line, flush=True)
        self.jobs.log(self.job, line)

    def progress(self, fraction: float) -> None:
        """Share of the training done."""
        self.jobs.progress(self.job, fraction)

    def loss(self, kind: str, step: int, value: float) -> None:
        """A train or eval loss point."""
        self.jobs.add_loss(self.job, kind, step, value)

    def stop_requested(self) -> bool:
        """Whether the job's status says stopping."""
        return self.jobs.stop_requested(self.job)
