"""The run queue: runs as rows of SQLite, worked off one at a time, surviving an app restart.

The served model is the stand-in OpenAI-compatible server on 127.0.0.1 (tests/routing_standin.py).
"""
import json
import os
import time


from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.run_queue import RunQueue, worker_alive
from data.runs import RunStore
from router.evaluation import RunConfig
from router.services import RouterFactory
from router.settings import Settings
from tests.conftest import app_process
from tests.routing_standin import BusyServer, routing_reply
from tests.standin import StandIn
from tests.test_served_eval import CATALOG, asked, conversations


def queue_on(settings, url: str, **env) -> RunQueue:
    file = DatabaseFile(settings.db_path)
    datasets = DatasetStore(file)
    routers = RouterFactory(Settings.from_env({**os.environ, "ROUTER_OPENAI_BASE_URL": url, **env}))
    return RunQueue(RunStore(file, datasets), routers, lambda: CATALOG)


def wait_for(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_queued_runs_go_one_after_another_with_their_progress(settings):
    with BusyServer(latency_s=0.02).start() as server:
        queue = queue_on(settings, server.url)
        queue.runs.datasets.add("few", conversations(3, 2), source="test", catalog=CATALOG)
        first = queue.submit(RunConfig("few", "constrained", "openai", "standin"), concurrency=3)
        second = queue.submit(RunConfig("few", "constrained", "openai", "standin", protocol="gold"))
        assert [r["status"] for r in queue.listing()] == ["queued", "queued"]
        assert queue.step() and queue.runs.get(first)["status"] == "done"
        assert queue.runs.get(second)["status"] == "queued"
        assert queue.step() and not queue.step()
    for run in (first, second):
        row = queue.runs.get(run)
        assert row["status"] == "done" and row["routed"] == row["total"] == 6
        assert row["metrics"]["turns"] == 6
    assert queue.runs.get(first)["concurrency"] == 3 and queue.runs.get(second)["concurrency"] == 16
    assert queue.runs.unfinished(RunConfig("few", "constrained", "openai", "standin")) is None


def test_a_run_that_cannot_start_is_left_interrupted_with_its_error(settings):
    queue = queue_on(settings, "http://127.0.0.1:9/v1")
    queue.runs.datasets.add("few", conversations(1, 1), source="test", catalog=CATALOG)
    run = queue.submit(RunConfig("few", "constrained", "openai", None))
    assert queue.step()
    row = queue.runs.get(run)
    assert row["status"] == "interrupted" and "needs a model name" in row["error"]
    assert not queue.step(), "it is not claimed again and again"


def test_queueing_a_run_with_failed_turns_again_routes_only_those(settings):
    broken = {(0, 1)}

    def answer(method, path, body):
        return (500, {"error": {"message": "crashed"}}) if asked(body) in broken else (200, routing_reply(body))

    with StandIn(answer) as server:
        queue = queue_on(settings, server.url, ROUTER_BACKEND_TRIES="1")
        queue.runs.datasets.add("few", conversations(2, 2), source="test", catalog=CATALOG)
        config = RunConfig("few", "constrained", "openai", "standin", protocol="gold")
        run = queue.submit(config)
        assert queue.step() and queue.runs.get(run)["metrics"]["failed"] == 1
        broken.clear()
        assert queue.submit(config) == run and queue.runs.get(run)["status"] == "queued"
        assert queue.step()
        assert [asked(b) for _, _, b, _ in server.requests[4:]] == [(0, 1)]
    assert queue.runs.get(run)["metrics"]["failed"] == 0 and queue.runs.get(run)["metrics"]["turns"] == 4


def test_worker_alive_knows_dead_processes():
    import socket

    assert worker_alive(f"{socket.gethostname()}:{os.getpid()}")
    assert not worker_alive(f"{socket.gethostname()}:999999999") and not worker_alive(None)
    assert worker_alive("another-host:1"), "another machine's worker is judged by its heartbeat"


def test_a_queued_run_survives_an_app_restart_and_routes_each_turn_once(settings):
    total = 10 * 3
    with BusyServer(latency_s=0.4).start() as server:
        queue = queue_on(settings, server.url)
        queue.runs.datasets.add("many", conversations(10, 3), source="test", catalog=CATALOG)
        run = queue.submit(RunConfig("many", "constrained", "openai", "standin"), concurrency=2)
        env = {"ROUTER_DB": str(settings.db_path), "ROUTER_OPENAI_BASE_URL": server.url,
               "ROUTER_USERS": "", "ROUTER_USERS_FILE": ""}
        with app_process(settings.data_dir, env):
            wait_for(lambda: len(queue.runs.predictions(run)) >= 4, 180, "a few routed turns")
        stored = {(p["ext_id"], p["position"]) for p in queue.runs.predictions(run)}
        sent = len(server.requests)
        assert len(stored) < total and queue.runs.get(run)["status"] != "done"
        with app_process(settings.data_dir, env):
            wait_for(lambda: queue.runs.get(run)["status"] == "done", 180, "the run to finish")
    after = queue.runs.predictions(run)
    assert len(after) == total
    again = [asked(body) for _, _, body, _ in server.requests[sent:]]
    assert len(again) == total - len(stored), "each turn left routed exactly once after the restart"
    assert not {(f"c{c}", 2 * k) for c, k in again} & stored
    assert json.loads(json.dumps(queue.runs.get(run)["metrics"]))["turns"] == total
