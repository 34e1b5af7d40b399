"""Hardening checked on the real app (a subprocess on 127.0.0.1 with sign-in): split, export names."""
import os
import tempfile
from pathlib import Path

import pytest
from gradio_client import Client

from data.annotations import AnnotationStore
from data.db import DatabaseFile
from data.samples import import_demo
from tests.conftest import app_process

USERS = "ana:pw1,bo:pw2,cy:pw3"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app with three users and the demo dataset, one conversation validated; yields (url, data dir)."""
    data_dir = tmp_path_factory.mktemp("hardening") / "var"
    data_dir.mkdir()
    with app_process(data_dir, {"ROUTER_USERS": USERS, "ROUTER_USERS_FILE": ""}) as url:
        store = AnnotationStore(DatabaseFile(data_dir / "test.db"))
        import_demo(store.datasets, "demo")
        first = store.datasets.conversation_ids("demo")[0]
        store.confirm(first, {k: t.task for k, t in enumerate(store.suggestion(first).turns)
                              if t.role == "user"}, "ana")
        yield url, data_dir


@pytest.fixture(scope="module")
def client(app):
    """A client signed in as ana."""
    return Client(app[0], verbose=False, auth=("ana", "pw1"))


def test_split_the_chosen_dataset_assigns_and_says_so(app, client):
    text = client.predict("demo", "ana, bo", 0.2, api_name="/assign")
    assert text.startswith("Assigned: ana ") and ", bo " in text
    assigned = AnnotationStore(DatabaseFile(app[1] / "test.db")).db["assignments"].count
    assert assigned == 45 + round(0.2 * 45)

