"""Fine-tuning: examples in the inference prompt format, config errors, real short jobs on the embedded model."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.jobs import JobStore
from data.models import ModelStore
from data.runner import Runner
from data.runs import RunStore
from router.conversation import Conversation, Turn
from router.errors import RouterError
from router.evaluation import cases
from router.routing import Router
from router.services import RouterFactory
from router.strategies import create_strategy
from router.training.config import TrainConfig, TrainConfigError
from router.training.examples import ExampleBuilder, split

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_conversations(catalog, count: int = 6) -> list[Conversation]:
    """Short labelled conversations from two sources: starts, switches and ends."""
    out = []
    for k in range(count):
        last = (Turn("user", "Now I want a LinkedIn post about it", "linkedin_post", True) if k % 3
                else Turn("user", "Thanks, that is all", None, True))
        out.append(Conversation(f"c{k}", (
            Turn("user", "Help me write the minutes of our meeting", "meeting_minutes", True),
            Turn("assistant", "Sure. Who attended?"), last),
            source="generated" if k % 2 else "chat", tasks=catalog))
    return out


def quick_config(**overrides) -> TrainConfig:
    """A job small enough for a test: a few steps on short sequences, one example a step."""
    return replace(TrainConfig(datasets=["tiny"], max_steps=2, max_seq_length=400, batch_size=1,
                               eval_steps=1000, save_steps=1000, eval_fraction=0.2), **overrides)


def wait_for(predicate, timeout: float, what: str):
    """Poll `predicate` until it returns something true; fail after `timeout` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_examples_are_the_inference_prompt_with_the_answer_only_in_the_loss(backend, small_catalog, settings):
    conv = tiny_conversations(small_catalog)[1]
    strategy = create_strategy("constrained", settings.prompts_dir)
    examples = ExampleBuilder(strategy, backend.tokenizer, 2000).conversation(conv)
    assert [(e.position, e.completion) for e in examples] == [(0, " meeting_minutes"), (2, " linkedin_post")]
    for example, (position, _, previous) in zip(examples, cases(conv)):
        prompt = strategy.prompt(conv.tasks, conv.turns[: position + 1], previous)
        assert list(example.prompt_ids) == backend.encode(prompt)
        assert list(example.completion_ids) == [*backend.encode_part(example.completion), *backend.end_ids()]
        row = example.to_dict()
        assert row["completion_mask"] == [0] * len(example.prompt_ids) + [1] * len(example.completion_ids)
    assert "Current task: meeting_minutes" in examples[1].prompt
    assert ExampleBuilder(strategy, backend.tokenizer, 50).conversation(conv) == []


def test_split_keeps_each_conversation_on_one_side(small_catalog):
    convs = tiny_conversations(small_catalog, 10)
    train, held = split(convs, 0.3, seed=7)
    assert len(held) == 3 and len(train) == 7
    assert {c.id for c in train} | {c.id for c in held} == {c.id for c in convs}
    assert not {c.id for c in train} & {c.id for c in held}
    assert split(convs, 0.3, seed=7) == (train, held)
    assert split(convs, 0.3, seed=8) != (train, held)


def test_config_file_errors_name_the_field(tmp_path):
    path = tmp_path / "config.json"
    quick_config().save(path)
    assert TrainConfig.load(path) == quick_config()
    for raw, field in (({"datasets": ["d"], "lora_r": 0}, "lora_r"), ({"datasets": []}, "datasets"),
                       ({"datasets": ["d"], "learning_rate": "fast"}, "learning_rate"),
                       ({"datasets": ["d"], "epoch": 3}, "epoch")):
        path.write_text(json.dumps(raw))
        with pytest.raises(TrainConfigError) as e:
            TrainConfig.load(path)
        assert e.value.field == field and str(path) in str(e.value)


