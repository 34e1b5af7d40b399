"""The shipped default router: the embedded model with the LoRA adapter in router/adapters, loaded and routing."""
import importlib.util
from dataclasses import replace

import torch

from router.backends.local import device_options
from router.backends import create_backend
from router.catalog import Catalog
from router.chat import Chat
from router.conversation import Conversation, Turn, read_jsonl
from router.decision import Decision
from router.embedded import SHIPPED_ADAPTER
from router.events import Event
from router.routing import Router
from router.settings import Settings, default_adapter
from router.strategies import create_strategy
from data.migrations import DEFAULT_CATALOG
from data.testsets import set_file
from tests.conftest import free_port

MESSAGES = ("I need to write the minutes of this morning's meeting",
            "Actually, first draft a LinkedIn post about our launch", "thanks, that's all")
OUT_OF_CATALOG = "What's the weather in Paris tomorrow?"
NONE_REPLY = ("No task I run covers that. I can help with: meeting minutes, follow up email, memo from ideas, "
              "linkedin post, prospect answer, meeting preparation, and more (see the Tasks tab).")


def test_the_shipped_adapter_is_the_default_and_can_be_turned_off():
    assert (SHIPPED_ADAPTER / "adapter_config.json").exists()
    assert (SHIPPED_ADAPTER / "adapter_model.safetensors").stat().st_size < 8 * 2**20
    assert Settings.from_env({}).default_adapter == str(SHIPPED_ADAPTER)
    assert default_adapter("none") is None and default_adapter(" /x/y ") == "/x/y"


def test_the_shipped_adapter_loads_and_routes_the_default_catalog(shipped, backend, settings):
    catalog = Catalog.load(DEFAULT_CATALOG)
    turns = [Turn("user", MESSAGES[0])]
    tuned = shipped.decide(catalog, turns, None)
    base = Router(backend, create_strategy("constrained", settings.prompts_dir)).decide(catalog, turns, None)
    assert tuned.valid and tuned.label == "meeting_minutes" and tuned.scores["meeting_minutes"] > 0.9
    assert base.scores != tuned.scores  # the adapter is applied (merged into the weights)


def test_the_default_router_starts_switches_and_ends_on_the_default_catalog(shipped):
    # The embedded model's own replies in the Chat tab.
    replies = ("I'm ready to help. What's the task you're working on?",) * 2
    turns = [Turn("user", MESSAGES[0]), Turn("assistant", replies[0]), Turn("user", MESSAGES[1]),
             Turn("assistant", replies[1]), Turn("user", MESSAGES[2])]
    decisions = shipped.route(Conversation("three-messages", tuple(turns)), Catalog.load(DEFAULT_CATALOG))
    assert [d.event for d in decisions] == [Event.START, Event.SWITCH, Event.END]
    assert [d.label for d in decisions] == ["meeting_minutes", "linkedin_post", None]
    assert all(d.strategy == "constrained_lexical" for d in decisions)


def test_the_sharpened_match_lifts_a_task_the_model_never_saw(shipped, monkeypatch):
    # sales-001 (a hand-written test set, never trained on): the model is ~300 to 1 for proposal_draft
    conv = read_jsonl(set_file("sales"))[0]
    turns = conv.turns[:7]
    assert turns[-1].content.startswith("Great. Now write Dana a first email")
    now = shipped.decide(conv.tasks, turns, None)
    assert now.label == "cold_outreach_email" and "sharpness 0.5" in now.raw
    assert shipped.decide(conv.tasks, turns, "prospect_research").scores["cold_outreach_email"] > 0.3
    monkeypatch.setattr(shipped.strategy, "sharpness", 1.0)  # the default before: sharpness 1, weight 8
    monkeypatch.setattr(shipped.strategy, "weight", 8.0)
    before = shipped.decide(conv.tasks, turns, None)
    assert before.label == "proposal_draft" and before.scores["cold_outreach_email"] < 0.01


def test_the_start_bias_starts_a_plain_request_the_model_reads_as_out_of_the_catalog(shipped, monkeypatch):
    # helpdesk-002 (a hand-written test set, never trained on): the model gives none ~0.6 here
    conv = read_jsonl(set_file("helpdesk"))[1]
    turns = conv.turns[:1]
    assert turns[0].content == "I'd like to book some holiday in August"
    now = shipped.decide(conv.tasks, turns, None)
    assert (now.label, now.event) == ("leave_request", Event.START) and now.scores["none"] > 0.5
    weather = shipped.decide(Catalog.load(DEFAULT_CATALOG), (Turn("user", OUT_OF_CATALOG),), None)
    assert weather.event == Event.NONE, "a request no task covers still starts nothing"
    monkeypatch.setattr(shipped.strategy, "biases", replace(shipped.strategy.biases, start=0.0))  # before
    assert shipped.decide(conv.tasks, turns, None).label is None


def test_after_an_end_and_out_of_the_catalog_the_reply_is_set_text_not_the_reply_model(shipped):
    # The reply model is a server that is down: calling it would raise BackendUnavailable.
    down = create_backend("openai", model="m", settings=Settings.from_env(
        {"ROUTER_OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1"}))
    replies = ("I'm ready to help. What's the task you're working on?",) * 2
    catalog = Catalog.load(DEFAULT_CATALOG)
    turns = (Turn("user", MESSAGES[0]), Turn("assistant", replies[0]), Turn("user", MESSAGES[1]),
             Turn("assistant", replies[1]))
    chat = Chat("c", turns, (Decision("meeting_minutes", None, Event.START, True, 0.1, "saved label", ""),
                             Decision("linkedin_post", "meeting_minutes", Event.SWITCH, True, 0.1, "saved label", "")))
    *_, ended = chat.exchange(MESSAGES[2], shipped, down, catalog, 80)
    assert ended.decisions[-1].event == Event.END
    assert ended.turns[-1] == Turn("assistant", "Glad I could help with your linkedin post. Anything else?")
    *_, outside = ended.exchange(OUT_OF_CATALOG, shipped, down, catalog, 80)
    assert outside.decisions[-1].event == Event.NONE
    reply = outside.turns[-1].content
    assert reply == NONE_REPLY
    assert not {"weather", "sunny", "forecast", "°"} & set(reply.lower().split()), "no forecast invented"


def test_a_cuda_machine_without_bitsandbytes_loads_in_bf16(monkeypatch):
    # Stand-in: no GPU here, so CUDA's presence and bitsandbytes' absence are simulated.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "bitsandbytes" else real(name))
    assert device_options() == {"device_map": "auto", "dtype": torch.bfloat16}
    monkeypatch.setattr(importlib.util, "find_spec", real)
    assert "quantization_config" in device_options()
