"""The Compare tab driven through the running app with gradio_client, on one tiny conversation."""
import json

from gradio_client import Client, handle_file

from data.datasets import DatasetStore
from data.db import DatabaseFile
from tests.test_sgd import SCHEMA, multi, single

TINY = {"id": "tiny-1", "source": "ui-test", "turns": [
    {"role": "user", "content": "Please help me write the minutes of our team meeting", "task": "meeting_minutes"},
    {"role": "assistant", "content": "Sure, who attended?"},
    {"role": "user", "content": "That's fine, thanks for the help", "task": None}]}


def test_compare_tab_end_to_end(running_app, settings, tmp_path):
    client = Client(running_app, verbose=False)
    path = tmp_path / "tiny.jsonl"
    path.write_text(json.dumps(TINY) + "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(TINY) + "\n{not json\n")
    try:
        client.predict(handle_file(str(bad)), "bad", api_name="/import_jsonl")
        raise AssertionError("a bad line must refuse the file")
    except Exception as e:        # gradio_client re-raises the gr.Error as AppError
        assert "line 2" in str(e)
    chosen = client.predict(handle_file(str(path)), "tiny", api_name="/import_jsonl")
    assert chosen["value"] == "tiny" and ["bad", "bad"] not in chosen["choices"]
    sgd = tmp_path / "sgd"
    sgd.mkdir()
    (sgd / "schema.json").write_text(json.dumps(SCHEMA))
    (sgd / "dialogues_001.json").write_text(json.dumps([single(n) for n in range(3)] + [multi(n) for n in range(3)]))
    chosen = client.predict(str(sgd), "sgd-multi", 2, "multi", 3, 0, api_name="/import_sgd")
    assert chosen["value"] == "sgd-multi"
    stored = DatasetStore(DatabaseFile(settings.db_path)).conversations("sgd-multi")
    assert [len(c.meta["services"]) for c in stored] == [2, 2]

    picked, listing = client.predict("tiny", "", "local", "", ["constrained"], "gold", 1,
                                     api_name="/launch")
    [run] = picked["value"]
    assert listing["data"][0][0] == run and listing["data"][0][3] == "done"

    views = client.predict([run], False, api_name="/show_runs")
    table = views[0]
    assert [row[0] for row in table["data"]][-1] == "copy baseline"
    assert table["data"][0][1] == 2 and "turn_accuracy" in table["headers"]
    assert views[1]["type"] == "plotly" and views[3]["type"] == "plotly"

    conversation = client.predict([run], "tiny-1", api_name="/show_conversation")
    rows = conversation["data"]
    assert [r[3] for r in rows] == ["meeting_minutes", "", "none"]   # gold beside the prediction
    assert rows[0][2] == TINY["turns"][0]["content"] and rows[0][4] != ""

    exported = client.predict([run], api_name="/export_json")
    [saved] = json.loads(open(exported, encoding="utf-8").read())
    assert saved["id"] == run and len(saved["turns"]) == 2 and saved["metrics"]["turns"] == 2
    assert "tiny-1" in open(client.predict([run], api_name="/export_csv"), encoding="utf-8").read()

    picked, listing = client.predict("tiny", [run], api_name="/delete_runs")
    assert picked["choices"] == [] and listing["data"] == []
