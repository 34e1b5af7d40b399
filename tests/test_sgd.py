"""Schema-Guided Dialogue import on an SGD-shaped folder written here, and on ../shared/sgd when present."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.sgd import SgdError, import_sgd, read_sgd, snake
from router.events import Event

ROOT = Path(__file__).resolve().parent.parent
REAL = Path("/work/shared/sgd/dev")

SCHEMA = [
    {"service_name": "Bakery_9", "description": "Order cakes",
     "slots": [{"name": "cake", "description": "Kind of cake"}],
     "intents": [{"name": "FindCakes", "description": "Look for cakes", "required_slots": []},
                 {"name": "OrderCake", "description": "Order a cake", "required_slots": ["cake"]}]},
    {"service_name": "Boats_1", "description": "Boat rentals", "slots": [],
     "intents": [{"name": "RentBoat", "description": "Rent a boat", "required_slots": []}]},
    {"service_name": "Boats_2", "description": "Other boat rentals", "slots": [],
     "intents": [{"name": "RentBoat", "description": "Rent a boat cheaply", "required_slots": []}]},
    {"service_name": "Tides_3", "description": "Tide tables", "slots": [],
     "intents": [{"name": "GetTides", "description": "Tides of a harbour", "required_slots": []}]},
    {"service_name": "Kites_1", "description": "Kites", "slots": [],
     "intents": [{"name": "BuyKite", "description": "Buy a kite", "required_slots": []}]},
]


def user(text, *frames):
    return {"speaker": "USER", "utterance": text,
            "frames": [{"service": s, "state": {"active_intent": i}} for s, i in frames]}


def system(text):
    return {"speaker": "SYSTEM", "utterance": text, "frames": []}


DIALOGUES = [
    {"dialogue_id": "9_001", "services": ["Bakery_9"], "turns": [
        user("any cakes around?", ("Bakery_9", "FindCakes")), system("Chocolate or lemon?"),
        user("chocolate", ("Bakery_9", "FindCakes")), system("Found one."),
        user("order it", ("Bakery_9", "OrderCake")), system("Done."),
        user("thanks, bye", ("Bakery_9", "NONE"))]},
    {"dialogue_id": "9_002", "services": ["Tides_3", "Boats_1"], "turns": [
        user("tides in Brest?", ("Tides_3", "GetTides")), system("High at 6."),
        # two frames: the boat intent is new, the tide one is the old state
        user("then rent me a boat", ("Boats_1", "RentBoat"), ("Tides_3", "GetTides")),
        system("Booked."), user("that's all", ("Boats_1", "NONE"))]},
]


@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / "sgd"
    root.mkdir()
    (root / "schema.json").write_text(json.dumps(SCHEMA))
    (root / "dialogues_001.json").write_text(json.dumps(DIALOGUES))
    return root


def single(n: int) -> dict:
    """A one-service dialogue: a start and an end, no switch."""
    return {"dialogue_id": f"1_{n:03d}", "services": ["Kites_1"], "turns": [
        user("a kite please", ("Kites_1", "BuyKite")), system("Which colour?"),
        user("red", ("Kites_1", "BuyKite")), system("Done."), user("bye", ("Kites_1", "NONE"))]}


def multi(n: int) -> dict:
    """A two-service dialogue: a start, a switch and an end."""
    return {"dialogue_id": f"2_{n:03d}", "services": ["Tides_3", "Boats_1"], "turns": [
        user("tides in Brest?", ("Tides_3", "GetTides")), system("High at 6."),
        user("then rent me a boat", ("Boats_1", "RentBoat")), system("Booked."),
        user("that's all", ("Boats_1", "NONE"))]}


@pytest.fixture
def ordered(folder) -> Path:
    """In SGD's order: the single-service dialogues first (two files), the multi-service ones last."""
    (folder / "dialogues_001.json").write_text(json.dumps([single(n) for n in range(8)]))
    (folder / "dialogues_002.json").write_text(json.dumps([single(n) for n in range(8, 16)]))
    (folder / "dialogues_003.json").write_text(json.dumps([multi(n) for n in range(8)]))
    return folder


@pytest.fixture
def datasets(settings) -> DatasetStore:
    return DatasetStore(DatabaseFile(settings.db_path))


