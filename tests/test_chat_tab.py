"""The Chat tab names the router it talks to (and flags the untuned embedded model); the box empties on send."""
from router.embedded import SHIPPED_ADAPTER
from router.settings import default_adapter
from ui.chat_actions import Models, router_named
from ui.chat_tab import send


def test_the_default_router_is_named_with_its_adapter_and_strategy():
    line = router_named(Models(router_adapter=default_adapter(None)))
    assert line == ("**Router:** the embedded smollm2-135m (local) · adapter smollm2-router · "
                    "strategy constrained_lexical")
    assert SHIPPED_ADAPTER.name == "smollm2-router"


def test_the_untuned_base_model_is_flagged_and_a_served_model_named():
    assert "untuned embedded base model" in router_named(Models(router_adapter=""))
    served = router_named(Models("openai", "qwen<3>", "zero_shot", router_adapter="/some/adapter"))
    assert served == "**Router:** qwen&lt;3&gt; (openai) · no adapter · strategy zero_shot"


def test_the_sent_text_leaves_the_box_once_routed(services, small_catalog):
    services.tasks.save(small_catalog)
    steps = send(services, None, "Please help me write the minutes of our meeting", "local", None, "constrained",
                 "local", "", 8, "")
    routed = next(steps)
    assert routed[7].startswith("Routed") and routed[-1] == "", "not left in the box while the reply streams"
    *_, last = steps
    assert last[-1] == "" and len(last[0]) == 2
