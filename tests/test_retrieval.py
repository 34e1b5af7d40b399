"""The candidate stage of large catalogs: who is a candidate, recall@k, the cached index, a 1,000-task decision."""
import time
from dataclasses import replace

import numpy as np
import pytest

from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.distractors import distractor_tasks
from data.runs import RunStore
from data.synthetic import load_bank
from data.tasks import TaskStore
from router.catalog import Catalog, Task
from router.conversation import Conversation, Turn
from router.decision import Decision
from router.evaluation import RunConfig
from router.events import Event
from router.metrics import Judged, recall_at_k, row, summarize
from router.retrieval import CandidateStage, task_index
from router.routing import Router
from router.services import RouterFactory
from router.settings import Settings
from router.strategies import create_strategy
from ui.chat_view import shortlist


def catalog_of(count: int) -> Catalog:
    """`count` generated tasks with realistic descriptions."""
    return Catalog(distractor_tasks(count))


def user(*texts: str) -> tuple[Turn, ...]:
    """User turns, with a short assistant reply between them."""
    turns: list[Turn] = []
    for text in texts:
        turns += [Turn("user", text), Turn("assistant", "Sure.")]
    return tuple(turns[:-1])


def test_the_current_task_is_always_a_candidate_beside_the_best_matches():
    catalog = catalog_of(60)
    stage = CandidateStage(above=20, k=4)
    current = catalog.names[7]
    for text in ("I want to cancel my gym membership", "what is the weather like", "ok", ""):
        candidates = stage.select(catalog, user(text), current)
        assert current in candidates and len(candidates) == 5
    wanted = catalog.tasks[3]
    candidates = stage.select(catalog, user(wanted.description.replace("The user wants", "I want")), None)
    assert list(candidates)[0] == wanted.name and len(candidates) == 4
    kept = stage.select(catalog, user("x", "ok thanks"), None, previous=candidates)
    assert list(kept) == list(candidates)  # a weak match keeps the set: the prompt's cache is reused
    moved = stage.select(catalog, user("x", "ok thanks"), current, previous=candidates)
    assert current in moved  # a previous set without the current task is not kept
    assert stage.select(catalog_of(20), user("anything"), None) is None  # small catalogs: all tasks


def test_word_vectors_find_a_task_the_message_shares_no_word_with():
    events = Task("find_events", "Find concerts, plays and games happening in a city")
    ride = Task("get_ride", "Call a taxi to take the user to a destination")
    catalog = Catalog(distractor_tasks(200) + [events, ride])
    index, stage = task_index(catalog.tasks), CandidateStage(above=20, k=4)
    for message, wanted in (("any good shows around here tonight?", events), ("I need a cab to Union Square", ride)):
        lexical = np.argsort(-index.scores(message, None), kind="stable").tolist()
        assert lexical.index(index.position[wanted.name]) >= 4  # TF-IDF alone would miss it
        assert wanted.name in stage.select(catalog, user(message), None)
    assert np.isfinite(index.relevance("", None)).all() and np.isfinite(index.relevance("??", "get_ride")).all()


def test_recall_at_k_counts_turns_with_a_gold_task_among_the_candidates():
    def judged(gold, candidates):
        return Judged("c", 0, "s", gold, None, gold, candidates=candidates)

    turns = [judged("a", ("a", "b")), judged("c", ("a", "b")), judged(None, ("a", "b")),
             judged("b", None), judged("d", ("d",)), judged("e", ("a",))]
    assert recall_at_k(turns) == pytest.approx(3 / 5)
    assert summarize(turns)["recall_at_k"] == pytest.approx(3 / 5)
    assert recall_at_k([judged(None, ("a",))]) == 1.0
    old_metrics = {k: v for k, v in summarize(turns).items() if k != "recall_at_k"}
    assert row(old_metrics)["recall_at_k"] == 1.0  # runs stored before the stage saw every task


