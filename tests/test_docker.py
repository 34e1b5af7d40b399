"""The Dockerfile and the compose files, read as files (no Docker engine runs here).

The wiring is checked: non-root user, data volume, health check, CPU torch, model converted at build
time; each compose file's app points at its GPU server by service name and port. The Dockerfile's
health check command itself is run against the real app started with sign-in.
"""
import re
import shlex
import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT, free_port

SERVERS = {"compose.yaml": ("tgi", "ROUTER_TGI_URL", "http://tgi:80", "TGI_MODEL"),
           "compose.vllm.yaml": ("vllm", "ROUTER_OPENAI_BASE_URL", "http://vllm:8000/v1", "VLLM_MODEL")}


def instructions(name: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines
            if not name or line.upper().startswith(name)]


def dockerfile_env() -> dict[str, str]:
    """The ENV settings of the Dockerfile."""
    return dict(pair.split("=", 1) for _, args in instructions("ENV") for pair in shlex.split(args))


def test_image_runs_as_a_user_with_data_in_a_volume_and_the_model_built_in():
    (_, base), = instructions("FROM")
    assert base == "python:3.11-slim"
    env = dockerfile_env()
    assert env["ROUTER_DATA_DIR"] == "/data" and instructions("VOLUME") == [("VOLUME", '["/data"]')]
    assert env["HF_HUB_OFFLINE"] == "1" and env["ROUTER_HOST"] == "0.0.0.0"
    ops = instructions("")
    users = [(k, args) for k, (op, args) in enumerate(ops) if op == "USER"]
    assert users and users[-1][1] not in ("root", "0")
    setup = next(k for k, (op, args) in enumerate(ops) if op == "RUN" and "bash scripts/setup.sh" in args)
    assert setup < users[-1][0], "the model is converted at build time, before dropping root"
    torch = next(args for op, args in ops[:setup] if op == "RUN" and "download.pytorch.org/whl/cpu" in args)
    assert "grep '^torch==' requirements.txt" in torch, "the CPU torch has the pinned version"
    assert instructions("CMD") == [("CMD", '["python", "app.py"]')]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"var/", "users.txt", ".git"} <= set(ignored), "no database or passwords in the image"


@pytest.mark.parametrize("file", sorted(SERVERS))
def test_compose_points_the_app_at_its_gpu_server(file):
    server, variable, url, model_variable = SERVERS[file]
    doc = yaml.safe_load((ROOT / file).read_text())
    app, gpu = doc["services"]["app"], doc["services"][server]
    assert app["build"] == "." and app["environment"][variable] == url
    assert app["depends_on"][server]["condition"] == "service_healthy" and gpu["healthcheck"]["test"]
    port = url.split(":")[2].split("/")[0]
    assert any(port in part for part in gpu["healthcheck"]["test"]), "the health check asks the served port"
    assert f"${{{model_variable}:-" in " ".join(gpu["command"]), "the model id is a variable"
    [device] = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    data_dir = dockerfile_env()["ROUTER_DATA_DIR"]
    [volume] = [v for v in app["volumes"] if v.endswith(f":{data_dir}")]
    assert volume.split(":")[0] in doc["volumes"], "the database lives in a named volume"
    secret = app["environment"]["ROUTER_USERS_FILE"]
    assert secret == f"/run/secrets/{app['secrets'][0]}" and app["secrets"][0] in doc["secrets"], \
        "users are configured, so the app listens beyond 127.0.0.1 inside the container"
    [published] = app["ports"]
    assert published.endswith(f":{dockerfile_env()['ROUTER_PORT']}")


def test_healthcheck_command_answers_on_the_running_app(monkeypatch, request):
    monkeypatch.setenv("ROUTER_USERS", "ana:pw1")
    url = request.getfixturevalue("running_app")
    (_, healthcheck), = instructions("HEALTHCHECK")
    command = shlex.split(healthcheck.split(" CMD ", 1)[1])
    assert command[0] == "python"
    port = url.rstrip("/").rsplit(":", 1)[1]
    env = {"ROUTER_PORT": port, "PATH": "/usr/bin:/bin"}
    assert subprocess.run([sys.executable, *command[1:]], env=env, timeout=30).returncode == 0
    env["ROUTER_PORT"] = str(free_port())
    assert subprocess.run([sys.executable, *command[1:]], env=env, timeout=30,
                          capture_output=True).returncode != 0


def test_every_router_variable_the_files_set_is_read_by_the_app():
    """A misspelt or stale ROUTER_* setting in the Dockerfile or a compose file would be silently ignored."""
    code = "\n".join(p.read_text() for folder in ("router", "ui", "data")
                     for p in (ROOT / folder).rglob("*.py")) + (ROOT / "app.py").read_text()
    read = set(re.findall(r"ROUTER_[A-Z_]+", code))
    set_by_files = {name for name in dockerfile_env() if name.startswith("ROUTER_")}
    for file in SERVERS:
        environment = yaml.safe_load((ROOT / file).read_text())["services"]["app"]["environment"]
        set_by_files |= {name for name in environment if name.startswith("ROUTER_")}
    assert set_by_files and set_by_files <= read, sorted(set_by_files - read)