def test_names_are_snake_case():
    assert snake("FindRestaurants") == "find_restaurants"
    assert snake("Hotels_4") == "hotels_4"
    assert snake("GetETAForRide") == "get_eta_for_ride"


def test_labels_events_and_catalogs(folder):
    calls = []
    first, second = read_sgd(folder, catalog_size=4, seed=1, progress=lambda *a: calls.append(a))
    assert calls[-1] == (2, 2)
    assert first.source == "sgd" and first.id == "9_001"
    assert first.gold_labels() == ["find_cakes", "find_cakes", "order_cake", None]
    assert [e for e in first.gold_events()] == [Event.START, Event.CONTINUE, Event.SWITCH, Event.END]
    # the changed frame wins over the old state of another service
    assert second.gold_labels() == ["get_tides", "boats_1_rent_boat", None]
    # own intents first, then distractors up to the size; colliding names carry the service
    assert len(first.tasks) == 4 and {"find_cakes", "order_cake"} <= set(first.tasks.names)
    assert set(second.tasks.names) >= {"get_tides", "boats_1_rent_boat"}
    # a distractor never shares an intent name with the conversation's own intents
    assert "boats_2_rent_boat" not in second.tasks.names
    order = first.tasks.get("order_cake")
    assert order.description == "Order a cake" and [i.name for i in order.infos] == ["cake"]
    # seeded: the same seed gives the same catalogs
    again = read_sgd(folder, catalog_size=4, seed=1)
    assert [c.tasks.names for c in again] == [first.tasks.names, second.tasks.names]


def test_import_stores_conversations_with_their_catalogs(folder, datasets):
    assert import_sgd(datasets, "sgd", folder, limit=1, catalog_size=3) == 1
    [conv] = datasets.conversations("sgd")
    assert conv.source == "sgd" and len(conv.tasks) == 3
    assert conv.gold_labels() == ["find_cakes", "find_cakes", "order_cake", None]


def several(conversations) -> list[bool]:
    """Whether each conversation has several services."""
    return [len(c.meta["services"]) > 1 for c in conversations]


def test_a_small_mixed_sample_holds_both_kinds_and_switches(ordered):
    first = read_sgd(ordered, limit=4, services="all")
    assert [c.id for c in first] == ["1_000", "1_001", "1_002", "1_003"]
    assert Event.SWITCH not in {e for c in first for e in c.gold_events()}
    mixed = read_sgd(ordered, limit=4, seed=3)
    assert several(mixed) == [False, True, False, True]
    assert Event.SWITCH in {e for c in mixed for e in c.gold_events()}
    ids = [c.id for c in mixed]
    assert [c.id for c in read_sgd(ordered, limit=4, seed=3)] == ids
    assert [c.id for c in read_sgd(ordered, limit=2, seed=3)] == ids[:2]
    assert [c.id for c in read_sgd(ordered, limit=4, seed=4)] != ids
    assert ids != ["1_000", "2_000", "1_001", "2_001"]   # a sample, not the first of each kind
    assert several(read_sgd(ordered, limit=3, services="multi")) == [True] * 3
    assert several(read_sgd(ordered, limit=3, services="single")) == [False] * 3
    every = read_sgd(ordered)   # no limit: alternately while both kinds last, then the rest
    assert len(every) == 24 and several(every) == [False, True] * 8 + [False] * 8
    with pytest.raises(SgdError, match="unknown services"):
        read_sgd(ordered, services="some")


def test_cli_import_sgd_takes_the_services_option(ordered, settings, capsys):
    from cli import main

    db = ["--db", str(settings.db_path)]
    assert main([*db, "datasets", "import-sgd", str(ordered), "--name", "m", "--limit", "2",
                 "--services", "multi"]) == 0
    assert "imported 2 SGD dialogues" in capsys.readouterr().out
    assert main([*db, "datasets", "import-sgd", str(ordered), "--name", "d", "--limit", "2"]) == 0
    store = DatasetStore(DatabaseFile(settings.db_path))
    assert several(store.conversations("m")) == [True, True]
    assert sorted(several(store.conversations("d"))) == [False, True]   # mixed by default


