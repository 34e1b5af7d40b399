"""Synthetic training conversations from the template bank: bank, labels, catalogs, events, CLI import."""
from collections import Counter

import pytest

from data.migrations import DEFAULT_CATALOG
from data.synthetic import SCENARIOS, load_bank, synthetic_conversations
from cli import main
from router.catalog import Catalog
from router.conversation import parse_jsonl
from router.events import Event, event_between

DEMO_TASKS = set(Catalog.load(DEFAULT_CATALOG).names)


@pytest.fixture(scope="module")
def many():
    return synthetic_conversations(500, seed=3)


def plain(text: str) -> str:
    return text.lower().rstrip(".!?")


def test_same_seed_same_conversations_other_seed_others():
    first = synthetic_conversations(40, seed=1)
    assert first == synthetic_conversations(40, seed=1)
    assert synthetic_conversations(10, seed=1) == first[:10]
    assert [c.turns for c in first] != [c.turns for c in synthetic_conversations(40, seed=2)]


def test_bank_is_large_and_keeps_away_from_the_demo_tasks():
    bank = load_bank()
    names = {t.task.name for t in bank.tasks}
    assert len(names) >= 110 and not names & DEMO_TASKS
    for t in bank.tasks:
        assert len(t.openings) >= 5 and len(t.details) >= 5 and 2 <= len(t.replies) <= 3
        assert t.task.description.startswith(("The user wants", "The user needs"))
    assert len(bank.user["ends"]) >= 25 and len(bank.user["smalltalk"]) >= 20
    assert len(bank.uncovered) >= 25 and all(u.covered_by <= names for u in bank.uncovered)



def test_bank_task_names_and_things_avoid_the_held_out_demo_tasks():
    banned = ("minutes", "linkedin", "memo", "prospect", "job_description", "weekly_report", "complaint",
              "sales_call", "follow_up_email", "meeting_prep")
    for t in load_bank().tasks:
        assert not [b for b in banned if b in t.task.name.lower() or b in t.thing.lower()], t.task.name

def test_each_conversation_is_labelled_over_its_own_catalog(many):
    assert {c.meta["scenario"] for c in many} == set(SCENARIOS)
    for conv in many:
        names = set(conv.tasks.names)
        assert conv.source == "synthetic" and 6 <= len(names) <= 12 and not names & DEMO_TASKS
        users = [t for t in conv.turns if t.role == "user"]
        assert conv.turns[0].role == "user" and all(t.labelled for t in users)
        assert all(a.role != b.role for a, b in zip(conv.turns, conv.turns[1:]))
        assert {t.task for t in users} - {None} <= names
        if conv.meta["scenario"] == "unfinished":
            assert conv.turns[-1].role == "user" and conv.turns[-1].task is not None


def test_uncovered_requests_only_where_no_catalog_task_covers_them(many):
    bank, used = load_bank(), Counter()
    for conv in many:
        for turn in (t for t in conv.turns if t.role == "user"):
            for u in (u for u in bank.uncovered if plain(turn.content).endswith(plain(u.text))):
                assert turn.task is None and not u.covered_by & set(conv.tasks.names), turn
                used[bool(u.covered_by)] += 1
    assert used[True] and used[False]


def test_every_event_has_a_sizeable_share_and_switches_return(many):
    events, returns, double_ends = Counter(), 0, 0
    for conv in many:
        labels = conv.gold_labels()
        for k, (p, c) in enumerate(zip([None] + labels[:-1], labels)):
            event = event_between(p, c)
            events[event] += 1
            returns += event is Event.SWITCH and c in labels[:k]
        double_ends += len(labels) > 2 and labels[-3] is not None and labels[-2:] == [None, None]
    total = sum(events.values())
    assert all(events[e] / total > 0.05 for e in Event), events
    assert returns / events[Event.SWITCH] > 0.2 and double_ends > 10


def test_cli_imports_a_dataset_that_exports_as_valid_jsonl(settings, tmp_path, capsys):
    db, out = str(settings.db_path), tmp_path / "synthetic.jsonl"
    assert main(["--db", db, "datasets", "import-synthetic", "--name", "syn", "--count", "30",
                 "--seed", "4"]) == 0
    assert capsys.readouterr().out == "imported 30 synthetic conversations into 'syn'\n"
    assert main(["--db", db, "datasets", "export", "syn", "-o", str(out)]) == 0
    exported = parse_jsonl(out.read_text(encoding="utf-8"), file=str(out))
    assert [c.to_dict() for c in exported] == [c.to_dict() for c in synthetic_conversations(30, 4)]


def test_hard_negatives_stay_on_the_task_though_they_read_like_leaving_it():
    bank, plain_run = load_bank(), synthetic_conversations(200, seed=6)
    hard = synthetic_conversations(200, seed=6, hard=0.5)
    assert hard != plain_run and synthetic_conversations(200, seed=6, hard=0.0) == plain_run  # 0: the shipped recipe
    shorts = {plain(s) for s in bank.user["short_replies"]}
    kinds = Counter()
    for conv in hard:
        for k, turn in enumerate(conv.turns):
            before = conv.turns[k - 1].content if k else ""
            previous = next((t.task for t in reversed(conv.turns[:k]) if t.role == "user"), None)
            if turn.role != "user" or previous is None:
                continue
            if plain(turn.content) in shorts and any(plain(before) == plain(q.format(thing=t.thing))
                                                     for q in bank.assistant["questions"] for t in bank.tasks):
                kinds["short"] += 1
                assert turn.task == previous, turn  # "yes" / "no, keep it as it is" to a question: the same task
            if any(turn.content.lower().startswith(c.lower()) for c in bank.user["continues"]) \
                    and turn.task == previous:
                kinds["thanks"] += 1
            if any(m.split("{other}")[0].lower() in turn.content.lower() for m in bank.user["mentions"]
                   if m.split("{other}")[0]):
                kinds["mention"] += 1
                assert turn.task == previous, turn  # another task named, the current one kept
                other = [t for t in bank.tasks if t.thing in turn.content and t.task.name != previous]
                assert other and all(t.task.name in conv.tasks for t in other), turn
    assert min(kinds.values()) > 20 and set(kinds) == {"short", "thanks", "mention"}, kinds
