"""What an OpenAI-compatible server supports for routing: schema, json_object, logprobs, usage.

    python bench/server_compat.py --llama-cpp            # llama-cpp-python's server on the embedded GGUF
    python bench/server_compat.py --transformers-serve   # transformers serve on the embedded model
    python bench/server_compat.py --url URL --model M    # any server (ROUTER_OPENAI_API_KEY if it checks keys)

Each probe asks for a routing answer {"task": label} and prints one row of the README's table:
whether the server honours, ignores or refuses a json_schema response_format and a json_object
one carrying the schema, returns token log-probabilities and top alternatives, and reports usage;
then the path the openai backend's constrained strategy settles on.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openai  # noqa: E402

from router.backends import create_backend  # noqa: E402
from router.backends.openai import response_format  # noqa: E402
from router.catalog import Catalog, Task  # noqa: E402
from router.conversation import Turn  # noqa: E402
from router.embedded import GGUF_NAME, embedded_model_dir, gguf_dir  # noqa: E402
from router.routing import Router  # noqa: E402
from router.settings import Settings  # noqa: E402
from router.strategies import create_strategy  # noqa: E402
from tests.conftest import free_port  # noqa: E402

LABELS = ["meeting_minutes", "linkedin_post", "none"]
MESSAGES = [{"role": "system", "content": "Answer with the task the user needs, as JSON {\"task\": ...}: "
                                          + ", ".join(LABELS)},
            {"role": "user", "content": "Please help me write the minutes of today's meeting"}]
CATALOG = Catalog([Task("meeting_minutes", "Write the minutes of a meeting"),
                   Task("linkedin_post", "Write a post for LinkedIn")])


def llama_cpp_command(port: int) -> list[str]:
    """llama-cpp-python's server on the embedded GGUF."""
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_dir() / GGUF_NAME),
            "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"]


def transformers_command(port: int) -> list[str]:
    """transformers serve on the embedded model (its safetensors copy)."""
    model = str(embedded_model_dir(Settings.from_env().model_cache))
    return [sys.executable, "-m", "transformers.cli.transformers", "serve", model,
            "--host", "127.0.0.1", "--port", str(port)]


@contextmanager
def server(command: list[str], port: int, health: str, timeout: float = 240):
    """Start a server subprocess and wait until `health` answers; stop it after."""
    log = open(Path(tempfile.mkdtemp(prefix="compat-")) / "server.log", "w")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + timeout
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited; see {log.name}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{health}", timeout=2)
                break
            except OSError as e:
                if time.time() > deadline:
                    raise SystemExit(f"the server did not start in {timeout:g} s; see {log.name}") from e
                time.sleep(0.5)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def probe_format(client, model: str, mode: str) -> str:
    """honoured, ignored or refused (status) for one response_format mode."""
    try:
        answer = client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=24,
                                                temperature=0, response_format=response_format(mode, LABELS))
    except openai.APIStatusError as e:
        return f"refused ({e.status_code})"
    try:
        task = json.loads(answer.choices[0].message.content or "").get("task")
    except (json.JSONDecodeError, AttributeError):
        task = None
    return "honoured" if task in LABELS else "ignored"


def probe_logprobs(client, model: str) -> tuple[str, str, str]:
    """Whether a plain answer carries log-probabilities, top alternatives and usage."""
    try:
        answer = client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=8,
                                                temperature=0, logprobs=True, top_logprobs=5)
    except openai.APIStatusError as e:
        return f"refused ({e.status_code})", "-", "-"
    content = answer.choices[0].logprobs.content if answer.choices[0].logprobs else None
    tops = bool(content) and any(t.top_logprobs for t in content)
    return "yes" if content else "no", "yes" if tops else "no", "yes" if answer.usage else "no"


def probe(url: str, model: str, name: str) -> None:
    """Print the server's row and the path the constrained strategy takes on it."""
    client = openai.OpenAI(base_url=url, api_key=os.environ.get("ROUTER_OPENAI_API_KEY") or "none",
                           timeout=300, max_retries=0)
    row = [name, probe_format(client, model, "json_schema"), probe_format(client, model, "json_object"),
           *probe_logprobs(client, model)]
    settings = Settings.from_env({**os.environ, "ROUTER_OPENAI_BASE_URL": url, "ROUTER_BACKEND_TIMEOUT": "300"})
    router = Router(create_backend("openai", model=model, settings=settings),
                    create_strategy("constrained", settings.prompts_dir))
    decision = router.decide(CATALOG, [Turn("user", MESSAGES[1]["content"])], None)
    print("| server | json_schema | json_object + schema | logprobs | top_logprobs | usage | constrained path |")
    print("|---|---|---|---|---|---|---|")
    print("| " + " | ".join(row + [f"{decision.constraint} (valid: {decision.valid})"]) + " |")


def main() -> None:
    """Start the chosen server (or use --url) and probe it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--llama-cpp", action="store_true")
    parser.add_argument("--transformers-serve", action="store_true")
    parser.add_argument("--url")
    parser.add_argument("--model")
    args = parser.parse_args()
    port = free_port()
    if args.llama_cpp:
        with server(llama_cpp_command(port), port, "/v1/models"):
            probe(f"http://127.0.0.1:{port}/v1", "smollm2", "llama-cpp-python server")
    elif args.transformers_serve:
        with server(transformers_command(port), port, "/health"):
            probe(f"http://127.0.0.1:{port}/v1", str(embedded_model_dir(Settings.from_env().model_cache)),
                  "transformers serve")
    elif args.url and args.model:
        probe(args.url, args.model, args.url)
    else:
        parser.error("choose --llama-cpp, --transformers-serve or --url with --model")


if __name__ == "__main__":
    main()
