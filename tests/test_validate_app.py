"""The running app's Validate tab with sign-in, driven through its API with gradio_client."""
import pytest
from gradio_client import Client

from data.annotations import AnnotationStore, QueueFilter
from data.datasets import DatasetStore
from data.db import DatabaseFile
from router.conversation import Conversation, Turn
from ui.auth import UsersError, load_users
from ui.validate_tab import MAX_TURNS

FILTERS = ("d", "to do", "(all)", "(anyone)")


@pytest.fixture
def users_env(monkeypatch):
    """Two annotators configured through the environment, before the app starts."""
    monkeypatch.setenv("ROUTER_USERS", "ana:pw1,bo:pw2")
    monkeypatch.delenv("ROUTER_USERS_FILE", raising=False)


@pytest.fixture
def signed_in_app(users_env, running_app):
    """The app started with ROUTER_USERS set."""
    return running_app


def labels(*values):
    """Values for the pool of label dropdowns, the unused ones empty."""
    return [*values, *[None] * (MAX_TURNS - len(values))]


def test_annotator_signs_in_confirms_and_changes_a_label(signed_in_app, settings, small_catalog):
    file = DatabaseFile(settings.db_path)
    DatasetStore(file).add("d", [
        Conversation("c1", (Turn("user", "Help me with the <b>minutes</b>", "meeting_minutes", True),
                            Turn("assistant", "Who attended?"), Turn("user", "Thanks, bye", None, True))),
        Conversation("c2", (Turn("user", "Write a LinkedIn post", "linkedin_post", True),
                            Turn("assistant", "About what?")))], catalog=small_catalog)
    store = AnnotationStore(file)
    c1, c2 = store.queue(QueueFilter("d"))

    with pytest.raises(Exception):
        Client(signed_in_app, verbose=False, auth=("ana", "wrong"))
    client = Client(signed_in_app, verbose=False, auth=("ana", "pw1"))
    shown = client.predict(*FILTERS, api_name="/open_queue")
    counts, pk, info, chat, events = shown[:5]
    assert pk == c1 and "2** in this queue" in counts
    assert "&lt;b&gt;" in chat[0]["content"][0]["text"], "user text is escaped"
    assert [row[2:] for row in events["data"]] == [["meeting_minutes", "start"], ["none", "end"]]

    after = client.predict(*FILTERS, c1, *labels("meeting_minutes", "follow_up_email"), api_name="/confirm")
    assert after[1] == c2, "confirm moves on to the next conversation"
    assert store.row(c1)["status"] == "validated"
    gold = store.datasets.load(c1)
    assert gold.gold_labels() == ["meeting_minutes", "follow_up_email"]
    row = next(store.db["labels"].rows_where("conversation_id = ?", [c1], order_by="id desc"))
    assert (row["origin"], row["annotator"]) == ("annotator", "ana")

    Client(signed_in_app, verbose=False, auth=("bo", "pw2")).predict(c2, *labels("none"),
                                                                     api_name="/save_labels")
    assert store.suggestion(c2).turns[0].task is None
    row = next(store.db["labels"].rows_where("conversation_id = ?", [c2], order_by="id desc"))
    assert row["annotator"] == "bo" and store.row(c2)["status"] == "unvalidated"

    client.predict(c2, "0: Write a LinkedIn post", "Write a LinkedIn post, please", api_name="/fix_typo")
    assert store.edits(c2)[0]["old_content"] == "Write a LinkedIn post"
    client.predict(*FILTERS, c2, "post or email?", api_name="/flag")
    assert store.row(c2)["status"] == "flagged" and store.comment(c2) == "post or email?"
    client.predict(*FILTERS, c2, api_name="/delete_or_restore")
    assert store.row(c2)["status"] == "deleted"
    client.predict(*FILTERS, c2, api_name="/delete_or_restore")
    assert store.row(c2)["status"] == "flagged"
    exported = client.predict("d", "d-validated", api_name="/export_validated")
    assert open(exported).read().count("\n") == 1 and store.datasets.catalog("d-validated") == small_catalog


def test_users_come_from_a_file_or_the_environment(tmp_path):
    users = tmp_path / "users.txt"
    users.write_text("# annotators\nana:pw1\n\nbo:pw:2\n")
    assert load_users({"ROUTER_USERS_FILE": str(users)}) == {"ana": "pw1", "bo": "pw:2"}
    assert load_users({"ROUTER_USERS": "ana:pw1, bo:pw2"}) == {"ana": "pw1", "bo": "pw2"}
    assert load_users({}) == {}
    users.write_text("ana:pw1\nbo\n")
    with pytest.raises(UsersError, match=r"users.txt, line 2.*user:password"):
        load_users({"ROUTER_USERS_FILE": str(users)})
