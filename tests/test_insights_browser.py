"""/desk/insights in a real headless browser (Debian's Chromium driven by Playwright): a
trainer logs in and sees the charts (loaded images) and the numbers; an agent gets 403.

The web server is the real desk application on a free port, reading a migrated, seeded
profile database and a tracker store written in the shape Rasa 3.6 writes (no Rasa needed
for this page)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.booking import now_local
from bot.handoff import tickets
from bot.handoff.agents import add_agent
from bot.web.app import create_app
from tests.insights_store import TrackerStore, stamp
from tests.servers import free_port, seeded_database, serve_in_thread

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "insights-desk-password"

if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (make test installs it as root)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402


def fill_tracker(url: str, today: datetime) -> None:
    store = TrackerStore(sa.create_engine(url, future=True))
    for n, (channel, handoff) in enumerate((("rest", False), ("telegram", True), ("socketio", False))):
        start = stamp(today - timedelta(days=n, hours=1))
        sender = f"visitor-{n}"
        store.session(sender, start, channel)
        store.turn(sender, start + 60, "hei", "greet", "action_greet", channel, "nb")
        if handoff:
            store.user(sender, start + 120, "jeg vil snakke med et menneske", "request_human", channel, "nb")
            store.handoff(sender, start + 121)
    store.save()


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("insights-browser")

    def prepare(session: Session) -> None:
        add_agent(session, "trude", "Trude Trener", PASSWORD, role="trainer")
        add_agent(session, "kari", "Kari", PASSWORD)
        tickets.open_ticket(session, "telegram:visitor-1", "request_human", "nb", now_local())

    db_url = seeded_database(work, prepare)
    tracker_url = f"sqlite:///{work / 'tracker.db'}"
    fill_tracker(tracker_url, now_local())
    patch = pytest.MonkeyPatch()
    patch.setenv("DATABASE_URL", db_url)
    patch.setenv("TRACKER_DATABASE_URL", tracker_url)
    port = free_port()
    stop = serve_in_thread(create_app({"rasa_url": "http://127.0.0.1:9", "rasa_public_url": "http://127.0.0.1:9",
                                       "rasa_token": "t", "demo": True}), port)
    yield f"http://127.0.0.1:{port}"
    stop()
    patch.undo()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield launched
        launched.close()


def log_in(browser, base: str, username: str):
    context = browser.new_context(locale="nb-NO", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/desk/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/desk")
    return context, page


def test_a_trainer_sees_the_charts_and_the_numbers(desk, browser):
    context, page = log_in(browser, desk, "trude")
    try:
        response = page.goto(f"{desk}/desk/insights?dager=7")
        assert response.status == 200
        expect(page.get_by_role("heading", name="Samtaler per dag og kanal")).to_be_visible()
        headline = page.locator(".headlines div", has_text="Løst uten menneske")
        expect(headline.locator("dd")).to_have_text("66,7%")
        expect(page.locator(".headlines div", has_text="Samtaler").first.locator("dd")).to_have_text("3")
        for section in ("samtaler", "andeler", "arsaker", "intensjoner"):
            expect(page.locator(f"#{section} img")).to_have_count(1)
        images = page.locator(".insights img")
        widths = images.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        assert all(width > 0 for width in widths), widths
        expect(page.locator("#arsaker table")).to_contain_text("ba om et menneske")
        page.select_option("select[name=dager]", "90")
        page.click("form.period-form button[type=submit]")
        page.wait_for_url(f"{desk}/desk/insights?dager=90&fra=&til=")
        expect(page.locator(".headlines div", has_text="Samtaler").first.locator("dd")).to_have_text("3")
        page.screenshot(path=str(Path(__file__).resolve().parent.parent / "results" / "desk-insights.png"),
                        full_page=True)
    finally:
        context.close()


def test_an_agent_without_the_trainer_role_gets_403(desk, browser):
    context, page = log_in(browser, desk, "kari")
    try:
        response = page.goto(f"{desk}/desk/insights")
        assert response.status == 403
    finally:
        context.close()
