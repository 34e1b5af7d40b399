"""Shared fixtures: a real SQLite file per test, the real embedded model once per session."""
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.db import DatabaseFile  # noqa: E402
from data.tasks import TaskStore  # noqa: E402
from router.catalog import Catalog, Info, Task  # noqa: E402
from router.settings import Settings  # noqa: E402


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings with a fresh database and data folder, the shared model cache."""
    return Settings.from_env({**os.environ, "ROUTER_DATA_DIR": str(tmp_path / "var"),
                              "ROUTER_DB": str(tmp_path / "var" / "test.db")})


@pytest.fixture
def services(settings):
    """The app's services (stores, routers) on a fresh database, built as app.py builds them."""
    from services import Services

    return Services.build(settings)


@pytest.fixture
def cli(settings, capsys, monkeypatch):
    """The command line run in this process on the test's database: cli(*args) -> (status, stdout, stderr)."""
    from cli import main

    monkeypatch.setenv("ROUTER_DATA_DIR", str(settings.data_dir))

    def run(*args: str) -> tuple[int, str, str]:
        status = main(["--db", str(settings.db_path), *args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err
    return run


@pytest.fixture
def store(settings) -> TaskStore:
    """A task store on a real SQLite file."""
    return TaskStore(DatabaseFile(settings.db_path))


@pytest.fixture(scope="session")
def shipped():
    """The default router: the embedded model with the shipped adapter, constrained_lexical, loaded once."""
    from router.embedded import SHIPPED_ADAPTER
    from router.services import RouterFactory
    from router.strategies import DEFAULT_STRATEGY

    return RouterFactory(Settings.from_env()).router(DEFAULT_STRATEGY, "local", None, str(SHIPPED_ADAPTER))


@pytest.fixture(scope="session")
def backend():
    """The real embedded model, loaded once."""
    from router.backends import create_backend

    return create_backend("local", settings=Settings.from_env())


@pytest.fixture
def small_catalog() -> Catalog:
    """Three tasks written for the tests."""
    return Catalog([
        Task("meeting_minutes", "The user needs help to write the minutes of a meeting",
             "Ask who attended, then write the minutes.", (Info("attendees", "Who attended"),)),
        Task("follow_up_email", "The user wants to write a follow-up email after a meeting"),
        Task("linkedin_post", "The user wants to write a post for LinkedIn"),
    ])


def free_port() -> int:
    """A TCP port nobody listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_process(data_dir: Path, env: dict | None = None):
    """app.py started as a real subprocess on a free port of 127.0.0.1; yields its URL.

    Its output goes to `data_dir`/../app.log.
    """
    import subprocess
    import time
    import urllib.request

    port = free_port()
    env = {**os.environ, "ROUTER_DATA_DIR": str(data_dir), "ROUTER_DB": str(data_dir / "test.db"),
           "ROUTER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    log_path = data_dir.parent / "app.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            assert proc.poll() is None, log_path.read_text()
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("the app did not start in 120 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture
def running_app(settings):
    """app.py started as a real subprocess on 127.0.0.1 on the test's database; yields its URL."""
    with app_process(settings.data_dir, {"ROUTER_DB": str(settings.db_path)}) as url:
        yield url


def refusal(call, *args, api_name: str) -> str:
    """What the app answers a refused input with through its API: the ⚠ note beside the control
    (the endpoint's first output), or the error gradio_client raises for Gradio's own checks."""
    try:
        out = call(*args, api_name=api_name)
    except Exception as e:  # gradio_client raises a plain Exception for what Gradio itself refuses
        return str(e)
    note = str(out[0] if isinstance(out, (list, tuple)) else out)
    assert note.startswith("⚠"), f"{api_name} was not refused: {out!r}"
    return note


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (item.rep_setup, rep_call) for failure artifacts."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
