"""Datasets in a real SQLite file: all-or-nothing imports, labels and their history, export."""
import json

import pytest

from data.datasets import DatasetError, DatasetStore
from data.db import DatabaseFile
from router.conversation import parse_jsonl
from router.errors import ConversationError

LINES = [
    {"id": "a", "source": "test", "turns": [
        {"role": "user", "content": "minutes please", "task": "meeting_minutes"},
        {"role": "assistant", "content": "Who attended?"},
        {"role": "user", "content": "thanks, bye", "task": None}]},
    {"id": "b", "source": "test", "tasks": [{"name": "press_release", "description": "Press release"}],
     "turns": [{"role": "user", "content": "a press release", "task": "press_release"},
               {"role": "user", "content": "unlabelled"}]},
]


@pytest.fixture
def datasets(settings):
    return DatasetStore(DatabaseFile(settings.db_path))


def write(tmp_path, lines):
    path = tmp_path / "d.jsonl"
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def test_import_export_round_trip(datasets, small_catalog, tmp_path):
    assert datasets.import_jsonl("demo", write(tmp_path, LINES), small_catalog) == 2
    [row] = datasets.summary()
    assert (row["name"], row["conversations"], row["labelled_turns"]) == ("demo", 2, 3)
    assert datasets.catalog("demo") == small_catalog
    exported = datasets.export_jsonl("demo")
    assert [json.loads(line) for line in exported.splitlines()] == LINES
    assert parse_jsonl(exported, small_catalog)[0].gold_labels() == ["meeting_minutes", None]


def test_bad_line_imports_nothing(datasets, small_catalog, tmp_path):
    bad = write(tmp_path, LINES + ['{"id": "c", "turns": [{"role": "user", "content": "x", "task": "nope"}]}'])
    with pytest.raises(ConversationError) as err:
        datasets.import_jsonl("demo", bad, small_catalog)
    assert err.value.line == 3 and err.value.field == "turns[0].task"
    assert datasets.names() == []


def test_duplicate_conversation_rolls_back_the_whole_add(datasets, small_catalog, tmp_path):
    datasets.import_jsonl("demo", write(tmp_path, LINES[:1]), small_catalog)
    with pytest.raises(DatasetError, match="already in dataset"):
        datasets.import_jsonl("demo", write(tmp_path, LINES[1:] + LINES[:1]), small_catalog)
    assert [c.id for c in datasets.conversations("demo")] == ["a"]


def test_label_history_and_suggestions(datasets, small_catalog, tmp_path):
    datasets.import_jsonl("demo", write(tmp_path, LINES[:1]), small_catalog)
    [pk] = datasets.conversation_ids("demo")
    datasets.set_labels(pk, {0: "follow_up_email"}, origin="router")
    assert datasets.load(pk).gold_labels() == ["meeting_minutes", None]
    assert datasets.load(pk, origins=("router",)).gold_labels() == ["follow_up_email", "follow_up_email"]
    datasets.set_labels(pk, {2: "linkedin_post"}, origin="annotator", annotator="ana")
    assert datasets.load(pk).gold_labels() == ["meeting_minutes", "linkedin_post"]
    history = list(datasets.db["labels"].rows_where("conversation_id = ? AND position = 2", [pk]))
    assert [(h["task"], h["origin"], h["annotator"]) for h in history] == [
        (None, "source", None), ("linkedin_post", "annotator", "ana")]


def test_delete_dataset(datasets, small_catalog, tmp_path):
    datasets.import_jsonl("demo", write(tmp_path, LINES), small_catalog)
    datasets.delete("demo")
    assert datasets.names() == [] and datasets.db["turns"].count == 0
    with pytest.raises(DatasetError):
        datasets.dataset_id("demo")
