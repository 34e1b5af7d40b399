"""Evaluation runs against served models: concurrency, a killed run resumed, retries, failed turns, tokens.

The served model is a stand-in OpenAI-compatible server on 127.0.0.1 (tests/routing_standin.py):
a real HTTP server answering routing requests, for the served models that cannot run here.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.runs import RunStore
from router.backends import create_backend
from router.backends.retry import RetryPolicy, retry_after
from router.catalog import Catalog, Task
from router.conversation import Conversation, Turn
from router.evaluation import RunConfig
from router.prices import Price, PriceError, load_prices, priced
from router.routing import Router
from router.settings import Settings
from router.strategies import create_strategy
from tests.conftest import ROOT
from tests.routing_standin import BusyServer, routing_reply
from tests.standin import StandIn

CATALOG = Catalog([Task("meeting_minutes", "Write the minutes of a meeting"),
                   Task("linkedin_post", "Write a post for LinkedIn"),
                   Task("follow_up_email", "Write a follow-up email")])
MARK = re.compile(r"msg-(\d+)-(\d+)")


def conversations(count: int, turns: int) -> list[Conversation]:
    """Conversations whose user messages name themselves (msg-<conversation>-<turn>)."""
    names = CATALOG.names + [None]
    return [Conversation(f"c{i}", tuple(
        t for k in range(turns) for t in (
            Turn("user", f"msg-{i}-{k} please help", names[(i + k) % 4], labelled=True),
            Turn("assistant", "Sure."))), source="test") for i in range(count)]


def asked(body: dict) -> tuple[int, int]:
    """Which turn a routing request decides: the last message mark in its prompt."""
    return tuple(int(x) for x in MARK.findall(json.dumps(body["messages"]))[-1])


def env_for(url: str, **extra) -> dict:
    return {"ROUTER_OPENAI_BASE_URL": url, "ROUTER_BACKEND_TIMEOUT": "10", **extra}


def router(url: str, **extra) -> Router:
    settings = Settings.from_env({**os.environ, **env_for(url, **extra)})
    return Router(create_backend("openai", model="standin", settings=settings),
                  create_strategy("constrained", settings.prompts_dir))


@pytest.fixture
def stores(settings):
    file = DatabaseFile(settings.db_path)
    datasets = DatasetStore(file)
    return datasets, RunStore(file, datasets, stale_after=1)


def test_killed_run_at_concurrency_8_resumes_and_routes_each_turn_once(stores, settings):
    datasets, runs = stores
    datasets.add("many", conversations(16, 4), source="test", catalog=CATALOG)
    total = 16 * 4
    busy = BusyServer(latency_s=0.15)
    with busy.start() as server:
        env = {**os.environ, **env_for(server.url), "ROUTER_DB": str(settings.db_path)}
        proc = subprocess.Popen([sys.executable, "cli.py", "eval", "--dataset", "many",
                                 "--backend", "openai", "--model", "standin", "--concurrency", "8",
                                 "--strategy", "constrained"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 120
        while len(runs.predictions(1) if runs.listing() else []) < 12:
            assert proc.poll() is None and time.time() < deadline, proc.stderr.read().decode()
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        before = {(p["conversation_id"], p["position"]) for p in runs.predictions(1)}
        sent_before = len(server.requests)
        assert 12 <= len(before) < total
        assert sent_before <= len(before) + 8, "no more than 8 requests in flight when killed"
        time.sleep(1.5)   # the run's heartbeat goes stale: it reads as interrupted
        assert runs.get(1)["status"] == "interrupted"

        config = RunConfig("many", "constrained", "openai", "standin")
        assert runs.execute(config, router(server.url), CATALOG, concurrency=8) == 1
    after = runs.predictions(1)
    assert len(after) == total and len({(p["conversation_id"], p["position"]) for p in after}) == total
    again = [asked(body) for _, _, body, _ in server.requests[sent_before:]]
    assert len(again) == total - len(before), "each turn left is routed exactly once on resume"
    stored_marks = {(int(p["ext_id"][1:]), p["position"] // 2) for p in runs.predictions(1)
                    if (p["conversation_id"], p["position"]) in before}
    assert not stored_marks & set(again), "no stored turn is routed again"
    assert runs.get(1)["status"] == "done" and runs.get(1)["metrics"]["turns"] == total


def test_free_protocol_stays_in_order_within_a_conversation_and_gold_is_identical_at_any_concurrency(
        stores):
    datasets, runs = stores
    datasets.add("few", conversations(6, 3), source="test", catalog=CATALOG)
    with BusyServer(latency_s=0.05).start() as server:
        runs.execute(RunConfig("few", "constrained", "openai", "standin", protocol="free"),
                     router(server.url), CATALOG, concurrency=6)
        order = {}
        for _, _, body, _ in server.requests:
            conv, turn = asked(body)
            order.setdefault(conv, []).append(turn)
        assert all(turns == sorted(turns) for turns in order.values())
        labels = []
        for level in (1, 8):
            run = runs.execute(RunConfig("few", "constrained", "openai", "standin", protocol="gold"),
                               router(server.url), CATALOG, fresh=True, concurrency=level)
            labels.append(runs.labels(run))
    assert labels[0] == labels[1] and len(labels[0]) == 18


def test_retry_after_is_honoured_and_retries_are_counted():
    times, statuses = [], iter([429, 503, 200])

    def answer(method, path, body):
        times.append(time.monotonic())
        status = next(statuses)
        if status == 429:
            return 429, {"error": {"message": "slow down"}}, {"Retry-After": "1"}
        if status == 503:
            return 503, {"error": {"message": "overloaded"}}
        return 200, routing_reply(body)

    with StandIn(answer) as server:
        d = router(server.url).attempt(CATALOG, [Turn("user", "msg-0-0 minutes")], None)
    assert not d.failed and d.retries == 2
    assert times[1] - times[0] >= 1.0, "the Retry-After of the 429 is honoured"
    assert 0.95 <= times[2] - times[1] < 1.8, "the 503 without Retry-After waits the doubled backoff (1 s)"


def test_retry_after_reads_seconds_and_dates_and_waits_are_capped():
    assert retry_after({"retry-after": "2.5"}) == 2.5
    assert 55 < retry_after({"retry-after": time.strftime(
        "%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))}) <= 60
    assert retry_after({}) is None and retry_after({"retry-after": "soon"}) is None
    policy = RetryPolicy(tries=4, base_s=0.5, cap_s=3)
    assert [policy.wait(a, None) for a in range(4)] == [0.5, 1.0, 2.0, 3]
    assert policy.wait(0, 120) == 3


def test_failed_turns_are_counted_not_scored_and_run_again_alone(stores):
    datasets, runs = stores
    datasets.add("some", conversations(3, 2), source="test", catalog=CATALOG)
    broken = {(1, 1)}

    def answer(method, path, body):
        if asked(body) in broken:
            return 500, {"error": {"message": "model crashed"}}
        return 200, routing_reply(body)

    config = RunConfig("some", "constrained", "openai", "standin", protocol="gold")
    with StandIn(answer) as server:
        run = runs.execute(config, router(server.url, ROUTER_BACKEND_TRIES="2"), CATALOG, concurrency=4)
        metrics = runs.get(run)["metrics"]
        assert runs.get(run)["status"] == "done"
        assert metrics["failed"] == 1 and metrics["turns"] == 5 and metrics["retries"] == 1
        failed = [p for p in runs.predictions(run) if p["error"]]
        assert len(failed) == 1 and "model crashed" in failed[0]["error"]
        assert len(server.requests) == 5 + 2, "two tries of the broken turn"

        broken.clear()
        assert runs.unfinished(config) == run
        assert runs.execute(config, router(server.url), CATALOG) == run
        assert [asked(b) for _, _, b, _ in server.requests[7:]] == [(1, 1)], "only the failed turn"
    metrics = runs.get(run)["metrics"]
    assert metrics["failed"] == 0 and metrics["turns"] == 6
    assert runs.unfinished(config) is None


def test_tokens_per_decision_and_cost_per_1000(stores, tmp_path):
    datasets, runs = stores
    datasets.add("two", conversations(2, 2), source="test", catalog=CATALOG)
    with StandIn(lambda m, p, b: (200, routing_reply(b))) as server:
        run = runs.execute(RunConfig("two", "constrained", "openai", "standin"), router(server.url),
                           CATALOG)
    rows = runs.predictions(run)
    assert all(r["completion_tokens"] == 6 and r["prompt_tokens"] > 50 for r in rows)
    metrics = runs.get(run)["metrics"]
    assert metrics["tokens"]["prompt"] == sum(r["prompt_tokens"] for r in rows) / 4
    assert metrics["tokens"]["per_decision"] == metrics["tokens"]["prompt"] + 6
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"standin": {"input": 2.0, "output": 8.0}}))
    assert load_prices(prices) == {"standin": Price(2.0, 8.0)}
    cost = priced(metrics, "standin", load_prices(prices))["cost_per_1k"]
    assert cost == pytest.approx(1000 * (metrics["tokens"]["prompt"] * 2 + 6 * 8) / 1e6)
    assert "cost_per_1k" not in priced(metrics, "other", load_prices(prices))
    prices.write_text(json.dumps({"standin": {"input": "cheap", "output": 8}}))
    with pytest.raises(PriceError, match="prices.json.*field 'standin.input'"):
        load_prices(prices)


def test_local_backend_counts_its_tokens(backend, settings):
    d = Router(backend, create_strategy("zero_shot", settings.prompts_dir)).decide(
        CATALOG, [Turn("user", "Help me with the minutes")], None)
    assert d.prompt_tokens > 50 and 0 < d.completion_tokens <= 16


def test_constrained_falls_back_from_json_schema_to_json_object_and_remembers():
    """A stand-in answering like llama-cpp-python's server: json_schema refused with a 500."""
    def answer(method, path, body):
        if body.get("response_format", {}).get("type") == "json_schema":
            return 500, {"error": {"message": "response_format.type: Input should be 'text' or "
                                              "'json_object'", "code": 500}}
        return 200, routing_reply(body)

    with StandIn(answer) as server:
        routing = router(server.url)
        first = routing.decide(CATALOG, [Turn("user", "msg-0-0 minutes")], None)
        second = router(server.url).decide(CATALOG, [Turn("user", "msg-0-1 post")], None)
    kinds = [body.get("response_format", {}).get("type") for _, _, body, _ in server.requests]
    assert kinds == ["json_schema", "json_object", "json_object"], "remembered per server and model"
    assert first.constraint == second.constraint == "json_object" and first.valid and first.raw is None


