"""Catalogs are bounded (ROUTER_MAX_TASKS, default 1000) wherever one enters: tasks, files, datasets."""
import json

import pytest

from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.tasks import TaskStore
from router.catalog import MAX_TASKS, Catalog, Task
from router.conversation import Conversation, Turn
from router.errors import CatalogError, ConversationError
from router.settings import Settings

LIMIT = "over the limit of {} tasks a catalog may hold (ROUTER_MAX_TASKS)"


def tasks(count: int) -> list[dict]:
    """`count` valid tasks in our JSON shape."""
    return [{"name": f"task_{k}", "description": f"Task number {k}"} for k in range(count)]


def test_the_limit_is_a_setting_of_1000_by_default():
    assert MAX_TASKS == 1000 and Settings.from_env({}).max_tasks == 1000
    assert Settings.from_env({"ROUTER_MAX_TASKS": "50"}).max_tasks == 50


def test_catalog_files_over_the_limit_are_refused_naming_it(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"tasks": tasks(2000)}))
    with pytest.raises(CatalogError) as err:
        Catalog.load(path)
    assert str(err.value) == f"big.json, field 'tasks': 2000 tasks, {LIMIT.format(1000)}"
    assert len(Catalog.load(path, max_tasks=2000)) == 2000
    with pytest.raises(CatalogError, match=LIMIT.format(3).replace("(", r"\(").replace(")", r"\)")):
        Catalog.from_list(tasks(4), max_tasks=3)


def test_the_task_store_stays_within_its_limit(settings):
    store = TaskStore(DatabaseFile(settings.db_path), max_tasks=12)
    store.add(Task("task_a", "A"))
    store.add(Task("task_b", "B"))
    assert len(store.catalog()) == 12
    with pytest.raises(CatalogError, match=r"13 tasks, over the limit of 12"):
        store.add(Task("task_c", "C"))
    with pytest.raises(CatalogError, match=r"22 tasks, over the limit of 12"):
        store.import_catalog(Catalog.from_list(tasks(10)))
    assert len(store.catalog()) == 12
    assert len(store.import_catalog(Catalog.from_list(tasks(12)), replace=True)) == 12


def test_datasets_with_their_own_catalog_stay_within_the_limit(settings, tmp_path, small_catalog):
    datasets = DatasetStore(DatabaseFile(settings.db_path), max_tasks=2)
    line = {"id": "a", "tasks": tasks(3), "turns": [{"role": "user", "content": "hi", "task": "task_0"}]}
    (tmp_path / "own.jsonl").write_text(json.dumps({**line, "id": "ok", "tasks": tasks(1)}) + "\n"
                                        + json.dumps(line) + "\n")
    with pytest.raises(ConversationError) as err:
        datasets.import_jsonl("own", tmp_path / "own.jsonl", small_catalog)
    assert str(err.value) == f"own.jsonl, line 2, field 'tasks': 3 tasks, {LIMIT.format(2)}"
    conv = Conversation("c", (Turn("user", "hi"),))
    with pytest.raises(CatalogError, match="3 tasks, over the limit of 2"):
        datasets.add("big", [conv], catalog=small_catalog)
    with pytest.raises(CatalogError, match="3 tasks, over the limit of 2"):
        datasets.add("big", [Conversation("c", conv.turns, tasks=small_catalog)])
    assert datasets.names() == []


def test_the_command_line_reads_the_limit_from_the_environment(cli, tmp_path, monkeypatch):
    (tmp_path / "six.json").write_text(json.dumps(tasks(6)))
    (tmp_path / "c.jsonl").write_text(json.dumps({"id": "c", "turns": [{"role": "user", "content": "hi"}]}))
    monkeypatch.setenv("ROUTER_MAX_TASKS", "5")
    for args, where in ((["tasks", "import", str(tmp_path / "six.json")], "six.json"),
                        (["datasets", "import", str(tmp_path / "c.jsonl"), "--name", "c",
                          "--catalog", str(tmp_path / "six.json")], "six.json")):
        status, _, err = cli(*args)
        assert status == 2 and f"error: {where}, field 'tasks': 6 tasks, {LIMIT.format(5)}" in err, err
