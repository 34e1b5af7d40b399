"""The Train tab's actions on a real database: the form's values checked, then a real tiny job."""
import time

import pytest

from router.training.config import TrainConfigError
from tests.test_training import tiny_conversations
from ui import train_actions as act
from ui.errors import Refused
from ui.train_tab import form_names, quick_try

FORM = dict(base_model="", lora_r=4, lora_alpha=8, lora_dropout=0.0, target_modules="q_proj, v_proj",
            learning_rate=2e-4, epochs=1, max_steps=1, max_minutes=0, max_seq_length=400, batch_size=1,
            grad_accumulation=1, eval_steps=1000, eval_fraction=0.2, packing=True, quantize=True,
            wrong_current_share=0.5, init_adapter="", rollout_share=0.0)


def test_the_form_is_read_as_typed_fields():
    assert sorted(form_names()) == sorted(FORM)
    config = act.config_from(["tiny"], {**FORM, "lora_r": 4.0, "epochs": None})
    assert (config.base_model, config.target_modules, config.max_minutes) == ("smollm2-135m",
                                                                              ["q_proj", "v_proj"], None)
    assert config.lora_r == 4 and isinstance(config.lora_r, int) and config.epochs == 1
    assert config.init_adapter is None  # blank: a new adapter
    continued = act.config_from(["tiny"], {**FORM, "init_adapter": " router/adapters/smollm2-router ",
                                           "rollout_share": 0.5})
    assert (continued.init_adapter, continued.rollout_share) == ("router/adapters/smollm2-router", 0.5)
    with pytest.raises(TrainConfigError) as e:
        act.config_from(["tiny"], {**FORM, "lora_r": 0})
    assert e.value.field == "lora_r" and "at least 1" in str(e.value)
    with pytest.raises(TrainConfigError, match="field 'max_steps': must be at least 1, or -1, not 0"):
        act.config_from(["tiny"], {**FORM, "max_steps": 0})
    with pytest.raises(Refused, match="at least one dataset"):
        act.config_from([], FORM)


def test_a_tiny_job_runs_to_its_adapter(services, small_catalog):
    services.datasets.add("tiny", tiny_conversations(small_catalog))
    job = act.launch(services, ["tiny"], False, FORM)
    deadline = time.time() + 300
    assert act.show(services, None).can_stop is False and act.show(services, None).can_resume is False
    assert act.show(services, job).can_stop, "a queued job can stop"
    while time.time() < deadline:
        view = act.show(services, job)
        if "done" in view.progress or "failed" in view.progress:
            break
        time.sleep(2)
    assert "<b>done</b>" in view.progress, view.log
    assert not view.can_stop and not view.can_resume, "an ended job neither stops nor resumes"
    assert view.rows[0][:3] == [job, "done", "100%"] and view.rows[0][4] == f"job{job}-lora"
    assert "adapter saved" in view.log and services.models.resolve(f"job{job}-lora")[1].endswith("adapter")
    with pytest.raises(Refused, match="Choose a job"):
        act.stop(services, None)


def annotation(figure) -> str:
    """The text a figure shows in place of its data."""
    assert figure.layout.xaxis.visible is False and figure.layout.yaxis.visible is False, "no empty axes"
    return figure.layout.annotations[0].text


def test_empty_charts_say_why_and_a_job_evaluating_its_adapter_says_so(services):
    view = act.show(services, None)
    assert annotation(view.losses).startswith("No job yet") and annotation(view.recalls).startswith("No job yet")
    job = services.jobs.create({}, status="running")
    services.jobs.set(job, heartbeat_at=time.time())  # a fresh heartbeat: the runner leaves the job running
    view = act.show(services, job)
    assert annotation(view.losses).startswith("No loss points yet")
    assert annotation(view.recalls).startswith("No evaluation yet")
    assert "<b>running</b>" in view.progress
    services.jobs.set(job, progress=1.0, adapter="/adapters/job1")  # trained: the adapter is evaluated
    view = act.show(services, job)
    assert "<b>evaluating</b>" in view.progress and "training done" in view.progress
    assert view.rows[0][1] == "evaluating" and view.can_stop
    unevaluated = services.jobs.create({}, evaluate=False, status="done")
    assert annotation(act.show(services, unevaluated).recalls).startswith("Not evaluated")


def test_the_quick_try_fills_the_form_with_a_minute_of_small_steps():
    values = quick_try()
    assert [name for name, value in zip(form_names(), values) if not isinstance(value, dict)] == \
        [name for name in form_names() if name in act.QUICK_TRY]  # the others are left as they are
    config = act.config_from(["tiny"], {**FORM, **act.QUICK_TRY})
    assert config.max_minutes == 1 and config.max_steps <= 20 and config.batch_size == 1
