"""Hardening checked on the real app (a subprocess on 127.0.0.1 with sign-in): split, export names,
import errors without the upload folder, the catalog limit."""
import json
import os
import tempfile
import time
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from data.annotations import AnnotationStore
from data.db import DatabaseFile
from data.samples import import_demo
from data.tasks import TaskStore
from tests.conftest import app_process, refusal

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


def test_export_names_cannot_leave_the_exports_folder(app, client, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    relative = os.path.relpath(outside, Path(tempfile.gettempdir()) / "validated-x") + "/y"
    for name in (str(outside / "x"), relative, "../x", ".hidden", "a/b", "<img src=x>", "x" * 65):
        assert "must be 1 to 64 letters" in refusal(client.predict, "demo", name, api_name="/export_validated")
    assert not list(outside.iterdir()) and not (app[1].parent / "x.jsonl").exists()
    note, exported = client.predict("demo", "demo-v1.0", api_name="/export_validated")
    exported = Path(exported)
    assert (app[1] / "exports" / "demo-v1.0.jsonl").read_text() == exported.read_text()
    assert exported.read_text().count("\n") == 1


def test_import_errors_in_the_page_name_the_file_not_the_upload_folder(client, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "turns": [{"role": "user", "content": "hi"}]}\n'
                    '{"id": "b", "source": 5, "turns": [{"role": "user", "content": "hi"}]}\n')
    message = refusal(client.predict, handle_file(str(path)), "bad", api_name="/import_jsonl")
    assert "bad.jsonl, line 2, field 'source': source must be a string" in message
    assert "/tmp" not in message and "gradio" not in message.lower()


def test_a_2000_task_catalog_is_refused_at_once_naming_the_limit(app, client, tmp_path):
    path = tmp_path / "huge.json"
    path.write_text(json.dumps([{"name": f"task_{k}", "description": f"Task {k}"} for k in range(2000)]))
    before = TaskStore(DatabaseFile(app[1] / "test.db")).catalog()
    started = time.time()
    assert "2000 tasks, over the limit of 1000 tasks a catalog may hold" in refusal(
        client.predict, [handle_file(str(path))], True, api_name="/import_catalog")
    assert time.time() - started < 30
    assert TaskStore(DatabaseFile(app[1] / "test.db")).catalog() == before
