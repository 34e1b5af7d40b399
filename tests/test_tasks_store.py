"""The catalog in a real SQLite file: add, edit, delete, import, export, migrations."""
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from data.db import DatabaseFile, migrate
from data.migrations import MIGRATIONS
from data.tasks import TaskStore
from router.catalog import Catalog, Info, Task
from router.errors import CatalogError, UnknownTaskError

ROOT = Path(__file__).resolve().parent.parent


def test_new_database_has_the_default_catalog(store):
    catalog = store.catalog()
    assert len(catalog) >= 8
    for task in catalog:
        assert task.description and task.instructions and task.infos
    assert {"meeting_minutes", "follow_up_email", "memo_from_ideas", "linkedin_post",
            "prospect_answer"} <= set(catalog.names)


def test_wal_mode_and_migrations_once(settings, store):
    db = store.db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert migrate(db) == []
    names = [r[0] for r in db.execute("SELECT name FROM migrations ORDER BY rowid")]
    assert names == [m.__name__ for m in MIGRATIONS]
    numbers = [int(name[1:4]) for name in names]  # registered in file order, numbered upwards
    assert numbers == sorted(set(numbers)) and len(MIGRATIONS) >= 6
    assert {"tasks", "datasets", "conversations", "turns", "labels", "runs", "predictions",
            "jobs"} <= set(db.table_names())


def test_add_edit_delete(store):
    store.add(Task("press_release", "Write a press release", "Ask for the news.",
                   (Info("news", "What happened"),)))
    assert store.catalog().names[-1] == "press_release"
    store.update("press_release", Task("press_note", "Write a short press note"))
    catalog = store.catalog()
    assert "press_release" not in catalog and catalog.get("press_note").description == "Write a short press note"
    store.delete("press_note")
    assert "press_note" not in store.catalog()


def test_changes_survive_reopening(settings, store):
    store.add(Task("press_release", "Write a press release"))
    again = TaskStore(DatabaseFile(settings.db_path))
    assert "press_release" in again.catalog()


@pytest.mark.parametrize("task, words", [
    (Task("meeting_minutes", "again"), "already exists"),
    (Task("Not Snake", "x"), "snake_case"),
    (Task("none", "x"), "reserved"),
    (Task("blank_one", " "), "empty description"),
])
def test_bad_additions_leave_the_catalog_alone(store, task, words):
    before = store.catalog()
    with pytest.raises(CatalogError, match=words):
        store.add(task)
    assert store.catalog() == before


def test_unknown_task(store):
    with pytest.raises(UnknownTaskError):
        store.delete("no_such_task")


def test_rename_onto_existing_name_refused(store):
    with pytest.raises(CatalogError, match="already exists"):
        store.update("memo_from_ideas", Task("meeting_minutes", "x"))


def test_import_merge_replace_and_export_round_trip(store, small_catalog, tmp_path):
    before = store.catalog()
    incoming = Catalog(small_catalog.tasks + (Task("press_release", "Write a press release"),))
    merged = store.import_catalog(incoming)
    assert merged.get("meeting_minutes") == small_catalog.get("meeting_minutes")
    assert merged.names == before.names + ["press_release"]
    path = tmp_path / "mojodex.json"
    path.write_text(store.export("mojodex"))
    assert "name_for_system" in path.read_text()
    assert store.import_catalog(Catalog.load(path), replace=True) == merged
    replaced = store.import_catalog(small_catalog, replace=True)
    assert store.catalog() == replaced == small_catalog
    assert Catalog.from_json(store.export()) == small_catalog


def test_bad_import_is_all_or_nothing(store, tmp_path):
    before = store.catalog()
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"tasks": [{"name": "fine_task", "description": "ok"},
                                          {"name": "fine_task", "description": "dup"}]}))
    with pytest.raises(CatalogError, match="appears twice"):
        store.import_catalog(Catalog.load(path), replace=True)
    assert store.catalog() == before


def test_two_processes_open_a_new_file_once(tmp_path):
    path = tmp_path / "shared.db"
    code = f"from data.db import open_db; open_db({str(path)!r})"
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT) for _ in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    rows = sqlite3.connect(path).execute("SELECT count(*) FROM migrations").fetchone()[0]
    assert rows == len(MIGRATIONS)
