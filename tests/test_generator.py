"""The conversation generator: the parser on hand-written outputs, the plan, the embedded model."""

import pytest

from data.annotations import AnnotationStore, QueueFilter
from data.datasets import DatasetStore
from data.db import DatabaseFile
from router.conversation import Conversation
from router.generator import (Case, GenerationError, Generator, Mix, UnparsableOutput, check_case,
                              parse_output, plan)

GOOD = """User [meeting_minutes]: Help me write the minutes of this morning's meeting.
Assistant: Sure. Who attended?
User [meeting_minutes]: Ana, Bo and me.
Assistant: What was decided?
User [follow_up_email]: Actually, write the follow-up email to Bo first.
Assistant: Of course. What should it say?
User [none]: Never mind, thanks, that's all.
END
Example 6. this is ignored"""


def test_parser_reads_a_good_output_with_labels_by_construction(small_catalog):
    turns = parse_output(GOOD, small_catalog)
    assert [t.role for t in turns] == ["user", "assistant"] * 3 + ["user"]
    assert [t.task for t in turns if t.role == "user"] == ["meeting_minutes", "meeting_minutes",
                                                          "follow_up_email", None]
    assert all(t.labelled for t in turns if t.role == "user")
    assert turns[2].content == "Ana, Bo and me."
    check_case(turns, Case("switch", "meeting_minutes", "follow_up_email"), GOOD)
    check_case(turns, Case("end", "meeting_minutes"), GOOD)
    with pytest.raises(UnparsableOutput, match="do not show the case asked for: single"):
        check_case(turns, Case("single", "meeting_minutes"), GOOD)


@pytest.mark.parametrize("raw, reason", [
    ("User [meeting_minutes]: hi\nThe assistant smiles.\n", "line 2 is neither"),
    ("User [weather_report]: rain?\nAssistant: No idea.", "line 1: unknown task 'weather_report'"),
    ("User [meeting_minutes]: a\nUser [meeting_minutes]: b", "line 2: two user messages in a row"),
    ("User [meeting_minutes]: only one line", "fewer than two messages"),
    ("User [none]:   \nAssistant: hello", "line 1 has an empty message"),
])
def test_parser_reports_broken_outputs_with_reason_and_raw_text(small_catalog, raw, reason):
    with pytest.raises(UnparsableOutput, match=reason) as caught:
        parse_output(raw, small_catalog)
    assert caught.value.raw == raw


def test_plan_honours_the_shares_and_refuses_bad_settings(small_catalog):
    cases = plan(small_catalog, ["meeting_minutes", "linkedin_post"], 10,
                 Mix(switch=0.2, end=0.2, uncovered=0.1, smalltalk=0.1), seed=3)
    kinds = [c.kind for c in cases]
    assert {k: kinds.count(k) for k in set(kinds)} == {"single": 4, "switch": 2, "end": 2,
                                                       "uncovered": 1, "smalltalk": 1}
    assert all(c.other not in (None, c.task) for c in cases if c.kind == "switch")
    with pytest.raises(GenerationError, match="unknown task 'nope'"):
        plan(small_catalog, ["nope"], 2, Mix())
    with pytest.raises(GenerationError, match="more than 1"):
        plan(small_catalog, ["linkedin_post"], 2, Mix(switch=0.6, end=0.6))


def test_parsed_conversations_arrive_unvalidated_in_the_queue(settings, small_catalog):
    file = DatabaseFile(settings.db_path)
    conv = Conversation("gen-1", parse_output(GOOD, small_catalog), source="generated")
    DatasetStore(file).add("generated", [conv], source="generated", catalog=small_catalog)
    store = AnnotationStore(file)
    [pk] = store.queue(QueueFilter("generated"))
    assert store.row(pk)["status"] == "unvalidated" and store.row(pk)["source"] == "generated"
    assert store.suggestion(pk).gold_labels() == ["meeting_minutes", "meeting_minutes",
                                                  "follow_up_email", None]


def test_embedded_model_gives_a_labelled_conversation_or_a_clear_report(backend, settings, small_catalog):
    """The 135M model writes poorly: what counts is a parseable labelled conversation or a reason."""
    cases = plan(small_catalog, ["meeting_minutes"], 1, Mix())
    seen = []
    report = Generator(backend, settings.prompts_dir, max_tokens=80).run(
        small_catalog, cases, lambda k, n: seen.append((k, n)))
    assert seen == [(1, 1)]
    assert len(report.conversations) + len(report.failures) == 1
    for conv in report.conversations:
        labels = [t.task for t in conv.turns if t.role == "user"]
        assert labels and labels[0] == "meeting_minutes" and all(t.labelled for t in conv.turns if t.role == "user")
        assert conv.source == "generated" and len(conv.turns) >= 2
    for failure in report.failures:
        assert failure.reason and failure.raw.startswith("User [meeting_minutes]:")
        print(f"could not read: {failure.reason}\n{failure.raw}")


def test_cli_refuses_an_unknown_task_before_loading_a_model(cli):
    status, _, err = cli("generate", "--tasks", "meeting_minutes,nope", "--count", "2", "--dataset", "g")
    assert status == 2 and "unknown task 'nope'" in err
