"""Catalog and dataset files are checked (type, size, binary) before parsing and refused whole."""
import json

import httpx
import pytest
from gradio_client import Client, handle_file

from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.tasks import TaskStore
from router.uploads import CATALOG_TYPES, DATASET_TYPES, UploadError, check_upload
from tests.conftest import refusal

CONV = {"id": "c1", "turns": [{"role": "user", "content": "Write the minutes", "task": "meeting_minutes"}]}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


@pytest.fixture
def files(tmp_path):
    """A good and a bad file of every kind the imports see."""
    made = {"good.json": json.dumps({"tasks": [{"name": "press_release", "description": "A press release"}]}),
            "good.jsonl": json.dumps(CONV) + "\n",
            "bad_line.jsonl": json.dumps(CONV) + "\n{not json\n",
            "catalog.txt": "{}", "dataset.json": json.dumps(CONV) + "\n",
            "big.jsonl": (json.dumps(CONV) + "\n") * 20000}
    for name, text in made.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "image.json").write_bytes(PNG)
    (tmp_path / "image.jsonl").write_bytes(PNG)
    return tmp_path


def test_check_upload_refuses_type_size_and_binary_naming_the_file(files):
    assert check_upload(files / "good.json", CATALOG_TYPES, 1) == files / "good.json"
    assert check_upload(files / "good.jsonl", DATASET_TYPES, 1) == files / "good.jsonl"
    with pytest.raises(UploadError, match=r"^catalog.txt: expected a .json file"):
        check_upload(files / "catalog.txt", CATALOG_TYPES, 1)
    with pytest.raises(UploadError, match=r"^dataset.json: expected a .jsonl file"):
        check_upload(files / "dataset.json", DATASET_TYPES, 1)
    with pytest.raises(UploadError, match=r"^big.jsonl: 1.\d MB is over the 1 MB limit \(ROUTER_MAX_UPLOAD_MB\)"):
        check_upload(files / "big.jsonl", DATASET_TYPES, 1)
    with pytest.raises(UploadError, match=r"^image.json: binary content"):
        check_upload(files / "image.json", CATALOG_TYPES, 1)
    with pytest.raises(UploadError, match="cannot read"):
        check_upload(files / "missing.json", CATALOG_TYPES, 1)


def test_cli_refuses_bad_files_whole(settings, files, cli, monkeypatch):
    monkeypatch.setenv("ROUTER_MAX_UPLOAD_MB", "1")

    refused = {("tasks", "import", str(files / "catalog.txt")): "catalog.txt: expected a .json file",
               ("tasks", "import", str(files / "image.json")): "image.json: binary content",
               ("datasets", "import", str(files / "big.jsonl"), "--name", "d"): "over the 1 MB limit",
               ("datasets", "import", str(files / "image.jsonl"), "--name", "d"): "binary content",
               ("datasets", "import", str(files / "dataset.json"), "--name", "d"): "expected a .jsonl",
               ("datasets", "import", str(files / "bad_line.jsonl"), "--name", "d"):
                   "bad_line.jsonl, line 2: not valid JSON"}
    for args, message in refused.items():
        status, _, err = cli(*args)
        assert status == 2 and message in err, (args, err)
    file = DatabaseFile(settings.db_path)
    assert DatasetStore(file).names() == [] and "press_release" not in TaskStore(file).catalog()
    assert cli("datasets", "import", str(files / "good.jsonl"), "--name", "d")[0] == 0
    assert DatasetStore(file).names() == ["d"]


@pytest.fixture
def one_mb(monkeypatch):
    """A 1 MB upload limit for the app started after it."""
    monkeypatch.setenv("ROUTER_MAX_UPLOAD_MB", "1")


def test_page_imports_refuse_bad_files_whole(one_mb, running_app, settings, files):
    """Gradio's checks stop a wrong extension (file_types) and a file over launch's max_file_size
    (gradio_client reads it from the app's config); ours stop binary content and bad lines."""
    client = Client(running_app, verbose=False)
    file = DatabaseFile(settings.db_path)
    before = TaskStore(file).catalog()
    assert "image.json: binary content" in refusal(
        client.predict, [handle_file(str(files / "image.json"))], False, api_name="/import_catalog")
    assert "Invalid file type" in refusal(
        client.predict, [handle_file(str(files / "catalog.txt"))], False, api_name="/import_catalog")
    assert TaskStore(file).catalog() == before
    assert "image.jsonl: binary content" in refusal(
        client.predict, handle_file(str(files / "image.jsonl")), "d", api_name="/import_jsonl")
    assert "bad_line.jsonl, line 2: not valid JSON" in refusal(
        client.predict, handle_file(str(files / "bad_line.jsonl")), "d", api_name="/import_jsonl")
    assert "exceeds the maximum file size" in refusal(
        client.predict, handle_file(str(files / "big.jsonl")), "d", api_name="/import_jsonl")
    with open(files / "big.jsonl", "rb") as big:   # the server refuses it too, not only the client
        answer = httpx.post(running_app + "gradio_api/upload", files={"files": big}, timeout=60)
    assert answer.status_code == 413 and "maximum allowed size" in answer.text
    assert DatasetStore(file).names() == []
    client.predict([handle_file(str(files / "good.json"))], False, api_name="/import_catalog")
    assert "press_release" in TaskStore(file).catalog()
