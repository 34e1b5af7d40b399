"""The validation queue on a real SQLite file: actions, persistence, assignment, kappa, export."""
import pytest

from data.annotations import AnnotationError, AnnotationStore, QueueFilter
from data.datasets import DatasetStore
from data.db import DatabaseFile
from router.conversation import Conversation, Turn, parse_jsonl


def conv(ext_id: str, *labels: str | None, unlabelled: bool = False) -> Conversation:
    """A conversation with one user turn per label, each followed by an assistant answer."""
    turns = []
    for k, label in enumerate(labels):
        turns.append(Turn("user", f"{ext_id} message {k}", label, labelled=not unlabelled))
        turns.append(Turn("assistant", f"answer {k}"))
    return Conversation(ext_id, tuple(turns), source="test")


@pytest.fixture
def annotations(settings, small_catalog) -> AnnotationStore:
    """A store with dataset 'd' of three conversations labelled by their source."""
    file = DatabaseFile(settings.db_path)
    DatasetStore(file).add("d", [conv("c1", "meeting_minutes", "meeting_minutes", None),
                                 conv("c2", "follow_up_email", "linkedin_post"),
                                 conv("c3", "linkedin_post", unlabelled=True)], catalog=small_catalog)
    return AnnotationStore(file)


def reopened(settings) -> AnnotationStore:
    """A second store on a fresh connection, to read what was really committed."""
    return AnnotationStore(DatabaseFile(settings.db_path))


def test_queue_filters_counts_and_confirm(annotations, settings):
    c1, c2, c3 = annotations.queue(QueueFilter("d"))
    assert annotations.queue(QueueFilter("d", task="linkedin_post")) == [c2]
    counts = annotations.counts(QueueFilter("d"))
    assert counts["unvalidated"] == 3 and counts["selected"] == 3 and counts["progress"] == 0

    annotations.confirm(c1, {0: "meeting_minutes", 2: "follow_up_email", 4: None}, "ana")
    store = reopened(settings)
    assert store.row(c1)["status"] == "validated"
    gold = store.datasets.load(c1)
    assert gold.gold_labels() == ["meeting_minutes", "follow_up_email", None]
    row = next(store.db["labels"].rows_where("conversation_id = ? AND position = 2", [c1], order_by="id desc"))
    assert (row["origin"], row["annotator"]) == ("annotator", "ana") and row["created_at"]
    assert store.queue(QueueFilter("d")) == [c2, c3]
    assert store.counts(QueueFilter("d"))["progress"] == pytest.approx(1 / 3)
    assert store.next_after(QueueFilter("d"), c1) == c2 and store.next_after(QueueFilter("d"), c3) == c2


def test_confirm_refuses_unknown_task_and_missing_turns(annotations):
    c1 = annotations.queue(QueueFilter("d"))[0]
    with pytest.raises(AnnotationError, match="unknown task 'weather'"):
        annotations.confirm(c1, {0: "weather", 2: None, 4: None})
    with pytest.raises(AnnotationError, match=r"no label for user turns \[4\]"):
        annotations.confirm(c1, {0: None, 2: None})
    with pytest.raises(AnnotationError, match="not a user turn"):
        annotations.relabel(c1, {1: None})
    assert annotations.row(c1)["status"] == "unvalidated"


def test_suggestion_is_the_latest_of_source_router_annotator(annotations):
    c2 = annotations.queue(QueueFilter("d"))[1]
    annotations.datasets.set_labels(c2, {2: "meeting_minutes"}, "router")
    assert [annotations.suggestion(c2).turns[k].task for k in (0, 2)] == ["follow_up_email", "meeting_minutes"]
    annotations.relabel(c2, {2: None}, "bo")
    assert annotations.suggestion(c2).turns[2].task is None
    assert annotations.row(c2)["status"] == "unvalidated"


