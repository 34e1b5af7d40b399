"""Reading conversations in the JSONL interchange format; bad lines are rejected whole."""
import json

import pytest

from router.conversation import parse_jsonl, read_jsonl, to_jsonl
from router.errors import ConversationError

GOOD = {"id": "conv-0001", "source": "demo",
        "tasks": [{"name": "meeting_minutes", "description": "Minutes of a meeting"}],
        "turns": [{"role": "user", "content": "Please help me summarize my meeting", "task": "meeting_minutes"},
                  {"role": "assistant", "content": "Of course. Who attended?"},
                  {"role": "user", "content": "Ana and Bo"},
                  {"role": "user", "content": "That's fine, thanks for the help", "task": None}]}


def write(tmp_path, lines):
    path = tmp_path / "convs.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def test_reads_and_writes_the_format(tmp_path):
    path = write(tmp_path, [GOOD])
    [conv] = read_jsonl(path)
    assert conv.id == "conv-0001" and conv.tasks.names == ["meeting_minutes"]
    assert [t.labelled for t in conv.turns] == [True, False, False, True]
    assert conv.gold_labels() == ["meeting_minutes", "meeting_minutes", None]
    assert json.loads(to_jsonl([conv])) == GOOD


def test_catalog_in_effect_applies_without_tasks(small_catalog, tmp_path):
    line = {"id": "x", "turns": [{"role": "user", "content": "a post", "task": "linkedin_post"}]}
    [conv] = read_jsonl(write(tmp_path, [line]), small_catalog)
    assert conv.tasks is None and conv.gold_labels() == ["linkedin_post"]


@pytest.mark.parametrize("bad, field, words", [
    ("{not json", None, "not valid JSON"),
    ({**GOOD, "turns": [{"role": "robot", "content": "hi"}]}, "turns[0].role", "unknown role"),
    ({**GOOD, "turns": [{"role": "user", "content": "hi", "task": "memo"}]}, "turns[0].task", "unknown task"),
    ({**GOOD, "turns": [{"role": "user", "content": 3}]}, "turns[0].content", "string"),
    ({**GOOD, "turns": []}, "turns", "non-empty"),
    ({**GOOD, "tasks": [{"name": "Bad", "description": "x"}]}, "tasks[0].name", "snake_case"),
])
def test_bad_line_names_file_line_field(tmp_path, bad, field, words):
    path = write(tmp_path, [GOOD | {"id": "a"}, bad])
    with pytest.raises(ConversationError) as err:
        read_jsonl(path)
    e = err.value
    assert (e.file, e.line, e.field) == (path.name, 2, field) and words in e.problem


def test_duplicate_ids_rejected():
    text = json.dumps(GOOD) + "\n" + json.dumps(GOOD) + "\n"
    with pytest.raises(ConversationError, match="appears twice"):
        parse_jsonl(text)
