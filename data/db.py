"""Opening the database: WAL mode and append-only migrations."""
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from data.migrations import MIGRATIONS


def now() -> str:
    """Current UTC time as ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database at `path`, migrated to the latest schema."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(sqlite3.connect(str(path), timeout=30))
    db.execute("PRAGMA busy_timeout = 30000")
    db.execute("PRAGMA foreign_keys = ON")
    db.enable_wal()
    migrate(db)
    return db


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply the migrations not applied yet, in order; return their names."""
    db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    applied = []
    with db.conn:
        db.conn.execute("BEGIN IMMEDIATE")
        done = {row[0] for row in db.execute("SELECT name FROM migrations").fetchall()}
        for migration in MIGRATIONS:
            if migration.__name__ not in done:
                migration(db)
                db["migrations"].insert({"name": migration.__name__, "applied_at": now()})
                applied.append(migration.__name__)
    return applied


class DatabaseFile:
    """A migrated database file with one connection per thread (Gradio runs callbacks in threads)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.local = threading.local()
        self.local.db = open_db(self.path)

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection."""
        if getattr(self.local, "db", None) is None:
            self.local.db = open_db(self.path)
        return self.local.db

    def close(self) -> None:
        """Close this thread's connection, if it has one."""
        db = getattr(self.local, "db", None)
        if db is not None:
            db.conn.close()
            self.local.db = None


@contextmanager
def immediate(db: sqlite_utils.Database):
    """A write transaction that takes the write lock at BEGIN (waits busy_timeout, never loses a write).

    A deferred BEGIN that reads first can fail to upgrade to a writer when another process
    committed meanwhile; BEGIN IMMEDIATE queues writers instead. Nested use becomes a savepoint.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


class Store:
    """Base of the stores: holds the database file and hands out this thread's connection."""

    def __init__(self, file: DatabaseFile):
        self.file = file

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection."""
        return self.file.db

