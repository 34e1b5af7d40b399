"""Sign-in for the whole app, checked on the real app started as a subprocess."""
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client


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
