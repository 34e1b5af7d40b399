"""Heartbeats: while a worker (an evaluation run, a training job) lives, its row says so every few seconds.

A row whose worker stopped beating for STALE_S is taken for dead (killed, out of memory, machine gone),
whichever app instance or process reads it.
"""
import sqlite3
import sys
import threading
import time

from data.db import DatabaseFile

INTERVAL_S = 5.0
STALE_S = 30.0
TABLES = ("runs", "jobs")


def stale(beat: float | None, after: float = STALE_S, now: float | None = None) -> bool:
    """Whether a heartbeat (seconds since the epoch, None for never) is older than `after`."""
    return beat is None or (time.time() if now is None else now) - beat > after


def beat(file: DatabaseFile, table: str, pk: int) -> None:
    """Write now into the row's heartbeat."""
    if table not in TABLES:
        raise ValueError(f"no heartbeat in table {table!r}")
    with file.db.conn:
        file.db.execute(f"UPDATE {table} SET heartbeat_at = ? WHERE id = ?", [time.time(), pk])


class Heartbeat:
    """A context manager: a daemon thread beats for row `pk` of `table` every `interval` seconds."""

    def __init__(self, file: DatabaseFile, table: str, pk: int, interval: float = INTERVAL_S):
        self.file, self.table, self.pk, self.interval = file, table, pk, interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.loop, name=f"heartbeat-{table}-{pk}", daemon=True)

    def loop(self) -> None:
        """Beat until stopped; a locked database only skips a beat."""
        while not self.stopped.wait(self.interval):
            try:
                beat(self.file, self.table, self.pk)
            except sqlite3.Error as e:
                print(f"heartbeat of {self.table} {self.pk}: {e}", file=sys.stderr, flush=True)
        self.file.close()

    def __enter__(self) -> "Heartbeat":
        beat(self.file, self.table, self.pk)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()
