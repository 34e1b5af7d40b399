"""The command line, run as a real subprocess on a real database and the embedded model."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CONV = {"id": "conv-cli", "source": "test", "turns": [
    {"role": "user", "content": "Please help me write the minutes of my meeting", "task": "meeting_minutes"},
    {"role": "assistant", "content": "Of course. Who attended?"},
    {"role": "user", "content": "That's fine, thanks for the help", "task": None}]}


def cli(settings, *args, ok=True):
    result = subprocess.run([sys.executable, "-m", "router", "--db", str(settings.db_path), *args],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert (result.returncode == 0) == ok, result.stderr
    return result


def test_task_commands(settings, tmp_path):
    cli(settings, "tasks", "add", "press_release", "--description", "Write a press release",
        "--instructions", "Ask for the news", "--info", "news=What happened")
    listed = json.loads(cli(settings, "tasks", "list", "--json").stdout)["tasks"]
    assert listed[-1] == {"name": "press_release", "description": "Write a press release",
                          "instructions": "Ask for the news",
                          "infos": [{"name": "news", "description": "What happened"}]}
    cli(settings, "tasks", "edit", "press_release", "--rename", "press_note", "--clear-infos")
    table = cli(settings, "tasks", "list").stdout
    assert "press_note" in table and "press_release" not in table
    out = tmp_path / "mojodex.json"
    cli(settings, "tasks", "export", "--shape", "mojodex", "-o", str(out))
    assert json.loads(out.read_text())["tasks"][-1]["name_for_system"] == "press_note"
    cli(settings, "tasks", "delete", "press_note")
    cli(settings, "tasks", "import", str(out), "--replace")
    names = [t["name"] for t in json.loads(cli(settings, "tasks", "list", "--json").stdout)["tasks"]]
    assert names[-1] == "press_note"


def test_bad_input_exits_2_with_file_line_field(settings, tmp_path):
    err = cli(settings, "tasks", "add", "Bad Name", "--description", "x", ok=False).stderr
    assert "field 'name'" in err and "snake_case" in err
    conv = tmp_path / "bad.jsonl"
    conv.write_text(json.dumps(CONV) + "\n" + json.dumps({**CONV, "id": "b", "turns": [
        {"role": "user", "content": "x", "task": "no_such_task"}]}) + "\n")
    err = cli(settings, "route", "--conversation", str(conv), ok=False).stderr
    assert "error: bad.jsonl, line 2, field 'turns[0].task': unknown task 'no_such_task'" in err


def test_route_prints_every_user_turn(settings, tmp_path):
    conv = tmp_path / "conv.jsonl"
    conv.write_text(json.dumps(CONV) + "\n")
    [result] = json.loads(cli(settings, "route", "--conversation", str(conv), "--json").stdout)
    names = json.loads(cli(settings, "tasks", "list", "--json").stdout)["tasks"]
    candidates = {t["name"] for t in names} | {"none"}
    assert result["id"] == "conv-cli" and [d["turn"] for d in result["decisions"]] == [0, 2]
    for d in result["decisions"]:
        assert set(d["scores"]) == candidates and d["valid"] and d["latency"] > 0
        assert d["event"] in {"none", "start", "continue", "switch", "end"}
    text = cli(settings, "route", "--conversation", str(conv), "--strategy", "zero_shot").stdout
    assert text.count("latency") == 2 and text.count("raw") == 2 and "event" in text


def test_route_flags_turn_the_candidate_stage_on_and_print_the_candidates(settings, tmp_path):
    conv = tmp_path / "conv.jsonl"
    conv.write_text(json.dumps(CONV) + "\n")
    args = ("route", "--conversation", str(conv), "--candidates-above", "0", "--candidates-k", "2")
    [result] = json.loads(cli(settings, *args, "--json").stdout)
    first, second = result["decisions"]
    assert list(first["candidates"])[0] == "meeting_minutes" and len(first["candidates"]) == 2
    assert set(first["scores"]) == set(first["candidates"]) | {"none"}
    assert second["previous"] is None or second["previous"] in second["candidates"]
    assert cli(settings, *args).stdout.count("candidates meeting_minutes") >= 1
    [plain] = json.loads(cli(settings, "route", "--conversation", str(conv), "--json").stdout)
    assert all(d["candidates"] is None for d in plain["decisions"])  # 10 tasks: below the default 20
