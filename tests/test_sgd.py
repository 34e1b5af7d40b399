"""Schema-Guided Dialogue import on an SGD-shaped folder written here, and on ../shared/sgd when present."""
import json
from pathlib import Path

import pytest

from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.sgd import SgdError, import_sgd, read_sgd, snake
from router.events import Event

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
    assert {Event.START, Event.CONTINUE, Event.END} <= events
