"""The running app's Tasks tab, driven through its own API with gradio_client."""
import json

from gradio_client import Client, handle_file

from data.db import DatabaseFile
from data.tasks import TaskStore
from router.catalog import Catalog


def infos(rows):
    return {"headers": ["name", "description"], "data": rows or [["", ""]]}


def test_tasks_tab_add_edit_delete_import_export(running_app, settings, tmp_path):
    client = Client(running_app, verbose=False)
    rows, choice = client.predict("(new task)", "press_release", "Write a press release",
                                  "Ask for the news", infos([["news", "What happened"]]), api_name="/save_task")
    store = TaskStore(DatabaseFile(settings.db_path))
    task = store.catalog().get("press_release")
    assert task.instructions == "Ask for the news" and task.infos[0].name == "news"
    assert "press_release" in [r[0] for r in rows["data"]]

    client.predict("press_release", "press_note", "A short note", "", infos([]), api_name="/save_task")
    assert "press_note" in store.catalog() and "press_release" not in store.catalog()

    exported = client.predict("mojodex", api_name="/export_catalog")
    doc = json.loads(open(exported).read())
    assert doc["tasks"][-1]["name_for_system"] == "press_note"

    client.predict("press_note", api_name="/delete_task")
    assert "press_note" not in store.catalog()

    client.predict(handle_file(exported), True, api_name="/import_catalog")
    assert store.catalog() == Catalog.from_json(open(exported).read())


def test_bad_task_is_refused_with_the_reason(running_app, settings):
    client = Client(running_app, verbose=False)
    before = TaskStore(DatabaseFile(settings.db_path)).catalog()
    try:
        client.predict("(new task)", "Bad Name", "x", "", infos([]), api_name="/save_task")
    except Exception as e:  # gradio_client raises AppError carrying the gr.Error message
        assert "snake_case" in str(e)
    else:
        raise AssertionError("a bad name was accepted")
    assert TaskStore(DatabaseFile(settings.db_path)).catalog() == before
