"""Catalog rules, our JSON shape and Mojodex's."""
import json

import pytest

from router.catalog import Catalog, Info, Task
from router.errors import CatalogError


def test_round_trip_native(small_catalog):
    again = Catalog.from_json(small_catalog.to_json())
    assert again == small_catalog
    assert again.get("meeting_minutes").infos == (Info("attendees", "Who attended"),)


def test_round_trip_mojodex(small_catalog):
    text = small_catalog.to_json("mojodex")
    first = json.loads(text)["tasks"][0]
    assert first == {"name_for_system": "meeting_minutes",
                     "definition_for_system": "The user needs help to write the minutes of a meeting",
                     "final_instruction": "Ask who attended, then write the minutes.",
                     "infos_to_extract": [{"info_name": "attendees", "description": "Who attended"}],
                     "icon": "", "task_displayed_data": []}
    assert Catalog.from_json(text) == small_catalog


def test_reads_one_mojodex_task_object_with_its_english_title_and_icon():
    one = {"name_for_system": "qualify_lead", "definition_for_system": "Qualify a lead", "icon": "🎯",
           "task_displayed_data": [{"language_code": "fr", "name_for_user": "Qualifier un prospect"},
                                   {"language_code": "en", "name_for_user": "Qualify a lead"}]}
    [task] = Catalog.from_json(json.dumps(one))
    assert (task.name, task.title, task.icon) == ("qualify_lead", "Qualify a lead", "🎯")
    assert Catalog.from_json(Catalog([task]).to_json()) == Catalog([task])  # kept in our shape too
    with pytest.raises(CatalogError, match="task_displayed_data"):
        Catalog.from_json(json.dumps(one | {"task_displayed_data": "Qualify"}))


def test_reads_a_plain_list():
    catalog = Catalog.from_json('[{"name": "memo", "description": "Write a memo"}]')
    assert catalog.names == ["memo"]


@pytest.mark.parametrize("tasks, field, words", [
    ([{"name": "memo", "description": "a"}, {"name": "memo", "description": "b"}],
     "tasks[1].name", "appears twice"),
    ([{"name": "Meeting Minutes", "description": "a"}], "tasks[0].name", "snake_case"),
    ([{"name": "none", "description": "a"}], "tasks[0].name", "reserved"),
    ([{"name": "memo", "description": "   "}], "tasks[0].description", "empty description"),
    ([{"name": "memo"}], "tasks[0].description", "empty description"),
    ([{"name_for_system": "memo", "definition_for_system": ""}], "tasks[0].description", "empty"),
    ([{"name": "memo", "description": "a", "infos": "oops"}], "tasks[0].infos", "list"),
])
def test_bad_catalog_names_file_line_and_field(tmp_path, tasks, field, words):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"tasks": tasks}, indent=2))
    with pytest.raises(CatalogError) as err:
        Catalog.load(path)
    e = err.value
    assert e.file == path.name and e.field == field and words in e.problem
    lines = path.read_text().splitlines()
    index = int(field.split("[")[1].split("]")[0])
    starts = [k + 1 for k, line in enumerate(lines) if line.strip() == "{"][1:]
    assert e.line == starts[index]
    assert str(e).startswith(f"catalog.json, line {e.line}") and str(tmp_path) not in str(e)


def test_not_json_names_the_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"tasks": [\n  {"name": "memo",\n   "description": }\n]}')
    with pytest.raises(CatalogError) as err:
        Catalog.load(path)
    assert err.value.line == 3 and "not valid JSON" in str(err.value)


def test_constructor_checks_rules():
    with pytest.raises(CatalogError):
        Catalog([Task("ok_name", "x"), Task("ok_name", "y")])