def test_flag_delete_restore_and_typo_are_recorded(annotations, settings):
    c1, c2, c3 = annotations.queue(QueueFilter("d"))
    annotations.flag(c1, "is 'thanks' an end?", "ana")
    annotations.confirm(c2, {0: "follow_up_email", 2: "linkedin_post"}, "bo")
    annotations.delete(c2, "bo")
    annotations.fix_turn(c3, 0, "c3 mesage fixed", "ana")

    store = reopened(settings)
    assert store.row(c1)["status"] == "flagged" and store.comment(c1) == "is 'thanks' an end?"
    assert store.queue(QueueFilter("d", status="flagged")) == [c1]
    assert store.datasets.conversation_ids("d") == [c1, c3], "deleted conversations leave the dataset"
    assert store.restore(c2, "bo") == "validated"
    assert store.datasets.conversation_ids("d") == [c1, c2, c3]
    assert store.suggestion(c3).turns[0].content == "c3 mesage fixed"
    edit = store.edits(c3)[0]
    assert (edit["old_content"], edit["new_content"], edit["annotator"]) == ("c3 message 0", "c3 mesage fixed", "ana")
    with pytest.raises(AnnotationError, match="no turn 9"):
        store.fix_turn(c3, 9, "x")


def test_assignment_splits_and_doubles_a_share(annotations):
    counts = annotations.assign("d", ["ana", "bo"], double_share=1 / 3, seed=1)
    assert sum(counts.values()) == 4, "three conversations, one of them given to two annotators"
    per_conv = [annotations.assignees(pk) for pk in annotations.queue(QueueFilter("d"))]
    assert sorted(len(a) for a in per_conv) == [1, 1, 2]
    ana_todo = annotations.queue(QueueFilter("d", annotator="ana"))
    assert ana_todo and all("ana" in annotations.assignees(pk) for pk in ana_todo)
    annotations.confirm(ana_todo[0], {k: None for k in annotations.suggestion(ana_todo[0]).user_indices()}, "ana")
    assert annotations.queue(QueueFilter("d", annotator="ana")) == ana_todo[1:]
    with pytest.raises(AnnotationError):
        annotations.assign("d", ["ana"], double_share=0.5)


def test_kappa_on_a_fixture_with_a_known_value(settings, small_catalog):
    file = DatabaseFile(settings.db_path)
    DatasetStore(file).add("k", [conv("k1", None, None, None), conv("k2", None, None, None)],
                           catalog=small_catalog)
    store = AnnotationStore(file)
    store.assign("k", ["ana", "bo"], double_share=1.0)
    k1, k2 = store.queue(QueueFilter("k"))
    mm, fe = "meeting_minutes", "follow_up_email"
    store.confirm(k1, {0: mm, 2: mm, 4: None}, "ana")
    store.confirm(k2, {0: fe, 2: fe, 4: None}, "ana")
    store.confirm(k1, {0: mm, 2: fe, 4: None}, "bo")
    store.confirm(k2, {0: fe, 2: fe, 4: mm}, "bo")
    # By hand: 4 of 6 turns agree, p_o = 2/3. Ana: mm 2, fe 2, none 2 (1/3 each);
    # Bo: mm 2, fe 3, none 1. p_e = 1/3 * (2 + 3 + 1)/6 = 1/3. kappa = (2/3 - 1/3) / (1 - 1/3) = 0.5
    result = store.agreement("k")
    assert result.kappa == pytest.approx(0.5)
    assert (result.turns, result.conversations) == (6, 2)
    assert [(d.conversation, d.position, d.first_label, d.second_label) for d in result.disagreements] == \
        [(k1, 2, mm, fe), (k2, 4, None, mm)]


def test_export_validated_round_trip(annotations, settings, small_catalog):
    c1, c2, _ = annotations.queue(QueueFilter("d"))
    annotations.confirm(c1, {0: "meeting_minutes", 2: "meeting_minutes", 4: None}, "ana")
    annotations.confirm(c2, {0: "linkedin_post", 2: "linkedin_post"}, "bo")
    exported = annotations.export_validated("d", "d-validated")
    store = reopened(settings)
    assert store.datasets.catalog("d-validated") == small_catalog
    back = store.datasets.conversations("d-validated")
    assert [c.to_dict() for c in back] == [c.to_dict() for c in exported]
    assert back[1].gold_labels() == ["linkedin_post", "linkedin_post"]
    text = store.datasets.export_jsonl("d-validated")
    assert [c.to_dict() for c in parse_jsonl(text, small_catalog)] == [c.to_dict() for c in exported]
    with pytest.raises(AnnotationError, match="exists already"):
        store.export_validated("d", "d-validated")


def test_guidelines_have_a_default_and_are_editable(annotations, settings):
    assert "Annotation guidelines" in annotations.guidelines()
    annotations.save_guidelines("Label *thanks* as none.", "ana")
    assert reopened(settings).guidelines() == "Label *thanks* as none."
