"""The Chat tab names the router it talks to (and flags the untuned embedded model); the box empties on send."""
import json

import gradio as gr

from router.chat import Chat
from router.conversation import Turn
from router.decision import Decision
from router.embedded import SHIPPED_ADAPTER
from router.events import Event
from router.settings import Settings, default_adapter
from ui import chat_actions as act
from ui.chat_actions import Models, replier_named, router_named
from ui.chat_tab import send


def test_the_default_router_is_named_with_its_adapter_and_strategy():
    line = router_named(Models(router_adapter=default_adapter(None)), Settings.from_env({}))
    assert router_named(Models(router_adapter=""), Settings.from_env({})) == line, "blank: the default router"
    assert line == ("**Router:** the embedded smollm2-135m (local) · adapter smollm2-router · "
                    "strategy calibrated scoring + word match (constrained_lexical)")
    assert SHIPPED_ADAPTER.name == "smollm2-router"


def test_the_untuned_base_model_is_flagged_and_a_served_model_named():
    assert "untuned embedded base model" in router_named(Models(router_adapter="none"), Settings.from_env({}))
    served = router_named(Models("openai", "qwen<3>", "zero_shot", router_adapter="/some/adapter"),
                          Settings.from_env({}))
    assert served == "**Router:** qwen&lt;3&gt; (openai) · no adapter · strategy zero-shot answer (zero_shot)"


def test_the_panel_says_when_the_small_embedded_model_writes_the_replies():
    assert "small embedded model (smollm2-135m)" in replier_named(Models())
    assert "a served model" in replier_named(Models(reply_model=" "))
    assert replier_named(Models(reply_backend="openai")) == replier_named(Models(reply_model="qwen")) == ""
    assert Models().max_tokens == Settings.from_env({}).reply_tokens == 80
    assert Settings.from_env({"ROUTER_REPLY_TOKENS": "40"}).reply_tokens == 40


def test_the_sent_text_leaves_the_box_once_routed(services, small_catalog):
    services.tasks.save(small_catalog)
    steps = send(services, gr.Request(), None, "Please help me write the minutes of our meeting", "local", None,
                 "constrained", "local", "", 8, "")
    routed = next(steps)
    assert routed[7].startswith("Routed") and routed[-2] == "", "not left in the box while the reply streams"
    streamed = list(steps)
    *_, last = streamed
    assert last[-2] == "" and len(last[0]) == 2
    copies = [step[-1] for step in streamed]
    assert all(len(c["turns"]) == 2 for c in copies), "the browser's copy follows every streamed piece"
    assert [len(c["turns"][-1][1]) for c in copies] == sorted(len(c["turns"][-1][1]) for c in copies)
    assert copies[-1]["turns"][-1][1] and copies[-1]["user"] == "anonymous"


def test_the_browser_keeps_a_conversation_for_its_user_only():
    chat = Chat("c1", (Turn("user", "Minutes please"), Turn("assistant", "Who attended?")),
                (Decision("meeting_minutes", None, Event.START, True, 0.4, "constrained", "m", {"none": 0.1}),),
                reply_latency=1.5)
    stored = json.loads(json.dumps(act.kept(chat, "ana")))  # the browser holds JSON
    assert act.restored(stored, "ana") == chat
    assert act.restored(stored, "bo") is None and act.restored(None, "ana") is None
    assert act.kept(Chat.new(), "ana") is None and act.restored({"user": "ana", "id": "x"}, "ana") is None
