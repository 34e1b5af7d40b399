"""The constrained strategy against llama-cpp-python's real server on the embedded GGUF.

llama-cpp-python builds llama.cpp from source (minutes on this 2-core machine), so it is not in
requirements.txt: this module runs where it is installed (`pip install "llama-cpp-python[server]"`)
and is skipped, saying why, elsewhere. bench/server_compat.py --llama-cpp prints the same findings.
"""
import pytest

pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed "
                                               "(optional: it compiles llama.cpp, see the README)")

import os  # noqa: E402

from bench.server_compat import llama_cpp_command, server  # noqa: E402
from router.backends import create_backend  # noqa: E402
from router.backends.openai import SUPPORT  # noqa: E402
from router.conversation import Conversation, Turn  # noqa: E402
from router.routing import Router  # noqa: E402
from router.settings import Settings  # noqa: E402
from router.strategies import create_strategy  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.test_served_eval import CATALOG  # noqa: E402


def test_constrained_strategy_gives_valid_decisions_through_json_object_or_schema():
    port = free_port()
    with server(llama_cpp_command(port), port, "/v1/models"):
        settings = Settings.from_env({**os.environ, "ROUTER_OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
                                      "ROUTER_BACKEND_TIMEOUT": "300"})
        backend = create_backend("openai", model="smollm2", settings=settings)
        router = Router(backend, create_strategy("constrained", settings.prompts_dir))
        conversation = Conversation("c", (Turn("user", "Help me write the minutes of today's meeting"),
                                          Turn("assistant", "Sure, who attended?"),
                                          Turn("user", "Actually, first a LinkedIn post about our launch")))
        decisions = router.route(conversation, CATALOG)
    assert all(d.valid and d.raw is None and d.constraint in ("json_schema", "json_object")
               for d in decisions), [(d.constraint, d.raw) for d in decisions]
    assert all(d.prompt_tokens > 50 and d.completion_tokens > 0 for d in decisions), "usage is reported"
    assert SUPPORT[(str(backend.client.base_url), "smollm2")] == decisions[-1].constraint
