"""The Train tab driven through the running app with gradio_client: a bad field, then a real tiny job."""
import time

from gradio_client import Client

from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.models import ModelStore
from tests.test_training import tiny_conversations


def form(**overrides) -> list:
    """The tab's form values in order (base model ... wrong-current share) for a one-step job."""
    values = dict(base_model="", lora_r=4, lora_alpha=8, lora_dropout=0.0, target_modules="q_proj, v_proj",
                  learning_rate=2e-4, epochs=1, max_steps=1, max_minutes=0, max_seq_length=400, batch_size=1,
                  grad_accumulation=1, eval_steps=1000, eval_fraction=0.2, packing=True,
                  wrong_current_share=0.5)
    return list({**values, **overrides}.values())


def test_train_tab_refuses_a_bad_field_then_runs_a_job(running_app, settings, small_catalog):
    DatasetStore(DatabaseFile(settings.db_path)).add("tiny", tiny_conversations(small_catalog))
    client = Client(running_app, verbose=False)
    try:
        client.predict(["tiny"], False, *form(lora_r=0), api_name="/train_launch")
        raise AssertionError("LoRA r = 0 was accepted")
    except Exception as e:  # gradio_client re-raises the gr.Error as AppError
        assert "lora_r" in str(e)
    picked = client.predict(["tiny"], False, *form(), api_name="/train_launch")
    job = picked["value"]
    deadline = time.time() + 300
    while time.time() < deadline:
        table, progress, losses, log, _, _ = client.predict(job, api_name="/train_job")
        if "done" in progress or "failed" in progress:
            break
        time.sleep(2)
    assert "<b>done</b>" in progress, log
    assert table["data"][0][:3] == [job, "done", "100%"] and table["data"][0][4] == f"job{job}-lora"
    assert losses["type"] == "plotly" and "adapter saved" in log
    assert ModelStore(DatabaseFile(settings.db_path)).resolve(f"job{job}-lora")[1].endswith("adapter")
