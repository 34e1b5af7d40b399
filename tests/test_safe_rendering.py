"""Every view that puts user text into HTML or Markdown escapes it: script and onerror payloads."""
import ast
import json
import re
from pathlib import Path

import gradio as gr
import pytest

from router.catalog import Catalog, Task
from router.conversation import Conversation, Turn
from router.errors import CatalogError, InputError
from ui.compare_figures import label_heatmap, latency_boxes, point_heatmaps
from ui.errors import noted
from ui.escaping import hover_md
from ui.validate_view import assigned_text, chat, describe, generated_text, guidelines_view

PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]


def metrics(labels: list[str]) -> dict:
    """Run metrics shaped like RunStore's, enough for the figures."""
    point = {"tp": 1, "fp": 0, "fn": 0, "tn": 1}
    return {"points": {e: point for e in ("start", "switch", "end")}, "labels": labels,
            "label_confusion": [[1] * len(labels) for _ in labels]}


def assert_escaped(text: str, payload: str) -> None:
    """The payload does not appear as markup; its escaped form does."""
    assert payload not in text and "<script" not in text and "<img" not in text
    assert payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_validate_views_escape_turns_names_and_comments(payload):
    conv = Conversation("c1", (Turn("user", f"Hi {payload}", None, True), Turn("assistant", payload)))
    for message in chat(conv):
        assert_escaped(message["content"], payload)
    row = {"id": 7, "ext_id": f"id{payload}", "dataset": f"d{payload}", "status": "flagged",
           "source": payload}
    header = describe(row, [f"ana{payload}"], f"comment {payload}")
    for part in (f"id{payload}", f"d{payload}", f"ana{payload}", f"comment {payload}"):
        assert_escaped(header, part)
    assert_escaped(assigned_text({payload: 3}), payload)
    assert_escaped(generated_text(2, payload, 1), payload)
    assert_escaped(guidelines_view(f"# Guide\n\n{payload}"), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_compare_figures_escape_run_titles(payload):
    title = f"local/{payload} · constrained · gold"
    figures = [point_heatmaps([(title, metrics(["none", "meeting_minutes"]))]),
               label_heatmap(title, metrics(["none", payload])),
               latency_boxes({title: [0.1, 0.2]})]
    for fig in figures:
        assert_escaped(json.dumps(json.loads(fig.to_json())), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hover_text_escapes_the_shown_text_and_the_tip(payload):
    shown = hover_md(f"run {payload}", f'tip" onmouseover="x {payload}')
    assert_escaped(shown, payload)
    assert shown.startswith('<span title="tip&quot; onmouseover=&quot;x '), "the tip cannot leave its attribute"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_error_notes_escape_the_message_and_keep_the_panels(payload):
    @noted(keep=2)
    def failing():
        raise InputError(f"unknown task {payload!r}", file=f"{payload}.jsonl", line=2)

    note, *kept = failing()
    assert note.startswith("⚠ ") and all(k == gr.skip() for k in kept) and len(kept) == 2
    assert_escaped(note, payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_task_names_cannot_carry_markup_descriptions_can(payload):
    with pytest.raises(CatalogError, match="snake_case"):
        Catalog([Task(payload, "x")])
    assert Catalog([Task("t", payload)]).get("t").description == payload


UI = Path(__file__).resolve().parent.parent / "ui"
SHOWS_MARKUP = {"Info", "Warning", "Error", "Markdown", "HTML"}
MARKUP = ("**", "`", "<", "\n\n", "](")
NUMBERS = {"int", "len", "float", "round"}


def allowed(value: ast.FormattedValue) -> bool:
    """An interpolation that cannot carry markup: safe(...), a number, or a name for escaped markup."""
    expr = value.value
    if value.format_spec is not None:
        return True
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
        return expr.func.id == "safe" or expr.func.id in NUMBERS
    return isinstance(expr, ast.Name) and expr.id.endswith(("_md", "_html"))


def markup_fstrings(tree: ast.AST) -> set[ast.JoinedStr]:
    """f-strings that go into Markdown or HTML: given to gr.Info/Markdown/HTML..., holding markup,
    or written by a function whose docstring says it returns Markdown or HTML."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            if any(mark in text for mark in MARKUP):
                found.add(node)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in SHOWS_MARKUP):
            found |= {n for arg in node.args for n in ast.walk(arg) if isinstance(n, ast.JoinedStr)}
        elif isinstance(node, ast.FunctionDef) and re.search(r"Markdown|HTML", ast.get_docstring(node) or ""):
            found |= {n for n in ast.walk(node) if isinstance(n, ast.JoinedStr)}
    return found


def test_ui_code_escapes_every_value_put_into_markdown_or_html():
    unescaped = []
    for path in sorted(UI.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fstring in markup_fstrings(tree):
            unescaped += [f"{path.name}:{v.lineno}: {{{ast.unparse(v.value)}}}"
                          for v in fstring.values if isinstance(v, ast.FormattedValue) and not allowed(v)]
    assert not unescaped, "values put into Markdown/HTML without safe():\n" + "\n".join(sorted(unescaped))
