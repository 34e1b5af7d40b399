"""Screenshots of each tab for the README, from the running app on the demo data: `python scripts/screenshots.py`.

It starts the app with sign-in on a temporary data folder holding the demo dataset, drives Debian's
Chromium with Playwright at 1440x900 as the browser tests do (a routed example conversation, a small
comparison, a conversation open in Validate) and writes one small palette PNG per tab to docs/screenshots/.
"""
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import Locator, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.datasets import DatasetStore  # noqa: E402
from data.db import DatabaseFile  # noqa: E402
from data.samples import import_demo  # noqa: E402
from tests.conftest import app_process  # noqa: E402
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, SLOW, metric_cell, send_and_wait, sign_in  # noqa: E402
from ui.chat_actions import EXAMPLES  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SIZE = {"width": 1440, "height": 900}
TABS = ("chat", "compare", "tasks", "train", "validate")  # the order they are taken in
COLOURS = 64  # a palette this small keeps each PNG well under 200 KB


def prepare(db: DatabaseFile) -> None:
    """The demo data the screenshots show: the demo dataset (the default catalog is there already)."""
    import_demo(DatasetStore(db), "demo")


def pick(page: Page, label: str, option: str) -> None:
    """Pick `option` in the visible dropdown labelled `label`."""
    page.get_by_label(label, exact=True).filter(visible=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def shoot(page: Page, path: Path, top: Locator | None = None) -> Path:
    """A viewport screenshot (scrolled to the element `top`, or to the page's top), shrunk to a palette PNG."""
    if top:
        top.evaluate("e => e.scrollIntoView({block: 'start'})")
    else:
        page.evaluate("window.scrollTo(0, 0)")
    page.locator(".toast-close").evaluate_all("buttons => buttons.forEach(b => b.click())")  # notices closed
    page.wait_for_timeout(1000)  # plots finish drawing, notices fade
    page.screenshot(path=path)
    Image.open(path).convert("RGB").quantize(COLOURS).save(path, optimize=True)
    return path


def take(page: Page, out: Path) -> list[Path]:
    """Drive a signed-in page (on prepared data) through every tab; the PNGs written to `out`, one per tab."""
    out.mkdir(parents=True, exist_ok=True)
    page.get_by_role("tab", name="Chat").click()
    for text in EXAMPLES:
        send_and_wait(page, text)
    shots = [shoot(page, out / "chat.png")]
    page.get_by_role("tab", name="Compare").click()
    pick(page, "Dataset", "demo")
    page.get_by_label("Conversations (0 = all)").fill("2")
    page.get_by_role("button", name="Launch").click()
    expect(metric_cell(page, "turn accuracy")).to_be_visible(timeout=SLOW)
    shots.append(shoot(page, out / "compare.png", page.locator("#compare-summary")))
    page.get_by_role("tab", name="Tasks").click()
    shots.append(shoot(page, out / "tasks.png"))
    page.get_by_role("tab", name="Train").click()
    shots.append(shoot(page, out / "train.png"))
    page.get_by_role("tab", name="Validate").click()
    pick(page, "Dataset", "demo")
    page.get_by_role("button", name="Open queue").click()
    expect(page.get_by_role("log", name="chatbot conversation").filter(visible=True)).to_be_visible(timeout=SLOW)
    shots.append(shoot(page, out / "validate.png", page.get_by_text("Go through the queue")))
    return shots


def main() -> None:
    """Start the app on a temporary data folder, sign in, write the screenshots to docs/screenshots/."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "var"
        data_dir.mkdir()
        prepare(DatabaseFile(data_dir / "test.db"))
        with app_process(data_dir, {"ROUTER_USERS": "demo:demo", "ROUTER_USERS_FILE": ""}) as url, \
                sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport=SIZE).new_page()
            page.set_default_timeout(30_000)
            page.goto(url)
            sign_in(page, "demo", "demo")
            for path in take(page, OUT):
                print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")
            browser.close()


if __name__ == "__main__":
    main()
