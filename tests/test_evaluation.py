"""Runs of the real embedded model on demo conversations: stored, reloaded, interrupted, resumed."""
import json

import pytest

from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.migrations import DEFAULT_CATALOG
from data.runs import RunStore
from data.samples import DEMO
from router.catalog import Catalog
from router.conversation import read_jsonl
from router.evaluation import RunConfig, cases
from router.metrics import Judged, report
from router.routing import Router
from router.strategies import create_strategy


class Stop(Exception):
    """Raised from the progress callback to interrupt a run for real."""


@pytest.fixture
def stores(settings):
    file = DatabaseFile(settings.db_path)
    datasets = DatasetStore(file)
    return datasets, RunStore(file, datasets)


def shortest(count: int):
    """The demo conversations with the fewest user turns."""
    conversations = read_jsonl(DEMO, Catalog.load(DEFAULT_CATALOG))
    return sorted(conversations, key=lambda c: len(cases(c)))[:count]


def test_demo_dataset_covers_the_events():
    conversations = read_jsonl(DEMO, Catalog.load(DEFAULT_CATALOG))
    events = [e.value for c in conversations for e in c.gold_events()]
    assert len(conversations) >= 40
    assert {"start", "continue", "switch", "end", "none"} <= set(events)
    assert any("before i give you that" in t.content.lower() for c in conversations for t in c.turns)


def test_interrupted_run_resumes_without_redoing_turns(stores, backend, settings):
    datasets, runs = stores
    catalog = Catalog.load(DEFAULT_CATALOG)
    datasets.add("few", shortest(2), source="demo", catalog=catalog)
    router = Router(backend, create_strategy("constrained", settings.prompts_dir))
    config = RunConfig("few", "constrained")
    total = sum(len(cases(c)) for c in datasets.conversations("few"))
    seen = []

    def interrupt(done, all_turns):
        seen.append(done)
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        runs.execute(config, router, catalog, interrupt)
    [run] = [r["id"] for r in runs.listing("few")]
    assert runs.get(run)["status"] == "interrupted" and "Stop" in runs.get(run)["error"]
    before = runs.predictions(run)
    assert len(before) == 2

    resumed = []
    assert runs.execute(config, router, catalog, lambda d, t: resumed.append((d, t))) == run
    assert resumed == [(d, total) for d in range(3, total + 1)]   # only the turns left
    after = runs.predictions(run)
    assert len(after) == total and after[:2] == before            # finished turns untouched

    stored = runs.get(run)
    assert stored["status"] == "done"
    turns = runs.turns(run)
    assert all(t["label"] is None or t["label"] in catalog for t in turns)
    judged = [Judged(t["conversation"], t["position"], "demo", t["gold"], t["gold_previous"],
                     t["label"], t["valid"], t["latency"], t["prompt_tokens"], t["completion_tokens"])
              for t in turns]
    assert stored["metrics"] == json.loads(json.dumps(report(judged)))   # reloaded = recomputed
    assert stored["metrics"]["turns"] == total and "baseline" in stored["metrics"]
    assert runs.unfinished(config) is None


def test_free_protocol_feeds_back_the_router_decision(stores, backend, settings):
    datasets, runs = stores
    catalog = Catalog.load(DEFAULT_CATALOG)
    datasets.add("one", shortest(1), source="demo", catalog=catalog)
    router = Router(backend, create_strategy("constrained", settings.prompts_dir))
    run = runs.execute(RunConfig("one", "constrained", protocol="free"), router, catalog)
    first, second = runs.predictions(run)[:2]
    assert second["previous"] == first["label"]
    assert runs.config(run).protocol == "free"


def test_free_is_the_default_protocol():
    from cli import build_parser

    assert RunConfig("d").protocol == "free" and RunConfig("d").title.endswith("· free")
    assert build_parser().parse_args(["eval", "--dataset", "d"]).protocol == "free"


GOOD = {"id": "t1", "turns": [{"role": "user", "content": "Write the minutes of our meeting",
                               "task": "meeting_minutes"}]}
BAD = {"id": "t2", "turns": [{"role": "user", "content": "hello", "task": "fly_to_mars"}]}


def test_cli_datasets_reject_a_bad_file_whole_and_print_the_table(settings, tmp_path, capsys):
    from cli import main

    db = ["--db", str(settings.db_path)]
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps(BAD) + "\n")
    assert main([*db, "datasets", "import", str(path), "--name", "mixed"]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "turns[0].task" in err
    main([*db, "datasets", "list"])
    assert "mixed" not in capsys.readouterr().out

    path.write_text(json.dumps(GOOD) + "\n")
    assert main([*db, "datasets", "import", str(path), "--name", "tiny"]) == 0
    assert main([*db, "eval", "--dataset", "tiny"]) == 0
    out = capsys.readouterr()
    assert "copy baseline" in out.out and "turn_accuracy" in out.out and "p95_s" in out.out
    assert "routed turns 1/1" in out.err
    main([*db, "datasets", "export", "tiny"])
    assert json.loads(capsys.readouterr().out)["turns"][0]["task"] == "meeting_minutes"


def test_cli_eval_json_contract(settings, tmp_path, cli):
    path = tmp_path / "tiny.jsonl"
    path.write_text(json.dumps(GOOD) + "\n")
    DatasetStore(DatabaseFile(settings.db_path)).import_jsonl("tiny", path, Catalog.load(DEFAULT_CATALOG))
    status, out, err = cli("eval", "--dataset", "tiny", "--json")
    assert status == 0, err
    result = json.loads(out)
    assert result["metrics"]["turns"] == 1 and result["config"]["strategy"] == "constrained_lexical"
    assert result["config"]["protocol"] == "free"
    assert result["metrics"]["baseline"]["turn_accuracy"] == 0.0      # gold previous is none
    stored = RunStore(DatabaseFile(settings.db_path), None).get(result["run"])
    assert stored["metrics"] == result["metrics"] and stored["status"] == "done"