def test_bad_folder_imports_nothing(folder, datasets):
    broken = DIALOGUES + [{"dialogue_id": "9_003", "services": ["Bakery_9"],
                           "turns": [user("hi", ("Bakery_9", "FlyToMars"))]}]
    (folder / "dialogues_002.json").write_text(json.dumps(broken[2:]))
    with pytest.raises(SgdError) as err:
        import_sgd(datasets, "sgd", folder)
    assert "dialogues_002.json" in str(err.value) and "FlyToMars" in str(err.value)
    assert err.value.field == "[0]"
    assert datasets.names() == []
    (folder / "schema.json").unlink()
    with pytest.raises(SgdError, match="schema.json"):
        read_sgd(folder)


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/sgd/dev is not here")
def test_real_sgd_dev(datasets):
    count = import_sgd(datasets, "dev", REAL, limit=30, catalog_size=10, seed=0)
    conversations = datasets.conversations("dev")
    assert count == len(conversations) == 30
    events = set()
    for conv in conversations:
        assert len(conv.tasks) >= 10
        assert all(label is None or label in conv.tasks for label in conv.gold_labels())
        events.update(conv.gold_events())
    assert {Event.START, Event.CONTINUE, Event.SWITCH, Event.END} <= events
    assert sorted(several(conversations)) == [False] * 15 + [True] * 15


def closing_dialogue(folder: Path) -> Path:
    """A dialogue whose last user turn thanks while SGD's state keeps the intent, as SGD often does."""
    acts = lambda *names: [{"act": n, "slot": "", "values": []} for n in names]  # noqa: E731
    turns = [user("order a lemon cake", ("Bakery_9", "OrderCake")), system("Done. Anything else?"),
             user("thank you, that's all I need", ("Bakery_9", "OrderCake"))]
    turns[0]["frames"][0]["actions"] = acts("INFORM_INTENT")
    turns[2]["frames"][0]["actions"] = acts("THANK_YOU", "GOODBYE")
    (folder / "dialogues_001.json").write_text(json.dumps([{"dialogue_id": "9_009", "services": ["Bakery_9"],
                                                             "turns": turns}]))
    return folder


def test_a_turn_that_only_thanks_is_an_end_unless_ends_state(folder):
    closing_dialogue(folder)
    (acts,) = read_sgd(folder)
    assert [t.task for t in acts.turns if t.role == "user"] == ["order_cake", None]
    assert acts.gold_events()[-1] is Event.END
    (state,) = read_sgd(folder, ends="state")
    assert [t.task for t in state.turns if t.role == "user"] == ["order_cake", "order_cake"]
    with pytest.raises(SgdError, match="unknown ends"):
        read_sgd(folder, ends="maybe")


def test_a_goodbye_that_picks_the_offer_is_an_end_and_a_bare_pick_continues(folder):
    closing_dialogue(folder)
    path = folder / "dialogues_001.json"
    dialogue = json.loads(path.read_text())
    for names, label in ((("SELECT", "GOODBYE"), None), (("SELECT",), "order_cake"),
                         (("SELECT", "THANK_YOU"), "order_cake"), (("INFORM", "GOODBYE"), "order_cake")):
        dialogue[0]["turns"][2]["frames"][0]["actions"] = [{"act": n, "slot": "", "values": []} for n in names]
        path.write_text(json.dumps(dialogue))
        (conv,) = read_sgd(folder)
        assert conv.gold_labels()[-1] == label, names


def test_import_progress_on_a_pipe_is_lines_not_one_endless_line(tmp_path):
    root = tmp_path / "many"
    root.mkdir()
    (root / "schema.json").write_text(json.dumps(SCHEMA))
    (root / "dialogues_001.json").write_text(json.dumps([single(n) for n in range(40)]))
    done = subprocess.run([sys.executable, "cli.py", "--db", str(tmp_path / "p.db"), "datasets", "import-sgd",
                           str(root), "--name", "piped", "--services", "all"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "ROUTER_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    progress = [line for line in done.stderr.splitlines() if "/40" in line]
    assert "\r" not in done.stderr and len(progress) >= 2, done.stderr
    assert progress[-1].endswith("40/40") and len(progress) <= 11, "a line a tenth, not one a dialogue"