def test_the_metric_matrix_shows_failed_turns_tokens_and_cost_beside_latency():
    from router.comparison import matrix
    from router.metrics import Judged, report

    turns = [Judged("c", 0, "s", "meeting_minutes", None, "meeting_minutes", prompt_tokens=100,
                    completion_tokens=10)]
    cheap = priced(report(turns, failed=2), "a", {"a": Price(1.0, 2.0)})
    unpriced = report(turns)
    headers, rows = matrix([("a", cheap), ("b", unpriced)])
    column = {h: k for k, h in enumerate(headers)}
    assert headers.index("cost_1k") > headers.index("p95_s") and "tokens" in headers
    assert rows[0][column["failed"]] == "2" and rows[1][column["failed"]] == "0 ★"
    assert rows[0][column["tokens"]] == rows[1][column["tokens"]] == "110.000"  # a tie marks neither
    assert rows[0][column["cost_1k"]] == f"{1000 * (100 * 1.0 + 10 * 2.0) / 1e6:.3f} ★"
    assert rows[1][column["cost_1k"]] == rows[2][column["cost_1k"]] == "–"  # unpriced; the baseline pays none


def test_cli_eval_says_how_many_requests_were_retried_and_turns_failed(stores, settings, monkeypatch,
                                                                         capsys):
    from cli import main

    datasets, _ = stores
    datasets.add("cli", conversations(2, 2), source="test", catalog=CATALOG)
    calls = []

    def answer(method, path, body):
        calls.append(asked(body))
        if asked(body) == (1, 1):
            return 500, {"error": {"message": "crashed"}}
        if calls.count(asked(body)) == 1 and asked(body) == (0, 0):
            return 429, {"error": {"message": "slow down"}}, {"Retry-After": "0"}
        return 200, routing_reply(body)

    with StandIn(answer) as server:
        for name, value in env_for(server.url, ROUTER_BACKEND_TRIES="2").items():
            monkeypatch.setenv(name, value)
        assert main(["--db", str(settings.db_path), "eval", "--dataset", "cli", "--backend", "openai",
                     "--model", "standin", "--concurrency", "2", "--strategy", "constrained"]) == 0
    out = capsys.readouterr().out
    assert "2 request(s) tried again" in out and "1 turn(s) failed after 2 tries" in out
