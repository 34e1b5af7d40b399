"""Imports are strict: a broken rule refuses the whole file, naming the file (never its folder), line, field."""
import json

import pytest

from data.datasets import DatasetError, DatasetStore
from data.db import DatabaseFile
from router.catalog import Catalog
from router.conversation import read_jsonl
from router.errors import CatalogError, ConversationError

TURNS = [{"role": "user", "content": "Write the minutes", "task": "meeting_minutes"}]


def conversations_file(tmp_path, *lines: str, name: str = "convs.jsonl"):
    """A JSONL file whose second line is the one under test."""
    path = tmp_path / name
    path.write_text("\n".join([json.dumps({"id": "ok", "turns": TURNS}), *lines]) + "\n")
    return path


@pytest.mark.parametrize("line, field, words", [
    ('{"id": "a", "source": 5, "turns": %s}', "source", "source must be a string"),
    ('{"id": "a", "source": {"x": 1}, "turns": %s}', "source", "source must be a string"),
    ('{"id": "a", "source": NaN, "turns": %s}', None, "NaN is not a JSON value"),
    ('{"id": "a", "turns": %s, "score": -Infinity}', None, "-Infinity is not a JSON value"),
    ('{"id": "   ", "turns": %s}', "id", "id must be a non-empty string"),
    ('{"id": "a", "turns": %s, "meta": ' + "[" * 100 + "]" * 100 + "}", None, "nested more than 64"),
    ("[" * 100_000, None, "nested more than 64"),
])
def test_a_bad_value_is_refused_with_file_line_and_field(tmp_path, small_catalog, line, field, words):
    path = conversations_file(tmp_path, line.replace("%s", json.dumps(TURNS)))
    with pytest.raises(ConversationError) as err:
        read_jsonl(path, small_catalog)
    e = err.value
    assert (e.file, e.line, e.field) == ("convs.jsonl", 2, field) and words in e.problem, str(e)
    assert str(tmp_path) not in str(e)


def test_a_byte_that_is_not_utf8_is_reported_by_line(tmp_path, small_catalog):
    path = conversations_file(tmp_path, *[json.dumps({"id": f"c{k}", "turns": TURNS}) for k in range(200)])
    data = path.read_bytes()
    assert len(data) > 8192
    path.write_bytes(data + b'{"id": "bad", "turns": [{"role": "user", "content": "caf\xe9"}]}\n')
    with pytest.raises(ConversationError) as err:
        read_jsonl(path, small_catalog)
    assert err.value.line == 202 and "not UTF-8 text (byte 0xe9 at column 57)" in str(err.value)


def test_an_empty_file_creates_no_dataset(settings, tmp_path, small_catalog):
    datasets = DatasetStore(DatabaseFile(settings.db_path))
    for text in ("", "\n  \n"):
        (tmp_path / "empty.jsonl").write_text(text)
        with pytest.raises(DatasetError, match="^empty.jsonl: the file holds no conversation"):
            datasets.import_jsonl("empty", tmp_path / "empty.jsonl", small_catalog)
    assert datasets.names() == []


@pytest.mark.parametrize("infos, field", [
    ([{"name": 5, "description": "x"}], "tasks[0].infos[0].name"),
    ([{"name": "who", "description": ["x"]}], "tasks[0].infos[0].description"),
])
def test_catalog_infos_must_be_text(infos, field):
    with pytest.raises(CatalogError) as err:
        Catalog.from_json(json.dumps([{"name": "memo", "description": "A memo", "infos": infos}]))
    assert err.value.field == field


def test_deep_nesting_is_an_error_on_the_command_line_not_a_traceback(cli, tmp_path):
    (tmp_path / "deep.jsonl").write_text("[" * 100_000 + "\n")
    (tmp_path / "deep.json").write_text("[" * 100_000)
    for args, where in ((["datasets", "import", str(tmp_path / "deep.jsonl"), "--name", "d"],
                         "deep.jsonl, line 1"),
                        (["tasks", "import", str(tmp_path / "deep.json")], "deep.json")):
        status, _, err = cli(*args)
        assert status == 2 and f"error: {where}: arrays and objects nested more than 64 levels deep" in err, err
