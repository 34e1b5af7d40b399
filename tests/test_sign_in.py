"""Sign-in for the whole app, checked on the real app started as a subprocess."""
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from tests.conftest import ROOT
from ui.throttle import LOCK_S, MAX_DELAY_S, Throttle


def listening_addresses(port: int) -> set[str]:
    """The IPv4 addresses a local socket listens on at `port`, read from /proc/net/tcp."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(".".join(str(int(address[k:k + 2], 16)) for k in (6, 4, 2, 0)))
    return found


def port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def test_with_users_every_call_needs_sign_in(monkeypatch, settings, request):
    monkeypatch.setenv("ROUTER_USERS", "ana:pw1,bo:pw2")
    monkeypatch.setenv("ROUTER_HOST", "0.0.0.0")
    monkeypatch.delenv("ROUTER_USERS_FILE", raising=False)
    url = request.getfixturevalue("running_app")
    assert listening_addresses(port_of(url)) == {"0.0.0.0"}, "with sign-in ROUTER_HOST is honoured"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url + "gradio_api/info", timeout=10)
    assert refused.value.code == 401
    with pytest.raises(Exception):
        Client(url, verbose=False)
    with pytest.raises(Exception):
        Client(url, verbose=False, auth=("ana", "wrong"))
    client = Client(url, verbose=False, auth=("bo", "pw2"))
    assert "choices" in client.predict(api_name="/refresh_datasets")
    assert "sign-in: on, 2 users" in (settings.data_dir.parent / "app.log").read_text()


def test_without_users_the_app_listens_on_127_0_0_1_only(monkeypatch, settings, request):
    monkeypatch.delenv("ROUTER_USERS", raising=False)
    monkeypatch.delenv("ROUTER_USERS_FILE", raising=False)
    monkeypatch.setenv("ROUTER_HOST", "0.0.0.0")
    url = request.getfixturevalue("running_app")
    assert listening_addresses(port_of(url)) == {"127.0.0.1"}
    log = (settings.data_dir.parent / "app.log").read_text()
    assert "listening on 127.0.0.1 only (ROUTER_HOST=0.0.0.0 ignored)" in log
    info = json.loads(urllib.request.urlopen(url + "gradio_api/info", timeout=10).read())
    assert "/save_task" in info["named_endpoints"]


SECRET_USERS = "annika:pw-annika-1,bodil:pw-bodil-2"
SECRET_DATASET = "zq-secret-set"


@pytest.fixture
def secret_app(monkeypatch, settings, small_catalog, request):
    """The app with sign-in, a dataset and the default catalog already in its database."""
    from data.datasets import DatasetStore
    from data.db import DatabaseFile
    from router.conversation import Conversation, Turn

    monkeypatch.setenv("ROUTER_USERS", SECRET_USERS)
    monkeypatch.delenv("ROUTER_USERS_FILE", raising=False)
    DatasetStore(DatabaseFile(settings.db_path)).add(SECRET_DATASET, [Conversation(
        "c1", (Turn("user", "Minutes please", "meeting_minutes", True),))], catalog=small_catalog)
    return request.getfixturevalue("running_app")


def test_nothing_served_before_sign_in_names_a_user_dataset_or_task(secret_app, settings):
    from data.db import DatabaseFile
    from data.tasks import TaskStore

    names = ["annika", "bodil", SECRET_DATASET, *TaskStore(DatabaseFile(settings.db_path)).catalog().names]
    for path in ("", "?view=api", "gradio_api/runs", "config", "gradio_api/info"):
        with httpx.Client(timeout=30) as anonymous:
            page = anonymous.get(secret_app + path).text
        assert not [n for n in names if n in page], f"/{path} names {[n for n in names if n in page]}"
    client = Client(secret_app, verbose=False, auth=("annika", "pw-annika-1"))
    assert SECRET_DATASET in str(client.predict(api_name="/refresh_datasets"))  # after sign-in: there


def test_sign_out_in_the_page_ends_the_session(secret_app):
    with httpx.Client(base_url=secret_app, timeout=30) as browser:
        assert browser.post("login", data={"username": "bodil", "password": "pw-bodil-2"}).status_code == 200
        config = browser.get("config").json()
        [button] = [c for c in config["components"] if c["props"].get("elem_id") == "sign-out"]
        assert button["props"]["link"] == "logout" and button["props"]["value"] == "Sign out"
        assert browser.get("gradio_api/info").status_code == 200
        assert browser.get("logout").status_code == 302
        assert browser.get("gradio_api/info").status_code == 401


def test_failed_sign_ins_are_throttled_per_name_and_address_and_logged(secret_app, settings):
    wrong = [f"guess-{k}" for k in range(30)]
    with httpx.Client(base_url=secret_app, timeout=30) as attacker:
        answers = [attacker.post("login", data={"username": "annika", "password": p}) for p in wrong]
        right = attacker.post("login", data={"username": "annika", "password": "pw-annika-1"})
        other = attacker.post("login", data={"username": "bodil", "password": "pw-bodil-2"})
    codes = [a.status_code for a in answers]
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}, codes
    assert int(answers[-1].headers["retry-after"]) >= 1 and "try again in" in answers[-1].text
    assert right.status_code == 429 and other.status_code == 429, "refused while throttled, right or not"
    log = (settings.data_dir.parent / "app.log").read_text()
    assert log.count("sign-in failed: user 'annika' from 127.0.0.1") == 5
    assert "sign-in refused (throttled" in log and not any(p in log for p in [*wrong, "pw-annika-1"])


@pytest.mark.parametrize("env, message", [
    ({"ROUTER_USERS": " , "}, "ROUTER_USERS: names no user"),
    ({"ROUTER_USERS": "ana:pw1,"}, "ROUTER_USERS, field 'entry 2': expected user:password"),
    ({"ROUTER_USERS_FILE": "{users}"}, "users.txt: names no user"),
])
def test_a_malformed_users_setting_refuses_to_start(tmp_path, env, message):
    (tmp_path / "users.txt").write_text("# nobody yet\n\n")
    env = {k: v.format(users=tmp_path / "users.txt") for k, v in env.items()}
    result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "ROUTER_USERS": "", "ROUTER_USERS_FILE": "",
                                 "ROUTER_DATA_DIR": str(tmp_path / "var"), **env})
    assert result.returncode == 1 and message in result.stderr and "does not start" in result.stderr
    assert "Traceback" not in result.stderr and "listening" not in result.stdout


def test_throttle_delays_after_5_failures_and_locks_after_20():
    throttle, keys = Throttle(), ["user:ana", "address:10.0.0.7"]
    for k in range(5):
        assert throttle.wait(keys, 100.0) == 0
        throttle.failed(keys, 100.0)
    assert throttle.wait(keys, 100.0) == 2 and throttle.wait(keys, 102.0) == 0
    assert throttle.wait(["user:bo", "address:10.0.0.7"], 100.0) == 2, "the address waits for any name"
    throttle.failed(keys, 102.0)
    assert throttle.wait(keys, 102.0) == 4
    for k in range(14):
        throttle.failed(keys, 200.0)
    assert throttle.wait(keys, 200.0) == LOCK_S
    throttle.succeeded(*keys)  # clears the name, takes back one failure of the address
    assert throttle.wait(["user:ana"], 201.0) == 0 and throttle.wait(keys, 201.0) == MAX_DELAY_S - 1
    assert throttle.wait(keys, 200.0 + LOCK_S + 1) == 0, "failures are forgotten after 15 minutes"
