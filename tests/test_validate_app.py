"""The Validate tab's actions on a real database, as two annotators; users from a file or the environment."""
import pytest

from data.annotations import AnnotationStore, QueueFilter
from data.datasets import DatasetStore
from router.conversation import Conversation, Turn
from ui import validate_actions as act
from ui.auth import UsersError, load_admins, load_users
from ui.errors import Refused
from ui.validate_actions import ValidatePage


def test_annotators_confirm_change_flag_delete_and_export(services, small_catalog):
    DatasetStore(services.file).add("d", [
        Conversation("c1", (Turn("user", "Help me with the <b>minutes</b>", "meeting_minutes", True),
                            Turn("assistant", "Who attended?"), Turn("user", "Thanks, bye", None, True))),
        Conversation("c2", (Turn("user", "Write a LinkedIn post", "linkedin_post", True),
                            Turn("assistant", "About what?")))], catalog=small_catalog)
    store = AnnotationStore(services.file)
    c1, c2 = store.queue(QueueFilter("d"))
    flt = act.queue_filter("d", "to do", act.ALL, act.ANYONE, "ana")

    step = act.open_queue(services, flt, ValidatePage())
    assert step.shown.pk == c1 and "2** in this queue" in step.counts and step.page.history == [c1]
    assert "&lt;b&gt;" in step.shown.chat[0]["content"], "user text is escaped"
    assert [row[2:] for row in step.shown.events] == [["meeting_minutes", "start"], ["none", "end"]]
    assert [slot[2] for slot in step.shown.slots] == ["meeting_minutes", "none"]
    assert act.events_of(services, c1, ["meeting_minutes", "follow_up_email"])[1][2:] == [
        "follow_up_email", "switch"]

    after = act.confirm(services, flt, step.page, c1, ["meeting_minutes", "follow_up_email"], "ana")
    assert after.shown.pk == c2 and after.message == f"Conversation #{c1} validated."
    assert store.row(c1)["status"] == "validated"
    assert store.datasets.load(c1).gold_labels() == ["meeting_minutes", "follow_up_email"]
    row = next(store.db["labels"].rows_where("conversation_id = ?", [c1], order_by="id desc"))
    assert (row["origin"], row["annotator"]) == ("annotator", "ana")
    assert act.back(services, flt, after.page, c2).shown.pk == c1

    act.save_labels(services, c2, ["none"], "bo")
    assert store.suggestion(c2).turns[0].task is None
    row = next(store.db["labels"].rows_where("conversation_id = ?", [c2], order_by="id desc"))
    assert row["annotator"] == "bo" and store.row(c2)["status"] == "unvalidated"

    assert act.turn_text(services, c2, "0: Write a LinkedIn post") == "Write a LinkedIn post"
    act.fix_typo(services, c2, "0: Write a LinkedIn post", "Write a LinkedIn post, please", "ana")
    assert store.edits(c2)[0]["old_content"] == "Write a LinkedIn post"
    act.flag(services, flt, after.page, c2, "post or email?", "ana")
    assert store.row(c2)["status"] == "flagged" and store.comment(c2) == "post or email?"
    assert act.delete_or_restore(services, flt, after.page, c2, "ana").shown.pk == c2
    assert store.row(c2)["status"] == "deleted"
    act.delete_or_restore(services, flt, after.page, c2, "ana")
    assert store.row(c2)["status"] == "flagged"
    path, message = act.export(services, "d", "d-validated")
    assert open(path).read().count("\n") == 1 and store.datasets.catalog("d-validated") == small_catalog
    assert message == "Exported 1 validated conversations as dataset 'd-validated'."


def test_the_queue_of_me_and_refusals(services, small_catalog):
    DatasetStore(services.file).add("d", [Conversation("c1", (Turn("user", "Hi", None, True),))],
                                    catalog=small_catalog)
    assert act.queue_filter("d", None, act.ALL, act.ME, "bo") == QueueFilter("d", "to do", None, "bo")
    empty = act.open_queue(services, act.queue_filter("d", "to do", act.ALL, act.ME, "bo"), ValidatePage())
    assert empty.shown.pk is None and empty.shown.info == "The queue is empty."
    with pytest.raises(Refused) as refused:
        act.confirm(services, QueueFilter("d"), ValidatePage(), None, [], "ana")
    assert refused.value.control == "pk"
    with pytest.raises(Refused, match="Open a conversation first"):  # the page's empty box sends 0
        act.confirm(services, QueueFilter("d"), ValidatePage(), 0, [], "ana")
    with pytest.raises(Refused, match="Nothing to go back to"):
        act.back(services, QueueFilter("d"), ValidatePage(), 1)
    with pytest.raises(Refused, match="dataset to split"):
        act.assign(services, act.ALL, "ana, bo", 0.2)


def test_users_come_from_a_file_or_the_environment(tmp_path):
    users = tmp_path / "users.txt"
    users.write_text("# annotators\nana:pw1\n\nbo:pw:2\n")
    assert load_users({"ROUTER_USERS_FILE": str(users)}) == {"ana": "pw1", "bo": "pw:2"}
    assert load_users({"ROUTER_USERS": "ana:pw1, bo:pw2"}) == {"ana": "pw1", "bo": "pw2"}
    assert load_users({}) == {}
    users.write_text("ana:pw1\nbo\n")
    with pytest.raises(UsersError, match=r"users.txt, line 2.*user:password"):
        load_users({"ROUTER_USERS_FILE": str(users)})


def test_only_admins_change_the_guidelines(services):
    assert load_admins({}) is None and load_admins({"ROUTER_ADMINS": " , "}) is None  # unset: everyone
    admins = load_admins({"ROUTER_ADMINS": "ana, bo"})
    assert admins == {"ana", "bo"}
    with pytest.raises(Refused, match="Only ana, bo may change the guidelines") as refused:
        act.save_guidelines(services, "Label all as none.", "cy", admins)
    assert refused.value.control == "guide_text" and "Label all as none." not in services.annotations.guidelines()
    assert "Label *thanks* as none." in act.save_guidelines(services, "Label *thanks* as none.", "bo", admins)
    assert "Everyone" in act.save_guidelines(services, "Everyone may edit.", "cy", None)
