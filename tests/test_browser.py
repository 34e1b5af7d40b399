"""The page in a real browser: Playwright drives Debian's Chromium against the real app with sign-in.

One app (a subprocess with two users) serves the whole module; each test gets a fresh browser
context, signs in and works the page like a team member. A script running in the page (a JS
dialog) fails the test: user text carries <script> and <img onerror> payloads. A failed test
leaves a screenshot in test-artifacts/. `bash scripts/setup.sh --tests` installs Playwright and
/usr/bin/chromium; Playwright's own browser download is never used.
"""
import json
import re
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from data.annotations import AnnotationStore, QueueFilter
from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.jobs import JobStore
from data.runs import RunStore
from data.tasks import TaskStore
from router.conversation import Conversation, Turn
from router.settings import default_adapter
from tests.conftest import ROOT, app_process
from tests.test_shipped_adapter import NONE_REPLY, OUT_OF_CATALOG
from tests.test_training import tiny_conversations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
USERS = "ana:pw1,bo:pw2"
ARTIFACTS = ROOT / "test-artifacts"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
PIXEL = "![pixel](http://127.0.0.1:9/pixel.png)"
LINK = "[click here](http://evil.example/)"
FORM = '<form action="http://evil.example/"><input type="password" name="p"></form>'
MARKDOWN = f"x` {PIXEL} {LINK} {FORM} `"  # the backticks try to leave a code span
SLOW = 180_000  # ms: the embedded model loads and routes on a busy 2-core machine


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app with sign-in on its own database; yields (url, database file)."""
    data_dir = tmp_path_factory.mktemp("browser") / "var"
    data_dir.mkdir()
    with app_process(data_dir, {"ROUTER_USERS": USERS, "ROUTER_USERS_FILE": "", "ROUTER_ADMINS": "ana"}) as url:
        yield url, DatabaseFile(data_dir / "test.db")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless."""
    assert Path(CHROMIUM).exists(), "no /usr/bin/chromium: run `bash scripts/setup.sh --tests`"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def opened(browser, url: str, request):
    """A fresh page on `url`; fails on any JS dialog, screenshots a failed test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    yield page
    if any(getattr(request.node, f"rep_{when}", None) and getattr(request.node, f"rep_{when}").failed
           for when in ("setup", "call")):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"{request.node.name}.png", full_page=True)
    context.close()
    assert not dialogs, f"a script ran in the page: {dialogs}"


@pytest.fixture
def page(app, browser, request):
    """A fresh page on the module's app."""
    with opened(browser, app[0], request) as page:
        yield page


@pytest.fixture
def fresh_page(browser, request, tmp_path):
    """A page on an app of its own, as a fresh clone starts it: the default catalog, nothing changed."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    with app_process(data_dir, {"ROUTER_USERS": USERS, "ROUTER_USERS_FILE": ""}) as url, \
            opened(browser, url, request) as page:
        yield page


def sign_in(page: Page, user: str = "ana", password: str = "pw1") -> None:
    """Fill the login form and wait for the app."""
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()
    expect(page.get_by_role("heading", name="Router Playground")).to_be_visible()
    catalog = page.locator("#catalog-table").get_by_text("meeting_minutes", exact=True)
    expect(catalog.first).to_be_visible(timeout=SLOW)  # the page's load events have delivered


def fill_and_keep(box, text: str) -> None:
    """Type into a box and leave it, again if a late re-render of the page puts the old value back."""
    for _ in range(3):
        box.fill(text)
        box.press("Tab")  # leaves the box, so that the page holds the new value before a click
        time.sleep(1)
        if box.input_value() == text:
            return
    raise AssertionError(f"the box kept reverting to {box.input_value()!r}")


def no_injected_markup(page: Page) -> None:
    """No element from a payload made it into the page."""
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("script", has_text="alert(").count() == 0
    assert page.locator("img[src*='pixel']").count() == 0
    assert page.locator("a", has_text="click here").count() == 0  # a bare URL may show as itself
    assert page.locator("input[type='password']").count() == 0


def choose(page: Page, label: str, option: str) -> None:
    """Pick `option` in the dropdown labelled `label`."""
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_sign_in_is_required(page):
    expect(page.get_by_text("Router Playground: sign in to test")).to_be_visible()  # not a bare "Login"
    expect(page).to_have_title("Router Playground")  # the browser tab names the app before sign-in
    page.get_by_label("username").fill("ana")
    page.get_by_label("password").fill("wrong")
    page.get_by_role("button", name="Login").click()
    expect(page.get_by_text("Incorrect Credentials")).to_be_visible()
    expect(page.get_by_role("tab", name="Tasks")).to_have_count(0)
    sign_in(page)
    expect(page.get_by_role("tab", name="Validate")).to_be_visible()
    expect(page).to_have_title("Router Playground")
    expect(page.locator("#signed-in")).to_have_text("Signed in as ana")


def tab_bar(page: Page) -> list[str]:
    """The labels of the tab bar, in order, once the opened tab's panel shows and the bar is laid out."""
    expect(page.get_by_role("tabpanel").get_by_role("button").filter(visible=True).first).to_be_visible()
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    return [label.strip() for label in page.locator("button[role=tab]").all_inner_texts()]


