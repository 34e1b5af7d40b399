"""The chat domain on the real embedded model: route, stream the reply, save, reopen; the reply prompt."""
import math

from router.assistant import GROUNDED, reply_messages, set_reply
from router.backends import create_backend
from router.backends.served import label_scores, redact
from router.catalog import Catalog
from router.chat import Chat
from router.conversation import Turn
from router.decision import Decision
from router.errors import BackendUnavailable
from router.events import Event
from router.routing import Router
from router.settings import Settings
from router.strategies import create_strategy
from tests.conftest import free_port


def test_reply_follows_the_active_task_and_invents_nothing(small_catalog):
    turns = [Turn("user", "Help with my minutes")]
    system, user = reply_messages(small_catalog, "meeting_minutes", turns)
    assert "meeting_minutes" in system["content"] and "Ask who attended" in system["content"]
    assert "- attendees: Who attended" in system["content"] and system["content"].endswith(GROUNDED)
    assert "never invent names, dates or figures" in GROUNDED and "still missing" in GROUNDED
    assert user == {"role": "user", "content": "Help with my minutes"}


def test_with_no_task_active_the_reply_is_set_text(small_catalog):
    def decided(label, previous, event):
        return Decision(label, previous, event, True, 0.1, "constrained", "m")

    assert set_reply(small_catalog, decided("meeting_minutes", None, Event.START)) is None
    assert set_reply(small_catalog, decided(None, "linkedin_post", Event.END)) == \
        "Glad I could help with your linkedin post. Anything else?"
    capabilities = set_reply(small_catalog, decided(None, None, Event.NONE))
    assert capabilities.startswith("No task I run covers that. I can help with: meeting minutes, ")
    assert all(t.replace("_", " ") in capabilities for t in small_catalog.names)
    assert set_reply(small_catalog, decided("deleted_task", None, Event.START)) == capabilities
    assert "add one in the Tasks tab" in set_reply(Catalog(), decided(None, None, Event.NONE))


def test_exchange_routes_then_streams_and_saves_and_reopens(backend, shipped, small_catalog):
    chat = Chat.new()
    steps = list(chat.exchange("Please help me write the minutes of our meeting", shipped, backend,
                               small_catalog, 6))
    routed, *streamed = steps
    assert [t.role for t in routed.turns] == ["user"] and routed.task == "meeting_minutes"
    assert len(streamed) > 1 and streamed[-1].turns[-1].role == "assistant"
    done = streamed[-1]
    assert done.reply_latency > 0 and chat.turns == (), "the chat it started from is untouched"

    saved = done.to_conversation(small_catalog)
    assert saved.id == f"{chat.id}-2" and saved.turns[0].labelled
    assert saved.turns[0].task == done.task and saved.meta["decisions"][0]["event"] in ("start", "none")
    again = Chat.reopened(saved)
    assert again.id != chat.id and again.continued_from == saved.id
    assert again.decisions == done.decisions
    assert [(t.role, t.content) for t in again.turns] == [(t.role, t.content) for t in done.turns]

    relabelled = saved.__class__(saved.id, (Turn("user", saved.turns[0].content, "linkedin_post", True),
                                            saved.turns[1]), meta=saved.meta)
    decision, = Chat.reopened(relabelled).decisions
    assert decision.label == "linkedin_post" and decision.strategy == "saved label"


def test_once_the_reply_is_whole_the_router_reads_ahead_for_the_next_message(backend, small_catalog, settings):
    router = Router(backend, create_strategy("constrained_lexical", settings.prompts_dir))
    *_, done = Chat.new().exchange("Please help me write the minutes of our meeting", router, backend,
                                   small_catalog, 4)
    entry = backend.cache.entries[done.id]
    ahead = router.strategy.prompt(small_catalog, (*done.turns, Turn("user", "N/A")), done.task)
    assert entry.scored and entry.ids == backend.encode(ahead)  # the reply read, a content-free message after it
    router.forget(done.id)


def test_a_failed_reply_leaves_the_conversation_intact(backend, shipped, small_catalog):
    down = create_backend("openai", model="m", settings=Settings.from_env(
        {"ROUTER_OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1"}))
    router = shipped  # it starts linkedin_post: the reply model is called
    chat = Chat.new()
    try:
        list(chat.exchange("Write a LinkedIn post", router, down, small_catalog, 4))
    except BackendUnavailable as e:
        assert "cannot be reached" in str(e)
    else:
        raise AssertionError("a reply from a server that is down")
    assert chat.turns == ()
    *_, done = chat.exchange("Write a LinkedIn post", router, backend, small_catalog, 4)
    assert len(done.turns) == 2


def test_label_scores_share_an_offered_beginning_between_labels():
    tokens = [('{"task": "', -0.1, {}), ("follow", -0.5, {"follow": -0.5, "linked": -1.0, "meet": -2.0}),
              ('_up_email"}', -0.1, {})]
    labels = ["follow_up_email", "linkedin_post", "meeting_minutes", "meeting_prep", "none"]
    scores = dict(zip(labels, label_scores(tokens, labels, "follow_up_email")))
    assert scores["follow_up_email"] == -0.6 and scores["linkedin_post"] == -1.0
    assert scores["meeting_minutes"] == scores["meeting_prep"] == -2.0 - math.log(2)
    assert scores["none"] == -math.inf
    assert label_scores([], labels, "none") == [-math.inf] * 4 + [0.0]


def test_keys_are_kept_out_of_messages_and_settings():
    settings = Settings.from_env({"OPENAI_API_KEY": "sk-abcdefghijkl", "HF_TOKEN": "hf_abcdefghijkl",
                                  "ROUTER_TGI_URL": "http://tgi.internal:8080"})
    assert settings.openai_api_key == "sk-abcdefghijkl" and "abcdefghijkl" not in repr(settings)
    assert "tgi.internal" not in repr(settings), "endpoints are not shown either"
    assert redact("bad key sk-abcdefghijkl, token mine", "mine") == "bad key sk-***, token ***"