def test_a_job_from_the_command_line_registers_an_adapter_that_routes(settings, small_catalog, tmp_path,
                                                                      backend):
    file = DatabaseFile(settings.db_path)
    datasets = DatasetStore(file)
    datasets.add("tiny", tiny_conversations(small_catalog))
    config = quick_config(max_steps=1).save(tmp_path / "config.json")
    env = {**os.environ, "ROUTER_DATA_DIR": str(settings.data_dir), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "cli.py", "--db", str(settings.db_path), "train", str(config)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    job = JobStore(file).get(1)
    assert job["status"] == "done" and job["progress"] == 1.0
    assert job["result"]["steps"] == 1 and job["result"]["method"] == "LoRA on CPU"
    assert [p["step"] for p in JobStore(file).losses(1) if p["kind"] == "train"] == [1]
    model = ModelStore(file).get("job1-lora")
    assert (settings.data_dir / "jobs" / "1" / "adapter" / "adapter_config.json").exists()
    assert model["adapter"] == str(settings.data_dir / "jobs" / "1" / "adapter")
    runs = RunStore(file, datasets)
    assert list(job["eval_runs"]) == ["base free", "tuned free", "base gold", "tuned gold"]
    for key, run in job["eval_runs"].items():
        role, protocol = key.split()
        assert runs.config(run).protocol == protocol and runs.get(run)["dataset"] == "job1-heldout"
        assert runs.get(run)["adapter"] == (model["adapter"] if role == "tuned" else None)
    from ui.train_actions import evaluated, result_summary   # what the Train tab shows

    shown = evaluated(SimpleNamespace(runs=runs), job)
    assert [title for title, _ in shown] == ["base free", "fine-tuned free", "base gold", "fine-tuned gold"]
    lines = result_summary(job, shown).split("  \n")
    assert len(lines) == 2 and lines[0].startswith("job1-lora (fine-tuned free): turn accuracy ")
    assert "vs copy baseline" in lines[1]
    base, tuned = (runs.get(job["eval_runs"][k]) for k in ("base gold", "tuned gold"))
    assert base["metrics"]["turns"] == tuned["metrics"]["turns"] > 0
    assert set(tuned["metrics"]["by_source"]) <= {"chat", "generated"}
    assert set(tuned["metrics"]["by_source"]) == {c.source for c in datasets.conversations("job1-heldout")}
    conv = tiny_conversations(small_catalog)[1]
    router = RouterFactory(settings).router("constrained", "local", model["base"], model["adapter"])
    decision = router.decide(small_catalog, conv.turns[:1], None)
    plain = Router(backend, create_strategy("constrained", settings.prompts_dir)).decide(
        small_catalog, conv.turns[:1], None)
    assert decision.valid and decision.scores.keys() == plain.scores.keys()
    assert decision.scores != plain.scores  # the adapter changed the model


def test_queue_stop_resume_and_a_killed_job(settings, small_catalog):
    """Real subprocess jobs: a queue of two, a stop with a checkpoint, a killed job, a resume."""
    file = DatabaseFile(settings.db_path)
    DatasetStore(file).add("tiny", tiny_conversations(small_catalog))
    jobs = JobStore(file)
    runner = Runner(jobs, settings)
    first = runner.submit(quick_config(max_steps=4), evaluate=False)
    second = runner.submit(quick_config(), evaluate=False)
    assert jobs.get(first)["status"] == "running" and jobs.get(second)["status"] == "queued"
    wait_for(lambda: jobs.get(first)["progress"] > 0, 300, "a first training step")
    Runner(jobs, settings).poll()  # as after an app restart: the running job is found alive, not failed
    assert jobs.get(first)["status"] == "running" and jobs.get(second)["status"] == "queued"
    assert runner.stop(first) == "stopping"
    wait_for(lambda: runner.poll() or jobs.get(first)["status"] == "stopped", 300, "the stop")
    assert list((settings.data_dir / "jobs" / str(first) / "checkpoints").glob("checkpoint-*"))
    wait_for(lambda: runner.poll() or "training with" in jobs.get(second)["log"], 300, "the second job")
    os.kill(jobs.get(second)["pid"], signal.SIGKILL)
    wait_for(lambda: runner.poll() or jobs.get(second)["status"] == "failed", 60, "the killed job")
    assert "ended unexpectedly" in jobs.get(second)["log"] and jobs.get(second)["error"]
    runner.resume(first)
    wait_for(lambda: runner.poll() or jobs.get(first)["status"] in ("done", "failed"), 300, "the end")
    job = jobs.get(first)
    assert job["status"] == "done" and "resuming from" in job["log"], job["log"][-2000:]
    assert job["result"]["steps"] == 4 and ModelStore(file).get(f"job{first}-lora")
    with pytest.raises(RouterError):
        runner.resume(first)


def test_a_job_continues_the_shipped_adapter_after_rolling_it_out(settings, small_catalog, tmp_path):
    """DAgger: the adapter routes the training conversations live first; its own currents are trained too."""
    from data.training import TrainingJob

    file = DatabaseFile(settings.db_path)
    DatasetStore(file).add("tiny", tiny_conversations(small_catalog))
    config = quick_config(max_steps=1, eval_fraction=0.0, rollout_share=1.0, output_dir=str(tmp_path / "job"),
                          init_adapter=str(settings.default_adapter))
    jobs = JobStore(file)
    for _ in range(2):  # the second run (as a resumed job) reads the saved rollout
        job = jobs.create(asdict(config), evaluate=False, status="running")
        assert TrainingJob(file, settings, job, config).run(evaluate=False) == "done"
    first, second = jobs.get(1)["log"], jobs.get(2)["log"]
    assert "rolling out 6 conversations (free protocol) with " + str(settings.default_adapter) in first
    assert "continuing the training of the adapter" in first and "rolling out" not in second
    rolled = json.loads((tmp_path / "job" / "rollout.json").read_text())
    assert sorted((c, p) for c, p, _ in rolled) == sorted(
        (c.id, p) for c in tiny_conversations(small_catalog) for p, _, _ in cases(c))
    assert all(current is None for _, p, current in rolled if p == 0)  # a first decision has no current task
    wrong = re.search(r"rollout: (\d+) of 12 decisions wrong, (\d+) given a current task other", first)
    assert wrong, first[-2000:]


def test_a_job_on_a_missing_dataset_fails_with_its_log(settings, tmp_path):
    from cli import main

    config = quick_config(datasets=["missing"]).save(tmp_path / "config.json")
    assert main(["--db", str(settings.db_path), "train", str(config)]) == 2
    job = JobStore(DatabaseFile(settings.db_path)).get(1)
    assert job["status"] == "failed" and "no dataset called 'missing'" in job["error"]
    assert "Traceback" in job["log"]


def test_breakdown_shows_each_source_and_event_beside_the_copy_baseline():
    from router.comparison import BASELINE, OVERALL, breakdown
    from router.metrics import Judged, report

    turns = [Judged("a", 0, "generated", "x", None, "x"), Judged("a", 2, "generated", "y", "x", "y"),
             Judged("b", 0, "chat", "x", None, "x"), Judged("b", 2, "chat", None, "x", "x")]
    headers, rows = breakdown([("base", report(turns))])
    assert headers == ["scope", "metric", "base", BASELINE]
    table = {(r[0], r[1]): r[2:] for r in rows}
    assert table[OVERALL, "switch_r"] == ["1.000", "0.000"] and table[OVERALL, "end_r"] == ["0.000", "0.000"]
    assert table["generated", "turn_accuracy"] == ["1.000", "0.000"]
    assert table["chat", "turn_accuracy"] == ["0.500", "0.000"] and table["chat", "end_r"] == ["0.000", "0.000"]
    assert table["chat", "end: turn_accuracy"] == ["0.000", "0.000"]
    assert table["chat", "turns"] == ["2", "2"] and ("generated", "end: turn_accuracy") not in table


def test_every_field_carries_its_label_help_and_rules_into_help_and_validation(capsys):
    from dataclasses import fields

    from cli import main
    from router.training.config import Bounds

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    shown = capsys.readouterr().out
    for f in fields(TrainConfig):
        assert f.metadata["label"] and f.metadata["help"], f.name
        assert f"  {f.name} (" in shown and f.metadata["help"] in shown, f.name
    assert "lora_dropout (float, in [0, 1); default 0.05)" in shown
    assert 0.5 in Bounds(0, 1) and 1 not in Bounds(0, 1, high_open=True) and -1 in Bounds(1, also=-1)
    with pytest.raises(TrainConfigError, match="field 'wrong_current_share': must be in \\[0, 1\\], not 2"):
        replace(quick_config(), wrong_current_share=2)


def test_quantize_off_trains_lora_over_the_full_precision_base(monkeypatch):
    # Stand-in: no GPU here, so CUDA's presence is simulated (bitsandbytes is installed).
    import torch

    from router.training.job import LORA_CPU, LORA_CUDA, QLORA, training_method

    assert training_method(True) == training_method(False) == LORA_CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert training_method(True) == QLORA
    assert training_method(False) == LORA_CUDA
    assert TrainConfig.from_dict({"datasets": ["d"], "quantize": False}).quantize is False


def test_the_shipped_training_configs_load():
    """Every configuration under configs/ that the docs run is a valid TrainConfig."""
    paths = sorted((Path(ROOT) / "configs").glob("*.json"))
    assert {p.name for p in paths} >= {"smollm2-router.json", "smollm2-router-dagger.json"}
    loaded = {p.name: TrainConfig.load(p) for p in paths}
    dagger = loaded["smollm2-router-dagger.json"]
    assert dagger.rollout_share == 1.0 and dagger.init_adapter == "router/adapters/smollm2-router"
    assert (Path(ROOT) / dagger.init_adapter / "adapter_config.json").exists()
