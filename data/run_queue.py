"""Evaluation runs queued in SQLite, worked off one at a time by a thread of the app.

A queued run is a row of `runs` (status queued); the worker claims the oldest, routes it
(RunStore.resume: predictions stored as they arrive, a heartbeat while it works) and takes the
next. A queued run whose worker died (the app was killed or restarted) is claimed again and
resumes where it stopped. Any app instance on the same database sees the queue and its progress.
"""
import os
import socket
import sys
import threading
import time
from collections.abc import Callable

from data.db import immediate
from data.heartbeat import STALE_S, stale
from data.runs import RunStore
from router.catalog import Catalog
from router.evaluation import RunConfig
from router.services import RouterFactory

WORKER = f"{socket.gethostname()}:{os.getpid()}"


def worker_alive(worker: str | None) -> bool:
    """Whether the process named `worker` (host:pid) may still run: on another host, assume so."""
    if not worker:
        return False
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError):
        return False
    return True


class RunQueue:
    """Queues runs and routes them one after another in a daemon thread."""

    def __init__(self, runs: RunStore, routers: RouterFactory, catalog: Callable[[], Catalog],
                 interval: float = 1.0, stale_after: float = STALE_S):
        self.runs, self.routers, self.catalog = runs, routers, catalog
        self.interval, self.stale_after = interval, stale_after
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def db(self):
        """This thread's connection."""
        return self.runs.db

    def submit(self, config: RunConfig, concurrency: int | None = None) -> int:
        """Queue a run of `config`; the worker starts it when the runs before it are done.

        An identical queued run that was interrupted or has failed turns is queued again instead:
        only its turns left (and failed) are routed.
        """
        run = self.runs.unfinished(config, queued=True)
        if run is None:
            run = self.runs.create(config, queued=True, concurrency=concurrency)
        else:
            self.runs.mark(run, "queued", error=None, concurrency=concurrency)
        self.wake.set()
        return run

    def listing(self) -> list[dict]:
        """Queued runs, newest first, with their status and progress."""
        return self.runs.rows("r.queued = 1", [])

    def orphaned(self, row: dict) -> bool:
        """Whether a running queued run lost its worker (process gone, or no heartbeat for a while)."""
        return not worker_alive(row["worker"]) or stale(row["heartbeat_at"], self.stale_after)

    def claim(self) -> int | None:
        """Take the next run to work on: one whose worker died, else the oldest queued; None if busy."""
        with immediate(self.db):
            running = list(self.db.query(
                "SELECT id, worker, heartbeat_at FROM runs WHERE queued = 1 AND status = 'running' ORDER BY id"))
            alive = [r for r in running if not self.orphaned(r)]
            if alive:
                return None
            queued = self.db.execute(
                "SELECT id FROM runs WHERE queued = 1 AND status = 'queued' ORDER BY id LIMIT 1").fetchone()
            run = running[0]["id"] if running else queued[0] if queued else None
            if run is not None:
                self.db.execute("UPDATE runs SET status = 'running', worker = ?, heartbeat_at = ? WHERE id = ?",
                                [WORKER, time.time(), run])
        return run

    def work(self, run: int) -> None:
        """Route run `run` to the end; a failure is left on the run's row (status interrupted, error)."""
        config = self.runs.config(run)
        try:
            router = self.routers.router(config.strategy, config.backend, config.model, config.adapter)
            self.runs.resume(run, router, self.catalog())
        except Exception as e:
            self.runs.mark(run, "interrupted", error=f"{type(e).__name__}: {e}")

    def step(self) -> bool:
        """Claim and work off one run; whether there was one."""
        run = self.claim()
        if run is not None:
            self.work(run)
        return run is not None

    def start(self) -> None:
        """Start the worker thread (once)."""
        if self.thread is not None:
            return
        self.thread = threading.Thread(target=self.loop, name="run-queue", daemon=True)
        self.thread.start()

    def loop(self) -> None:
        """Work off queued runs for ever; wait `interval` (or a submit) when there is none."""
        while True:
            try:
                if self.step():
                    continue
            except Exception as e:  # keep working: the next claim may succeed
                print(f"run queue: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            self.wake.wait(self.interval)
            self.wake.clear()
