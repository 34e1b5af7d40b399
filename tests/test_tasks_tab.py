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
    assert ["press_release", "Write a press release", "Ask for the news", "news: What happened"] in act.table(
        services.tasks.catalog())

    act.save(services, "press_release", "press_note", "A short note", "", [])
    assert "press_note" in services.tasks.catalog() and "press_release" not in services.tasks.catalog()
    exported = act.export(services, "mojodex")
    assert json.loads(open(exported).read())["tasks"][-1]["name_for_system"] == "press_note"

    assert act.delete(services, "press_note") == "Deleted task 'press_note'."
    assert "press_note" not in services.tasks.catalog()
    assert act.import_files(services, [exported], True).endswith("the catalog has 11 tasks.")
    assert services.tasks.catalog() == Catalog.from_json(open(exported).read())


def test_a_bad_task_is_refused_with_the_reason(services):
    before = services.tasks.catalog()
    with pytest.raises(Exception, match="snake_case"):
        act.save(services, act.NEW, "Bad Name", "x", "", [])
    with pytest.raises(Refused, match="Choose a task to delete"):
        act.delete(services, act.NEW)
    with pytest.raises(Refused, match="task files first"):
        act.import_files(services, [], False)
    assert services.tasks.catalog() == before


def mojodex_task(name: str, title: str) -> dict:
    """One task as Mojodex keeps it, one per file (e.g. its qualify_lead.json)."""
    return {"platforms": ["webapp"], "task_type": "instruct", "predefined_actions": [],
            "name_for_system": name, "definition_for_system": f"The user wants to {title.lower()}",
            "final_instruction": f"Write the {title.lower()}", "icon": "🎯", "output_type": "document",
            "infos_to_extract": [{"info_name": "lead", "description": "Who the lead is"}],
            "task_displayed_data": [
                {"language_code": "fr", "name_for_user": f"{title} (fr)", "definition_for_user": "…"},
                {"language_code": "en", "name_for_user": title, "definition_for_user": title,
                 "json_input": [{"input_name": "lead", "description_for_user": "Who?", "type": "text_area"}]}]}


def test_mojodex_task_files_import_several_at_once_with_title_and_icon(services, tmp_path):
    files = []
    for name, title in (("qualify_lead", "Qualify a lead"), ("press_kit", "Press kit")):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(mojodex_task(name, title), ensure_ascii=False))
    message = act.import_files(services, [str(f) for f in files], False)
    assert message == "Imported qualify_lead.json, press_kit.json: the catalog has 12 tasks."
    task = services.tasks.catalog().get("qualify_lead")
    assert (task.title, task.icon, task.instructions) == ("Qualify a lead", "🎯", "Write the qualify a lead")
    assert ["🎯 Qualify a lead (qualify_lead)", "The user wants to qualify a lead", "Write the qualify a lead",
            "lead: Who the lead is"] in act.table(services.tasks.catalog())
    act.save(services, "qualify_lead", "qualify_lead", "Qualify a sales lead", "", [])
    assert services.tasks.catalog().get("qualify_lead").icon == "🎯", "an edit keeps the title and icon"
    exported = json.loads(open(act.export(services, "mojodex")).read())["tasks"]
    assert exported[-2]["task_displayed_data"][0]["name_for_user"] == "Qualify a lead"
