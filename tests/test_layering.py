"""The shape of the code (DESIGN.md §6): tabs are short layouts over actions that know no gradio."""
import ast
from pathlib import Path

from tests.conftest import ROOT

MAX_BUILDER_LINES = 120


def imported(path: Path) -> set[str]:
    """The top-level packages and modules a file imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_function_of_a_tab_module_is_over_120_lines():
    long = [f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path in (ROOT / "ui").glob("*_tab.py")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > MAX_BUILDER_LINES]
    assert not long, long


def test_tab_actions_know_no_gradio():
    actions = sorted((ROOT / "ui").glob("*_actions.py"))
    assert len(actions) >= 5
    for path in actions:
        assert not {n for n in imported(path) if n.split(".")[0] == "gradio"}, path.name


def test_the_domain_imports_nothing_above_it():
    above = {"data", "ui", "app", "cli", "services", "gradio"}
    upward = [f"{path.relative_to(ROOT)}: {name}" for path in sorted((ROOT / "router").rglob("*.py"))
              for name in imported(path) if name.split(".")[0] in above]
    assert not upward, upward


def test_listing_the_tasks_imports_no_model_code(tmp_path):
    import subprocess
    import sys

    probe = ("import sys, cli; cli.main(['--db', sys.argv[1], 'tasks', 'list']); "
             "print(sorted(m for m in ('torch', 'transformers', 'openai', 'sklearn', 'gradio') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "probe.db")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_tabs_hold_nothing_but_tabs(services):
    # Gradio places a tab's button by its index among gr.Tabs' children: a gr.State there gives a tab two.
    import gradio as gr

    from app import build_app

    [tabs] = [block for block in build_app(services).blocks.values() if isinstance(block, gr.Tabs)]
    assert [type(child) for child in tabs.children] == [gr.Tab] * 5