def test_a_catalog_edit_rebuilds_the_index(settings):
    store = TaskStore(DatabaseFile(settings.db_path))
    store.import_catalog(catalog_of(40), replace=True)
    first = store.catalog()
    assert task_index(first.tasks) is task_index(store.catalog().tasks)  # read afresh, same version
    stage, message = CandidateStage(above=20, k=3), user("I would like to adopt a kitten from the shelter")
    name = first.names[0]
    assert name not in stage.select(first, message, None)
    store.update(name, Task(name, "The user wants to adopt a kitten from a shelter"))
    edited = store.catalog()
    assert task_index(edited.tasks) is not task_index(first.tasks)
    assert list(stage.select(edited, message, None))[0] == name


def test_a_run_records_candidates_and_recall_and_keeps_them_on_resume(settings, backend):
    file = DatabaseFile(settings.db_path)
    datasets = DatasetStore(file)
    runs = RunStore(file, datasets)
    catalog = catalog_of(30)
    conv = Conversation("c1", (Turn("user", "I need to renew my passport application", "renew_passport", True),
                               Turn("assistant", "Sure, what is your name?"),
                               Turn("user", "Thanks, that's all", None, True)), source="test")
    datasets.add("big", [conv], source="test", catalog=catalog)
    router = Router(backend, create_strategy("constrained", settings.prompts_dir), CandidateStage(above=20, k=3))
    run = runs.execute(RunConfig("big"), router, catalog)
    done = runs.done(run)
    assert len(done) == 2 and all(len(d.candidates) in (3, 4) for d in done.values())
    first = done[next(k for k in done if k[1] == 0)]
    hit = "renew_passport" in first.candidates
    assert runs.get(run)["metrics"]["recall_at_k"] == (1.0 if hit else 0.0)
    assert set(first.scores) == set(first.candidates) | {"none"}  # only candidates are scored


def test_decisions_without_candidates_still_load_and_the_panel_shows_them():
    old = {"label": "a", "previous": None, "event": "start", "valid": True, "latency": 0.1,
           "strategy": "constrained", "model": "m", "scores": {"a": 1.0}, "raw": None}
    assert Decision.from_dict(old).candidates is None and shortlist(Decision.from_dict(old)) == ""
    new = Decision("a", None, Event.START, True, 0.1, "constrained", "m", candidates={"a": 0.5, "<b>": 0.25})
    assert Decision.from_dict(new.to_dict()) == new
    assert "`a` 0.50" in shortlist(new) and "<b>" not in shortlist(new)


def test_settings_and_the_factory_set_the_stage(settings, backend):
    env = Settings.from_env({"ROUTER_CANDIDATES_ABOVE": "50", "ROUTER_CANDIDATES_K": "5"})
    assert (env.candidates_above, env.candidates_k) == (50, 5)
    assert (Settings.from_env({}).candidates_above, Settings.from_env({}).candidates_k) == (20, 8)
    factory = RouterFactory(replace(settings, candidates_above=3, candidates_k=2))
    factory.backends[("local", None, None)] = backend  # the real model, loaded once for the tests
    router = factory.router()
    assert router.stage == CandidateStage(3, 2)
    catalog = catalog_of(5)
    first = router.decide(catalog, user(catalog.tasks[0].description), None, session="chat-1")
    assert factory.router("zero_shot").shortlists["chat-1"] == first.candidates  # the next message's router
    router.forget("chat-1")


def test_a_1000_task_catalog_routes_one_decision_in_bounded_time(settings, backend):
    tasks = distractor_tasks(960) + [b.task for b in load_bank().tasks][:40]
    catalog = Catalog(tasks)
    router = Router(backend, create_strategy("constrained", settings.prompts_dir))
    turns = user("Hi, I need to book a dentist appointment for next Tuesday")
    start = time.perf_counter()
    decision = router.decide(catalog, turns, None, session="big")
    assert time.perf_counter() - start < 60  # generous: the figure is bench/catalog_scale.py's
    assert len(catalog) == 1000 and len(decision.candidates) == 8 and "book_dentist_visit" in decision.candidates
    assert backend.last_read < 600  # the prompt holds the candidates, not the catalog
    router.forget("big")
    assert "big" not in router.shortlists