def test_the_tab_bar_keeps_its_five_tabs_whichever_is_opened(page):
    # A non-tab block among gr.Tabs' children (a gr.State) once gave a tab a second button.
    tabs = ["Tasks", "Chat", "Compare", "Validate", "Train"]
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page)
    assert tab_bar(page) == tabs
    for name in ("Chat", "Compare", "Validate", "Train", "Tasks", "Train", "Validate"):
        page.get_by_role("tab", name=name, exact=True).first.click()  # a duplicate is the bar's to report
        assert tab_bar(page) == tabs, f"after opening {name}"
        expect(page.locator("button[role=tab][aria-selected=true]")).to_have_text([name])


def test_add_a_task(page, app):
    sign_in(page)
    page.get_by_label("Name (snake_case)").fill("Press Release")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#task-note")).to_contain_text("⚠")  # beside the buttons
    expect(page.locator("#task-note")).to_contain_text("snake_case")
    expect(page.locator("#catalog-table").get_by_text("meeting_minutes", exact=True)).to_be_visible()
    expect(page.get_by_text("Error", exact=True)).to_have_count(0)  # no red badge over the panels
    page.locator("#catalog-table").get_by_text("linkedin_post", exact=True).click()
    expect(page.get_by_label("Name (snake_case)")).to_have_value("linkedin_post")  # a row opens its task
    choose(page, "Task to edit", "(new task)")
    expect(page.get_by_label("Name (snake_case)")).to_have_value("")  # the form emptied before typing
    fill_and_keep(page.get_by_label("Name (snake_case)"), "press_release")
    page.get_by_label("Description", exact=True).fill(f"Write a press release {IMG}")
    page.get_by_label("Instructions for the assistant").fill("Ask for the news, then draft it")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved task 'press_release'.")).to_be_visible()
    expect(page.get_by_role("gridcell", name="press_release", exact=True)).to_be_visible()
    expect(page.get_by_text(f"Write a press release {IMG}").first).to_be_visible()  # shown as text
    task = TaskStore(app[1]).catalog().get("press_release")
    assert task.instructions == "Ask for the news, then draft it"
    no_injected_markup(page)


