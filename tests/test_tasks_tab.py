"""The Tasks tab's actions on a real database: add, rename, export, delete, import, refusals."""
import json

import pandas as pd
import pytest

from router.catalog import Catalog
from ui import tasks_actions as act
from ui.errors import Refused


def test_add_edit_export_delete_import(services):
    infos = pd.DataFrame([["news", "What happened"], ["", ""]], columns=["name", "description"])
    assert act.save(services, act.NEW, " press_release ", "Write a press release", "Ask for the news",
                    infos) == ("press_release", "Saved task 'press_release'.")
    task = services.tasks.catalog().get("press_release")
    assert task.instructions == "Ask for the news" and [i.name for i in task.infos] == ["news"]
    assert act.form(services, "press_release") == ("press_release", "Write a press release",
                                                   "Ask for the news", [["news", "What happened"]])
    assert act.form(services, act.NEW) == ("", "", "", [["", ""]])
    assert ["press_release", "Write a press release", "Ask for the news", "news"] in act.table(
        services.tasks.catalog())

    act.save(services, "press_release", "press_note", "A short note", "", [])
    assert "press_note" in services.tasks.catalog() and "press_release" not in services.tasks.catalog()
    exported = act.export(services, "mojodex")
    assert json.loads(open(exported).read())["tasks"][-1]["name_for_system"] == "press_note"

    assert act.delete(services, "press_note") == "Deleted task 'press_note'."
    assert "press_note" not in services.tasks.catalog()
    assert act.import_file(services, exported, True).endswith("the catalog has 11 tasks.")
    assert services.tasks.catalog() == Catalog.from_json(open(exported).read())


def test_a_bad_task_is_refused_with_the_reason(services):
    before = services.tasks.catalog()
    with pytest.raises(Exception, match="snake_case"):
        act.save(services, act.NEW, "Bad Name", "x", "", [])
    with pytest.raises(Refused, match="Choose a task to delete"):
        act.delete(services, act.NEW)
    with pytest.raises(Refused, match="catalog file first"):
        act.import_file(services, None, False)
    assert services.tasks.catalog() == before
