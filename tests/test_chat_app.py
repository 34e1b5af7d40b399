"""The running app's Chat tab, driven through its own API with gradio_client, on the embedded model."""
import pytest
from gradio_client import Client

from data.annotations import AnnotationStore, QueueFilter
from data.db import DatabaseFile
from data.tasks import TaskStore
from router.catalog import Task
from tests.conftest import free_port

# router backend, model (None, as the page may send for a blank box), strategy; reply backend, model, tokens
MODELS = ("local", None, "constrained", "local", "", 8)


@pytest.fixture
def server_down(monkeypatch):
    """An OpenAI-compatible server address where nothing listens, set before the app starts."""
    monkeypatch.setenv("ROUTER_OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")


def test_route_reply_save_reopen_continue(server_down, running_app, settings, small_catalog):
    store = TaskStore(DatabaseFile(settings.db_path))
    store.save(small_catalog)
    client = Client(running_app, verbose=False)

    out = client.predict("Please help me write the <b>minutes</b> of our meeting", *MODELS,
                         api_name="/chat_send")
    chat, active, badge, scores, reading, latency, timeline, status, message, kept = out
    assert [m["role"] for m in chat] == ["user", "assistant"] and chat[1]["content"]
    assert chat[0]["content"][0]["text"].startswith("Please help me write the &lt;b&gt;"), "text escaped"
    assert "Active task" in active and "routing" in latency and "reply" in latency
    assert scores is not None and timeline is not None, "constrained scores and the timeline are drawn"
    assert any(e in badge for e in ("START", "NONE")) and message == ""
    assert kept["turns"][0][1].startswith("Please help me"), "the browser copy comes with the reply"

    failed = client.predict("Write a LinkedIn post", "openai", "m", *MODELS[2:], api_name="/chat_send")
    assert "Not sent" in failed[7] and "cannot be reached" in failed[7]
    assert len(failed[0]) == 2 and failed[8] == "Write a LinkedIn post", "conversation and text kept"
    no_adapter = client.predict("Write a LinkedIn post", *MODELS, "/no/such/adapter", api_name="/chat_send")
    assert "Not sent" in no_adapter[7] and "/no/such/adapter" in no_adapter[7] and len(no_adapter[0]) == 2

    store.add(Task("press_release", "The user wants to write a press release"))
    out = client.predict("Now I need a press release instead", *MODELS[:2], "zero_shot",
                         *MODELS[3:], api_name="/chat_send")
    assert len(out[0]) == 4 and "Raw answer (zero-shot answer)" in out[4]

    saved, _ = client.predict("chats", api_name="/chat_save")
    assert "chats" in saved
    annotations = AnnotationStore(DatabaseFile(settings.db_path))
    pk, = annotations.queue(QueueFilter("chats"))
    rows = list(annotations.db["labels"].rows_where("conversation_id = ?", [pk]))
    assert [r["origin"] for r in rows] == ["router", "router"]
    suggested = annotations.suggestion(pk)
    assert [t.content for t in suggested.turns][0].startswith("Please help me")
    assert suggested.tasks is not None and "press_release" in suggested.tasks, \
        "the catalog edited between messages is saved with the conversation"

    client.predict(api_name="/chat_reset")
    note, picked = client.predict("chats", api_name="/chat_conversations")
    assert picked["value"] == pk and note == ""
    note, *reopened = client.predict(pk, api_name="/chat_reopen")
    assert note == "" and len(reopened[0]) == 4 and "Reopened" in reopened[7]
    more = client.predict("Thanks, that's all", *MODELS, api_name="/chat_send")
    assert len(more[0]) == 6, "the reopened conversation continues"
    client.predict("chats", api_name="/chat_save")
    first, second = annotations.queue(QueueFilter("chats"))
    meta = annotations.suggestion(second).meta
    assert meta["continued_from"] == suggested.id and len(meta["decisions"]) == 3
    assert "press_release" in meta["decisions"][2]["scores"], "the next decision read the edited catalog"
