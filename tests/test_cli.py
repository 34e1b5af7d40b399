"""The command line on a real database and the embedded model, in this process; one real subprocess."""
import json
import subprocess
import sys

from tests.conftest import ROOT

CONV = {"id": "conv-cli", "source": "test", "turns": [
    {"role": "user", "content": "Please help me write the minutes of my meeting", "task": "meeting_minutes"},
    {"role": "assistant", "content": "Of course. Who attended?"},
    {"role": "user", "content": "That's fine, thanks for the help", "task": None}]}


def ok(result: tuple[int, str, str]) -> str:
    """The output of a command that must succeed."""
    status, out, err = result
    assert status == 0, err
    return out


def test_task_commands(cli, tmp_path):
    ok(cli("tasks", "add", "press_release", "--description", "Write a press release",
           "--instructions", "Ask for the news", "--info", "news=What happened"))
    listed = json.loads(ok(cli("tasks", "list", "--json")))["tasks"]
    assert listed[-1] == {"name": "press_release", "description": "Write a press release",
                          "instructions": "Ask for the news",
                          "infos": [{"name": "news", "description": "What happened"}]}
    assert ok(cli("tasks", "edit", "press_release", "--rename", "press_note", "--clear-infos")) == (
        "edit: done; the catalog has 11 tasks\n")
    table = ok(cli("tasks", "list"))
    assert "press_note" in table and "press_release" not in table
    out = tmp_path / "mojodex.json"
    ok(cli("tasks", "export", "--shape", "mojodex", "-o", str(out)))
    assert json.loads(out.read_text())["tasks"][-1]["name_for_system"] == "press_note"
    ok(cli("tasks", "delete", "press_note"))
    ok(cli("tasks", "import", str(out), "--replace"))
    names = [t["name"] for t in json.loads(ok(cli("tasks", "list", "--json")))["tasks"]]
    assert names[-1] == "press_note"


def test_tasks_import_takes_a_folder_of_mojodex_task_files(cli, tmp_path):
    from tests.test_tasks_tab import mojodex_task

    folder = tmp_path / "mojodex_tasks"
    folder.mkdir()
    for name, title in (("qualify_lead", "Qualify a lead"), ("press_kit", "Press kit")):
        (folder / f"{name}.json").write_text(json.dumps(mojodex_task(name, title)))
    assert ok(cli("tasks", "import", str(folder))) == (
        "imported press_kit.json, qualify_lead.json: the catalog has 12 tasks\n")
    listed = json.loads(ok(cli("tasks", "list", "--json")))["tasks"]
    assert listed[-1]["title"] == "Qualify a lead" and listed[-1]["icon"] == "🎯"
    (tmp_path / "empty").mkdir()
    status, _, err = cli("tasks", "import", str(tmp_path / "empty"))
    assert status == 2 and "no .json file" in err


def test_bad_input_says_where_with_status_2(cli, tmp_path):
    status, _, err = cli("tasks", "add", "Bad Name", "--description", "x")
    assert status == 2 and "field 'name'" in err and "snake_case" in err
    assert cli("tasks", "add", "memo", "--description", "x", "--info", "who")[2] == (
        "error: --info 'who' must be NAME=DESCRIPTION\n")
    conv = tmp_path / "bad.jsonl"
    conv.write_text(json.dumps(CONV) + "\n" + json.dumps({**CONV, "id": "b", "turns": [
        {"role": "user", "content": "x", "task": "no_such_task"}]}) + "\n")
    status, _, err = cli("route", "--conversation", str(conv))
    assert status == 2 and "error: bad.jsonl, line 2, field 'turns[0].task': unknown task 'no_such_task'" in err


def test_route_prints_every_user_turn(cli, tmp_path):
    conv = tmp_path / "conv.jsonl"
    conv.write_text(json.dumps(CONV) + "\n")
    [result] = json.loads(ok(cli("route", "--conversation", str(conv), "--json")))
    names = json.loads(ok(cli("tasks", "list", "--json")))["tasks"]
    candidates = {t["name"] for t in names} | {"none"}
    assert result["id"] == "conv-cli" and [d["turn"] for d in result["decisions"]] == [0, 2]
    for d in result["decisions"]:
        assert set(d["scores"]) == candidates and d["valid"] and d["latency"] > 0
        assert d["event"] in {"none", "start", "continue", "switch", "end"}
    text = ok(cli("route", "--conversation", str(conv), "--strategy", "zero_shot"))
    assert text.count("latency") == 2 and text.count("raw") == 2 and "event" in text


def test_exit_statuses_of_the_real_process(settings):
    def run(*args):
        return subprocess.run([sys.executable, "cli.py", "--db", str(settings.db_path), *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    listed = run("tasks", "list", "--json")
    assert listed.returncode == 0 and len(json.loads(listed.stdout)["tasks"]) == 10
    refused = run("tasks", "delete", "no_such_task")
    assert refused.returncode == 2 and refused.stderr.startswith("error: ") and "Traceback" not in refused.stderr
    assert run("tasks", "frobnicate").returncode == 2  # argparse: a usage error


def test_route_flags_turn_the_candidate_stage_on_and_print_the_candidates(cli, tmp_path):
    conv = tmp_path / "conv.jsonl"
    conv.write_text(json.dumps(CONV) + "\n")
    args = ("route", "--conversation", str(conv), "--candidates-above", "0", "--candidates-k", "2")
    [result] = json.loads(ok(cli(*args, "--json")))
    first, second = result["decisions"]
    assert next(iter(first["candidates"])) == "meeting_minutes" and len(first["candidates"]) == 2
    assert set(first["scores"]) == set(first["candidates"]) | {"none"}
    assert second["previous"] is None or second["previous"] in second["candidates"]
    assert "candidates meeting_minutes" in ok(cli(*args))
    [plain] = json.loads(ok(cli("route", "--conversation", str(conv), "--json")))
    assert all(d["candidates"] is None for d in plain["decisions"])  # 10 tasks: below the default 20