def test_a_refused_task_import_keeps_the_catalog(page, tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"tasks": [{"name": "x"')
    sign_in(page)
    page.get_by_text("Import / export").click()
    with page.expect_file_chooser() as chooser:
        page.get_by_text("Click to Upload").filter(visible=True).first.click()
    chooser.value.set_files(bad)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-note")).to_contain_text("⚠", timeout=SLOW)  # beside the Import button
    expect(page.locator("#catalog-table").get_by_text("meeting_minutes", exact=True)).to_be_visible()
    expect(page.get_by_text("Error", exact=True)).to_have_count(0)


def test_run_a_small_comparison(page, app, tmp_path):
    conversation = {"id": "tiny-1", "source": "browser", "turns": [
        {"role": "user", "content": f"Please help me write the minutes of our meeting {SCRIPT}",
         "task": "meeting_minutes"},
        {"role": "assistant", "content": "Sure, who attended?"},
        {"role": "user", "content": f"That's fine, thanks for the help {IMG}", "task": None}]}
    path = tmp_path / "tiny.jsonl"
    path.write_text(json.dumps(conversation) + "\n")
    sign_in(page)
    page.get_by_role("tab", name="Compare").click()
    expect(page.locator("#compare-matrix").get_by_role("columnheader")).to_contain_text(
        ["metric", "copy baseline"])  # named before any run, not 1 2
    page.get_by_text("Import a dataset").click()
    with page.expect_file_chooser() as chooser:
        page.get_by_text("Click to Upload").filter(visible=True).first.click()
    chooser.value.set_files(path)
    page.get_by_label("Dataset name (default: file name)").fill(f"tiny{IMG}")
    page.get_by_role("button", name="Import JSONL").click()
    expect(page.get_by_text(f"dataset name 'tiny{IMG}' must be 1 to 64")).to_be_visible(timeout=SLOW)
    page.get_by_label("Dataset name (default: file name)").fill("tiny")
    page.get_by_role("button", name="Import JSONL").click()
    expect(page.get_by_text("Imported 1 conversations into 'tiny'.")).to_be_visible(timeout=SLOW)
    page.get_by_label("Conversations (0 = all)").fill("1")
    page.get_by_role("button", name="Launch").click()
    expect(metric_cell(page, "turn accuracy")).to_be_visible(timeout=SLOW)
    expect(page.locator("#compare-summary")).to_contain_text(re.compile(
        r"calibrated scoring \+ word match, live: turn accuracy [0-9.]+ vs copy baseline [0-9.]+ "
        r"\([+-][0-9]+ points\)"))
    expect(metric_cell(page, "start recall")).to_have_count(1)
    cells = page.locator("#compare-matrix").get_by_role("gridcell")
    assert not [c for c in cells.all_inner_texts() if "_" in c], "no snake_case metric names"
    headers = page.locator("#compare-matrix").get_by_role("columnheader")
    expect(headers).to_contain_text(["metric", "calibrated scoring + word match, live",
                                     "copy baseline"])  # a column per run
    [run] = RunStore(app[1], DatasetStore(app[1])).listing()
    assert run["status"] == "done"
    no_injected_markup(page)
    page.reload()  # no run chosen: a click selects a past run, and Compare shows it
    page.get_by_role("tab", name="Compare").click()
    page.get_by_text("Past runs: click rows to select them").click()
    page.locator("#past-runs").get_by_role("gridcell", name=str(run["id"]), exact=True).first.click()
    page.get_by_role("button", name="Compare the selected").click()
    expect(page.locator("#compare-summary")).to_contain_text(f"#{run['id']} embedded model",
                                                             timeout=SLOW)  # figures and plots are drawn first
    expect(page.locator("#compare-summary span[title]").first).to_have_attribute(
        "title", f"#{run['id']} local/embedded+smollm2-router · constrained_lexical · free")  # the id on hover


def metric_cell(page: Page, metric: str):
    """The cell naming `metric` in the Compare tab's metric table (a row per metric)."""
    return page.locator("#compare-matrix").get_by_role("gridcell", name=metric, exact=True)


def scroll_bars(page: Page, table: str) -> list:
    """The scrolling boxes inside `table` whose content is wider or taller than the box: a scroll bar."""
    return page.evaluate("""(table) => [...document.querySelectorAll(`${table} *`)].flatMap(e => {
      const style = getComputedStyle(e), scrolls = (overflow) => ['auto', 'scroll'].includes(overflow);
      return [...(scrolls(style.overflowX) && e.scrollWidth > e.clientWidth ?
                  [`${e.className} wide: ${e.scrollWidth} > ${e.clientWidth}`] : []),
              ...(scrolls(style.overflowY) && e.scrollHeight > e.clientHeight ?
                  [`${e.className} tall: ${e.scrollHeight} > ${e.clientHeight}`] : [])];
    })""", table)


def overlaps(page: Page, first: str, second: str) -> list:
    """Pairs of texts of the elements matching the two selectors whose boxes intersect in the page."""
    return page.evaluate("""([first, second]) => {
      const boxes = (sel) => [...document.querySelectorAll(sel)].map(e => [e.textContent, e.getBoundingClientRect()]);
      const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
      return boxes(first).flatMap(([t, a]) => boxes(second).filter(([, b]) => meet(a, b)).map(([u]) => [t, u]));
    }""", [first, second])


def right_edge_inside(page: Page, table: str) -> None:
    """Every header of the table ends inside the table's visible box: no column cut or scrolled away."""
    box = page.locator(table).bounding_box()
    for header in page.locator(f"{table} th").all():
        assert header.bounding_box()["x"] + header.bounding_box()["width"] <= box["x"] + box["width"] + 1, \
            header.inner_text()


def open_compare(page: Page, dataset: str) -> None:
    """Open the Compare tab with the datasets read again, `dataset` (the newest) chosen."""
    page.get_by_role("tab", name="Compare").click()
    page.get_by_role("button", name="Refresh", exact=True).click()
    expect(page.get_by_label("Dataset", exact=True).filter(visible=True)).to_have_value(dataset)


def test_compare_two_runs_figures_drill_down_and_exports(page, app):
    DatasetStore(app[1]).add("pair", [Conversation("pair-1", (
        Turn("user", "Please help me write the minutes of this morning's meeting with the sales team "
                     "about the quarterly numbers", "linkedin_post", True),  # a gold label no router gives
        Turn("assistant", "Sure, who attended?"),
        Turn("user", "Thanks, that's all for today", None, True)))])
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page)
    open_compare(page, "pair")
    page.get_by_label("constrained_lexical").uncheck()
    page.get_by_role("button", name="Launch").click()
    expect(page.locator("#launch-note")).to_contain_text("⚠ Choose at least one strategy.")  # beside Launch
    page.get_by_label("constrained_lexical").check()
    page.get_by_label("zero_shot").check()
    page.get_by_label("Conversations (0 = all)").fill("1")
    page.get_by_role("button", name="Launch").click()
    expect(page.locator("#launch-note")).to_contain_text("Finished 2 run(s).", timeout=SLOW)
    expect(metric_cell(page, "turn accuracy")).to_be_visible(timeout=SLOW)
    assert scroll_bars(page, "#compare-matrix") == [], "every run's column and every metric in view at 1440 px"
    right_edge_inside(page, "#compare-matrix")
    expect(page.locator("#compare-matrix th")).to_have_count(4)  # metric, 2 runs, copy baseline
    titles = page.locator("#compare-points .annotation-text")
    expect(titles).to_have_count(6)  # 2 runs x start, switch, end
    assert page.locator("#compare-points .xaxislayer-above text").count() >= 6
    assert overlaps(page, "#compare-points .annotation-text", "#compare-points .xaxislayer-above text") == []
    runs = RunStore(app[1], DatasetStore(app[1])).listing("pair")
    choose(page, "Show a conversation", "pair-1")
    view = page.locator("#drill-view")
    expect(view.get_by_role("gridcell", name="1", exact=True)).to_be_visible()  # numbered as the Chat does
    expect(view.locator("th").filter(has_text=f"#{runs[0]['id']}")).to_be_visible()
    right_edge_inside(page, "#drill-view")
    right_edge_inside(page, "#drill-wrong")
    right_edge_inside(page, "#event-errors")  # twelve columns, the router's own task and the cause among them
    wrong = view.get_by_role("gridcell").filter(has_text="✗").first
    expect(wrong).to_have_css("background-color", "rgb(253, 226, 226)")  # a wrong prediction stands out
    expect(titles).to_have_count(6)  # the figures stay
    expect(page.get_by_text("Error", exact=True)).to_have_count(0)


def test_compare_past_runs_selected_by_clicks_are_the_ones_export_and_delete_act_on(page, app):
    DatasetStore(app[1]).add("past", [Conversation("past-1", (Turn("user", "Hello there", None, True),))])
    sign_in(page)
    open_compare(page, "past")
    page.get_by_label("zero_shot").check()
    page.get_by_role("button", name="Launch").click()
    expect(page.locator("#launch-note")).to_contain_text("Finished 2 run(s).", timeout=SLOW)
    newer, older = RunStore(app[1], DatasetStore(app[1])).listing("past")
    past, selected, note = page.locator("#past-runs"), page.locator("#past-selected"), page.locator("#past-note")
    row = {run["id"]: past.get_by_role("gridcell", name=f" · {run['strategy']} · ")
           for run in (newer, older)}  # the config cell: the id's digits may stand in another column too
    newer, older = newer["id"], older["id"]
    page.get_by_text("Past runs: click rows to select them").click()
    expect(selected).to_contain_text("Selected: none")  # both runs are compared, none is selected
    page.get_by_role("button", name="Download metrics (CSV)").click()
    expect(note).to_contain_text("⚠ Select the runs to export: click them in Past runs.")
    for run, line in ((older, rf"#{older} [^;]*"), (newer, rf"#{older} [^;]*; #{newer} [^;]*"),
                      (newer, rf"#{older} [^;]*")):  # a second click unselects
        row[run].click()
        expect(selected).to_have_text(re.compile(rf"Selected: {line}\."))
    expect(past.get_by_role("gridcell", name="✓", exact=True)).to_have_count(1)
    expect(row[older]).to_have_css("background-color", "rgb(220, 252, 231)")  # the selected row stands out
    expect(row[newer]).not_to_have_css("background-color", "rgb(220, 252, 231)")
    page.get_by_role("button", name="Download metrics (CSV)").click()
    expect(page.get_by_role("cell", name=f"metrics-{older}.csv")).to_be_visible(timeout=SLOW)
    page.get_by_role("button", name="Delete the selected").click()
    expect(note).to_contain_text(f"Deleted #{older} embedded model")
    expect(row[older]).to_have_count(0)
    expect(row[newer]).to_have_count(1)
    expect(selected).to_contain_text("Selected: none")
    assert [r["id"] for r in RunStore(app[1], DatasetStore(app[1])).listing("past")] == [newer]


def test_validate_a_conversation(page, app):
    store = AnnotationStore(app[1])
    DatasetStore(app[1]).add("queue", [Conversation("q1", (
        Turn("user", f"Help me with the minutes {IMG}", "meeting_minutes", True),
        Turn("assistant", f"Who attended? {SCRIPT}"),
        Turn("user", "Thanks, that's all", "meeting_minutes", True)))])
    [pk] = store.queue(QueueFilter("queue"))
    page.reload()
    sign_in(page, "bo", "pw2")
    page.get_by_role("tab", name="Validate").click()
    page.keyboard.press("Alt+KeyC")  # before opening the queue
    expect(page.locator("#validate-note")).to_contain_text("⚠ Open a conversation first.")
    expect(page.get_by_text("Error", exact=True)).to_have_count(0)  # no red badge over the panels
    page.get_by_text("Annotation guidelines").click()
    expect(page.get_by_text("Edit the guidelines")).to_be_visible()
    expect(page.get_by_label("Edit (Markdown)")).to_be_hidden()  # read first; the editor opens on demand
    choose(page, "Dataset", "queue")
    page.get_by_role("button", name="Open queue").click()
    chat = page.get_by_role("log", name="chatbot conversation")
    expect(chat.get_by_text(f"Help me with the minutes {IMG}")).to_be_visible()   # escaped: as text
    choose(page, "Turn 2: Thanks, that's all", "none")
    expect(page.get_by_role("gridcell", name="end", exact=True)).to_be_visible()
    page.keyboard.press("Alt+KeyC")
    expect(page.get_by_text(f"Conversation #{pk} validated.")).to_be_visible()
    assert store.row(pk)["status"] == "validated"
    assert store.datasets.load(pk).gold_labels() == ["meeting_minutes", None]
    row = next(store.db["labels"].rows_where("conversation_id = ?", [pk], order_by="id desc"))
    assert (row["origin"], row["annotator"]) == ("annotator", "bo")
    no_injected_markup(page)


def test_validate_opens_a_long_conversation_at_its_start_with_every_column_in_view(page, app):
    turns = []
    for k in range(8):
        turns += [Turn("user", f"Message {k + 1}: please help me write the minutes of the long meeting we had "
                               "this morning with the whole sales team about the quarterly numbers",
                       "meeting_minutes", True),
                  Turn("assistant", "Sure, who attended and what was decided? " * 4)]
    DatasetStore(app[1]).add("long", [Conversation("long-1", tuple(turns))])
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, "bo", "pw2")
    page.get_by_role("tab", name="Validate").click()
    choose(page, "Dataset", "long")
    page.get_by_role("button", name="Open queue").click()
    expect(page.locator("#validate-events").get_by_role("gridcell", name="start", exact=True)).to_be_visible()
    time.sleep(2)  # any scrolling after the render has happened
    scrolled = page.locator("#validate-chat").evaluate("""el => [...el.querySelectorAll('*')]
      .filter(e => e.scrollHeight > e.clientHeight + 20 && /auto|scroll/.test(getComputedStyle(e).overflowY))
      .map(e => e.scrollTop)""")
    assert scrolled == [0], scrolled  # the conversation overflows its box and shows its start
    right_edge_inside(page, "#validate-events")
    page.get_by_text("Annotation guidelines").click()
    page.get_by_text("Edit the guidelines").click()
    fill_and_keep(page.get_by_label("Edit (Markdown)"), "Label everything as none.")
    page.get_by_role("button", name="Save guidelines").click()
    expect(page.locator("#guide-note")).to_contain_text("⚠ Only ana may change the guidelines")
    assert "Label everything as none." not in AnnotationStore(app[1]).guidelines()


def test_markdown_payloads_show_as_text_in_the_validate_tab(page, app):
    store = AnnotationStore(app[1])
    DatasetStore(app[1]).add("payloads", [Conversation(MARKDOWN, (
        Turn("user", f"Minutes please {PIXEL} {LINK} {FORM}", "meeting_minutes", True),
        Turn("assistant", f"Sure {MARKDOWN}")), source=MARKDOWN)])
    [pk] = store.queue(QueueFilter("payloads"))
    store.flag(pk, f"comment {MARKDOWN}", "ana")
    sign_in(page)
    page.get_by_role("tab", name="Validate").click()
    choose(page, "Dataset", "payloads")
    choose(page, "Status", "flagged")
    page.get_by_role("button", name="Open queue").click()
    chat = page.get_by_role("log", name="chatbot conversation")
    expect(chat.get_by_text(f"Minutes please {PIXEL} {LINK} {FORM}")).to_be_visible()
    expect(page.get_by_text(f"Flag comment: comment {MARKDOWN}")).to_be_visible()
    expect(page.get_by_text(f"#{pk} {MARKDOWN} in payloads")).to_be_visible()
    no_injected_markup(page)


# Chat and Train flows, on the same fixtures (app, browser, page, sign_in, choose).


def test_chat_routes_replies_and_saves(page, app):
    sign_in(page)
    page.get_by_role("tab", name="Chat").click()
    page.get_by_text("Save / reopen").click()
    name = page.get_by_label("Save to dataset")
    expect(name).to_have_value("chats")  # rendered with its default: typing now is not overwritten
    fill_and_keep(name, MARKDOWN)
    page.get_by_role("button", name="Save conversation").click()
    expect(page.locator("#save-note")).to_contain_text("⚠")  # beside the button
    expect(page.get_by_text("must be 1 to 64 letters")).to_be_visible()
    expect(page.get_by_text("Error", exact=True)).to_have_count(0)
    expect(page.get_by_text(PIXEL).first).to_be_visible()  # the name, in the error, as text
    no_injected_markup(page)
    fill_and_keep(name, "chats")
    box = page.get_by_placeholder("Write to the assistant, Enter sends")
    box.fill(f"Please help me write the minutes of our meeting {IMG}")
    box.press("Enter")
    latency = page.get_by_text(re.compile(r"Latency: routing [0-9.]+ s · reply [0-9.]+ s"))
    expect(latency).to_be_visible(timeout=SLOW)  # the reply has been streamed to its end
    shown = latency.inner_text()
    page.reload()  # at once: the unsaved conversation, reply included, is kept by the browser, for this user
    page.get_by_role("tab", name="Chat").click()
    chat = page.get_by_role("log", name="chatbot conversation")
    expect(chat.get_by_text(f"Please help me write the minutes of our meeting {IMG}")).to_be_visible(timeout=SLOW)
    expect(page.get_by_text(shown)).to_be_visible()  # the reply's own latency: the whole reply was kept
    expect(page.locator("#chat-active")).to_contain_text("Active task:")
    page.get_by_text("Save / reopen").click()
    page.get_by_role("button", name="Save conversation").click()
    expect(page.get_by_text("suggestions for the Validate tab")).to_be_visible()
    [pk] = AnnotationStore(app[1]).queue(QueueFilter("chats"))
    origins = {r["origin"] for r in app[1].db["labels"].rows_where("conversation_id = ?", [pk])}
    assert origins == {"router"}
    no_injected_markup(page)


def test_start_and_stop_a_tiny_training_job(page, app, small_catalog):
    DatasetStore(app[1]).add("trainset", tiny_conversations(small_catalog))
    jobs = JobStore(app[1])
    sign_in(page)
    page.get_by_role("tab", name="Train").click()
    expect(page.get_by_text("No job yet: launch one")).to_have_count(2)  # the empty charts say why
    expect(page.get_by_role("button", name="Stop")).to_be_disabled()  # no job yet
    page.get_by_role("button", name="Quick try (1 min)").click()
    expect(page.get_by_label("Max steps (-1: epochs)")).to_have_value("20")
    expect(page.get_by_label("Time bound, minutes (0: none)")).to_have_value("1")
    expect(page.get_by_role("button", name="Resume")).to_be_disabled()
    page.get_by_role("button", name="Launch").click()
    expect(page.locator("#train-note")).to_contain_text("⚠ Choose at least one dataset.")  # beside Launch
    page.get_by_role("button", name="Refresh datasets").click()
    choose(page, "Datasets", "trainset")
    page.get_by_label("Max steps (-1: epochs)").fill("500")
    page.get_by_label("Max sequence length").fill("400")
    page.get_by_label("Evaluate base vs fine-tuned when done").uncheck()
    page.get_by_role("button", name="Launch").click()
    deadline = time.time() + SLOW / 1000
    while time.time() < deadline and not any(j["status"] == "running" and j["progress"]
                                             for j in jobs.listing()):
        time.sleep(1)
    [job] = jobs.listing()
    assert job["status"] == "running", job
    expect(page.locator("#train-progress")).to_contain_text(f"Job {job['id']}: running", timeout=SLOW)
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#job-note")).to_contain_text(f"Job {job['id']}: ")  # beside the button, not a toast
    expect(page.locator("#train-progress")).to_contain_text(f"Job {job['id']}: stopped", timeout=SLOW)
    assert jobs.get(job["id"])["status"] == "stopped"
    expect(page.get_by_role("button", name="Stop")).to_be_disabled()
    expect(page.get_by_role("button", name="Resume")).to_be_enabled()
    no_injected_markup(page)


def send_and_wait(page: Page, text: str) -> None:
    """Send a chat message and wait until its reply has been streamed (the box is free again)."""
    latency = page.get_by_text(re.compile(r"Latency: routing [0-9.]+ s · reply [0-9.]+ s"))
    before = latency.inner_text() if latency.count() else ""
    box = page.get_by_placeholder("Write to the assistant, Enter sends")
    box.fill(text)
    box.press("Enter")
    expect(page.get_by_role("log", name="chatbot conversation").get_by_text(text)).to_be_visible(timeout=SLOW)
    deadline = time.time() + SLOW / 1000
    while time.time() < deadline and (not latency.count() or latency.inner_text() == before):
        time.sleep(0.5)
    assert latency.inner_text() != before, "the message was not routed"
    expect(page.get_by_text("the assistant is replying")).to_be_hidden(timeout=SLOW)


def test_the_default_router_starts_switches_and_ends_a_task_then_says_what_it_can_do(fresh_page):
    # No setting changed, as a fresh clone starts: the shipped adapter over the default catalog
    # routes the live conversation (the module's app has a task more, added by another test).
    page = fresh_page
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page)
    page.get_by_role("tab", name="Chat").click()
    expect(page.locator("#chat-router")).to_have_text(
        "Router: the embedded smollm2-135m (local) · adapter smollm2-router · "
        "strategy calibrated scoring + word match (constrained_lexical)")
    expect(page.locator("#chat-active")).to_contain_text("Active task: none")  # not blank before a message
    page.get_by_text("Models", exact=True).click()
    adapter = page.get_by_label("Router adapter (PEFT folder")
    fill_and_keep(adapter, "none")
    expect(page.locator("#chat-router")).to_contain_text("untuned embedded base model")
    fill_and_keep(adapter, default_adapter(None))
    expect(page.locator("#chat-router")).not_to_contain_text("untuned")
    page.get_by_text("I need to write the minutes of this morning's meeting", exact=True).click()
    expect(page.get_by_placeholder("Write to the assistant, Enter sends")).to_have_value(
        "I need to write the minutes of this morning's meeting")  # an example fills the box
    send_and_wait(page, "I need to write the minutes of this morning's meeting")
    expect(page.locator("#chat-active")).to_contain_text("meeting_minutes")
    expect(page.get_by_text("START", exact=True)).to_be_visible()
    send_and_wait(page, "Actually, first draft a LinkedIn post about our launch")
    expect(page.get_by_text("SWITCH", exact=True)).to_be_visible()
    expect(page.locator("#chat-active")).to_contain_text("linkedin_post")
    send_and_wait(page, "thanks, that's all")
    expect(page.locator("#chat-active")).to_contain_text("none")
    expect(page.get_by_text("END", exact=True)).to_be_visible()
    chat = page.get_by_role("log", name="chatbot conversation")
    expect(chat.get_by_text("Glad I could help with your linkedin post. Anything else?", exact=True)).to_be_visible()
    send_and_wait(page, OUT_OF_CATALOG)
    expect(page.get_by_text("NONE", exact=True)).to_be_visible()
    expect(chat.get_by_text(NONE_REPLY, exact=True)).to_be_visible()
    expect(chat).not_to_contain_text(re.compile("sunny|forecast|°", re.IGNORECASE))
    expect(page.locator("#chat-replier")).to_contain_text("small embedded model")
    expect(page.locator("#chat-scores .gtitle")).to_have_text("Scored by calibrated scoring + word match")
    expect(page.get_by_text("Raw answer")).to_be_hidden()  # folded under Details
    labels = page.locator("#chat-timeline .annotation-text")
    expect(labels).to_have_count(4)
    assert_apart([labels.nth(k).bounding_box() for k in range(4)])


