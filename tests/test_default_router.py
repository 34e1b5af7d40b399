"""One default router: the command line, the Compare tab and the Chat route with the same adapter and strategy."""
import json
import os
import subprocess
import sys
from pathlib import Path

from router.embedded import SHIPPED_ADAPTER
from router.strategies import DEFAULT_STRATEGY
from services import Services
from ui import compare_actions
from ui.chat_actions import Models, router_named

ROOT = Path(__file__).resolve().parent.parent


def cli_eval(settings, *args: str) -> dict:
    """`cli.py eval ... --json` as a real subprocess on the test's database."""
    done = subprocess.run([sys.executable, "cli.py", "--db", str(settings.db_path), "eval", "--json", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "ROUTER_DATA_DIR": str(settings.data_dir), "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_eval_with_no_options_and_the_compare_tab_default_are_the_same_run(settings, cli):
    assert cli("datasets", "import-demo", "--name", "demo")[0] == 0
    by_cli = cli_eval(settings, "--dataset", "demo", "--limit", "3")
    assert by_cli["config"]["adapter"] == str(SHIPPED_ADAPTER) and by_cli["config"]["strategy"] == DEFAULT_STRATEGY
    services = Services.build(settings)
    [run] = compare_actions.launch(services, "demo", "", "local", services.settings.default_adapter,
                                   [DEFAULT_STRATEGY], "free", 3)
    assert services.runs.config(run) == services.runs.config(by_cli["run"])
    cli_labels, tab_labels = services.runs.labels(by_cli["run"]), services.runs.labels(run)
    assert len(cli_labels) > 5 and cli_labels == tab_labels
    assert compare_actions.configs(services.settings, "demo", "", "local", "", [DEFAULT_STRATEGY], "free", 3) == \
        [services.runs.config(run)], "a blank adapter box is the default router's too"


def test_adapter_none_is_the_base_model_and_is_stored_so(settings, cli):
    assert cli("datasets", "import-demo", "--name", "demo")[0] == 0
    base = cli_eval(settings, "--dataset", "demo", "--limit", "1", "--adapter", "none", "--strategy", "constrained")
    assert base["config"]["adapter"] is None and base["config"]["strategy"] == "constrained"
    helped = subprocess.run([sys.executable, "cli.py", "eval", "--help"], cwd=ROOT, capture_output=True,
                            text=True).stdout.replace("\n", " ")
    assert "smollm2-router" in helped and f"default: {DEFAULT_STRATEGY}" in helped


def test_the_chat_names_the_same_default_router(settings):
    line = router_named(Models(), settings)
    assert f"adapter {SHIPPED_ADAPTER.name}" in line and f"({DEFAULT_STRATEGY})" in line
    assert settings.adapter_for("local", "some/other-model", None) is None, "the shipped adapter is the embedded's"
    assert settings.adapter_for("openai", None, None) is None
