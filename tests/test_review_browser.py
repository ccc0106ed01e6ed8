"""/desk/review in a real headless browser (Debian's Chromium driven by Playwright): a trainer
labels a masked message, which then leaves the inbox and is in the (copied) data, after the
project's real data validation; an agent without the trainer role is refused. A screenshot is
saved under results/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.db.models import ReviewItem
from bot.db.session import session_scope
from bot.handoff.agents import add_agent
from bot.web.app import create_app
from tests.review_tracker import SENDER, UNCLEAR_MASKED, make_tracker, unclear_event_id
from tests.servers import free_port, serve_in_thread
from tests.test_review_annotate import add_item, copy_project

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RESULTS = PROJECT_ROOT / "results"
PASSWORD = "browser-trainer-password"
VALIDATION_TIMEOUT_MS = 400_000  # the project's data validation takes 20 s idle, minutes on a busy machine

if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (make test installs it as root)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402


@pytest.fixture()
def desk(db_url, tmp_path: Path) -> Iterator[dict]:
    url, _ = make_tracker(tmp_path / "tracker.db")
    data_dir = copy_project(tmp_path / "project")
    with session_scope(db_url) as session:
        add_agent(session, "tina", "Tina Trener", PASSWORD, role="trainer")
        add_agent(session, "kari", "Kari Desk", PASSWORD)
        item = add_item(session, UNCLEAR_MASKED, predicted="nlu_fallback", sender=SENDER,
                        event_id=unclear_event_id(url))
    port = free_port()
    stop = serve_in_thread(create_app({
        "rasa_url": "http://127.0.0.1:9", "rasa_public_url": "http://localhost:5005", "rasa_token": "t",
        "demo": True, "data_dir": str(data_dir), "tracker_url": url, "stories_dir": str(tmp_path / "stories")}), port)
    yield {"base": f"http://127.0.0.1:{port}", "item": item, "data_dir": data_dir, "db": db_url}
    stop()


@pytest.fixture()
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield launched
        launched.close()


def log_in(browser, base: str, username: str):
    page = browser.new_context(locale="nb-NO", viewport={"width": 1100, "height": 900}).new_page()
    page.goto(f"{base}/desk/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/desk")
    return page


def test_a_trainer_labels_a_masked_message_into_the_data(desk, browser):
    page = log_in(browser, desk["base"], "tina")
    page.goto(f"{desk['base']}/desk/review")
    item = page.locator(f"#item-{desk['item']}")
    expect(item.locator(".text")).to_have_text(f"«{UNCLEAR_MASKED}»")
    expect(item.locator(".meta")).to_contain_text("nlu_fallback")
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "desk-review-inbox.png"), full_page=True)
    item.locator("select[name=intent]").select_option("book_service")
    item.locator("button.label").click(no_wait_after=True)  # the answer comes after the validation
    flash = page.locator("#flash")
    expect(flash).to_contain_text("Lagt til i nb/book_service.yml", timeout=VALIDATION_TIMEOUT_MS)
    expect(flash).to_contain_text("jeg heter Ola, ring meg på 912 34 567 om bremsene som hviner")
    expect(page.locator(f"#item-{desk['item']}")).to_have_count(0)  # gone from the "new" list
    page.screenshot(path=str(RESULTS / "desk-review.png"), full_page=True)

    written = (desk["data_dir"] / "nlu" / "nb" / "book_service.yml").read_text(encoding="utf-8")
    assert "    - jeg heter Ola, ring meg på 912 34 567 om bremsene som hviner\n" in written
    with session_scope(desk["db"]) as session:
        stored = session.get(ReviewItem, desk["item"])
        assert (stored.status, stored.label_intent, stored.labelled_by) == ("labelled", "book_service", "Tina Trener")

    page.goto(f"{desk['base']}/desk/review?status=labelled")
    expect(page.locator(f"#item-{desk['item']} .meta")).to_contain_text("merket book_service")


def test_an_agent_without_the_trainer_role_gets_403(desk, browser):
    page = log_in(browser, desk["base"], "kari")
    response = page.goto(f"{desk['base']}/desk/review")
    assert response is not None and response.status == 403