def assert_apart(boxes: list[dict]) -> None:
    """No two of the boxes (page coordinates) overlap."""
    for k, a in enumerate(boxes):
        for b in boxes[k + 1:]:
            apart = (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                     or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])
            assert apart, f"timeline labels overlap: {a} and {b}"


def test_queued_runs_go_on_through_a_reload_and_a_second_user_sees_them(page, app, browser):
    DatasetStore(app[1]).add("queued", [Conversation("q1", (
        Turn("user", "Help me write the minutes of our meeting", "meeting_minutes", True),
        Turn("assistant", "Who attended?"),
        Turn("user", "Thanks, that's all", None, True)))])
    sign_in(page)
    open_compare(page, "queued")
    page.get_by_label("zero_shot").check()
    page.get_by_role("button", name="Queue", exact=True).click()
    expect(page.get_by_text("Queued 2 run(s)")).to_be_visible(timeout=SLOW)
    page.reload()
    if page.get_by_label("username").count():
        sign_in(page)
    page.get_by_role("tab", name="Compare").click()
    queue = page.locator("#run-queue")
    expect(queue.get_by_role("gridcell", name="done", exact=True)).to_have_count(2, timeout=SLOW)
    expect(queue.get_by_role("gridcell", name="2/2", exact=True)).to_have_count(2)
    other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    other.goto(app[0])
    sign_in(other, "bo", "pw2")
    other.get_by_role("tab", name="Compare").click()
    expect(other.locator("#run-queue").get_by_role("gridcell", name="done", exact=True)).to_have_count(2)
    other.context.close()
    runs = RunStore(app[1], DatasetStore(app[1]))
    assert sorted(r["strategy"] for r in runs.listing("queued") if r["status"] == "done") == \
        ["constrained_lexical", "zero_shot"]  # the default strategy, and the one checked


def test_the_readme_screenshots_are_taken_from_every_tab(page, app, tmp_path):
    from PIL import Image

    from scripts.screenshots import SIZE, TABS, prepare, take  # here: it imports this file's helpers
    prepare(app[1])
    page.set_viewport_size(SIZE)
    page.reload()
    sign_in(page)
    shots = take(page, tmp_path)
    assert [path.stem for path in shots] == list(TABS)
    for path in shots:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size == (SIZE["width"], SIZE["height"])
            assert len(image.convert("RGB").getcolors(4096) or []) >= 16, f"{path.name} is blank"
        assert path.stat().st_size < 200_000, f"{path.name} is not small"
