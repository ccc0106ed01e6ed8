"""The web chat page in a real headless browser (Debian's Chromium driven by Playwright)
against the running stack: book by typing and tapping, reload and keep the history, and
receive a bot-initiated message. A screenshot is saved under results/."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from bot.config import PROJECT_ROOT
from bot.handoff.agents import add_agent
from bot.runner import Stack, latest_model, start_stack
from tests.servers import free_port, seeded_database
from tests.telegram_standin import StandIn
from tests.test_telegram_e2e import SECRET, message_update, post_update

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RESULTS = PROJECT_ROOT / "results"
AGENT_PASSWORD = "browser-desk-password"

if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (make test installs it as root)", allow_module_level=True)
if not (PROJECT_ROOT / "var" / "vendor" / "socket.io.min.js").exists():
    pytest.skip("the socket.io client is not vendored yet (make install)", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, standin: StandIn) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("webchat")

    def prepare(session: Session) -> None:
        add_agent(session, "kari", "Kari", AGENT_PASSWORD)

    url = seeded_database(work, prepare)
    running = start_stack(free_port(), free_port(), latest_model(), work, web_port=free_port(),
                          extra_env={"DATABASE_URL": url, "BOT_ENV": "dev", "TELEGRAM_TOKEN": standin.token,
                                     "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_API_BASE_URL": standin.base_url})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield launched
        launched.close()


@pytest.fixture()
def page(browser) -> Iterator[Page]:
    context = browser.new_context(locale="nb-NO", viewport={"width": 420, "height": 820})
    opened = context.new_page()
    yield opened
    context.close()


def bot_messages(page: Page):
    return page.locator("li.message.bot .bubble")


def say(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def test_book_by_typing_and_tapping_then_reload_keeps_the_history(stack, page):
    page.goto(f"{stack.web_url}/chat?session=demo-respond")
    expect(page.locator("#status")).to_have_text("Tilkoblet", timeout=30_000)
    say(page, "jeg vil bestille vask neste onsdag")
    times = page.locator("li.message.bot .buttons button")
    expect(times.first).to_be_visible(timeout=30_000)
    times.first.click()  # a free time
    expect(page.locator("li.message.bot .bubble", has_text="lånebil")).to_be_visible(timeout=30_000)
    page.locator("li.message.bot").last.locator("button", has_text="Nei").click()
    expect(page.locator("li.message.bot .bubble", has_text="Skal jeg bestille")).to_be_visible(timeout=30_000)
    page.locator("li.message.bot").last.locator("button", has_text="Ja").click()
    confirmed = page.locator("li.message.bot .bubble", has_text="FB-")
    expect(confirmed).to_be_visible(timeout=30_000)
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "webchat-booking.png"), full_page=True)
    count = bot_messages(page).count()

    page.reload()
    expect(page.locator("li.message.bot .bubble", has_text="FB-")).to_be_visible(timeout=30_000)
    assert bot_messages(page).count() >= count - 1  # the history is back (welcome line aside)
    expect(page.locator("li.message.user .bubble", has_text="jeg vil bestille vask")).to_be_visible()


def test_a_server_issued_session_survives_a_reload_and_no_other_browser_reads_it(stack, browser):
    mine, theirs = browser.new_context(locale="en-GB"), browser.new_context(locale="en-GB")
    try:
        page = mine.new_page()
        page.goto(f"{stack.web_url}/chat")
        expect(page.locator("#status")).to_have_text("Connected", timeout=30_000)
        say(page, "what does a tyre change cost?")
        expect(page.locator("li.message.bot .bubble", has_text="890")).to_be_visible(timeout=30_000)
        session = page.locator("main.chat").get_attribute("data-session")
        assert session and len(session) == 32   # random, issued by the server

        page.reload()   # the HttpOnly cookie brings the same conversation back
        expect(page.locator("li.message.bot .bubble", has_text="890")).to_be_visible(timeout=30_000)
        assert page.locator("main.chat").get_attribute("data-session") == session
        assert "fjordbil_chat" not in page.evaluate("document.cookie")   # out of reach of scripts

        other = theirs.new_page()
        other.goto(f"{stack.web_url}/chat")
        expect(other.locator("#status")).to_have_text("Connected", timeout=30_000)
        assert other.locator("main.chat").get_attribute("data-session") != session
        status = other.evaluate("id => fetch('/chat/history/' + id).then(r => r.status)", session)
        assert status == 403
        expect(other.locator("li.message.bot .bubble", has_text="890")).to_have_count(0)
    finally:
        mine.close()
        theirs.close()


def test_bot_initiated_message_is_shown(stack, page):
    page.goto(f"{stack.web_url}/chat?session=web-proactive-1&lang=en")
    expect(page.locator("#status")).to_have_text("Connected", timeout=30_000)
    expect(page.locator("li.message.bot .bubble").first).to_be_visible(timeout=30_000)  # welcome, joined
    request = urllib.request.Request(
        f"{stack.rasa_url}/conversations/webchat:web-proactive-1/trigger_intent?output_channel=webchat&token={stack.token}",
        data=json.dumps({"name": "ask_opening_hours"}).encode(), headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
    expect(page.locator("li.message.bot .bubble", has_text="07:30")).to_be_visible(timeout=30_000)


def test_page_speaks_the_browsers_language(stack, browser):
    context = browser.new_context(locale="sv-SE")
    page = context.new_page()
    page.goto(f"{stack.web_url}/chat")
    expect(page.locator("#text")).to_have_attribute("placeholder", "Skriv ett meddelande …")
    expect(page.locator("li.message.bot .bubble").first).to_contain_text("Hej!", timeout=30_000)
    context.close()


def test_an_agent_takes_over_from_the_desk_and_hands_back(stack, browser, standin):
    customer_ctx = browser.new_context(locale="nb-NO")
    agent_ctx = browser.new_context(locale="nb-NO", viewport={"width": 1200, "height": 800})
    customer, agent = customer_ctx.new_page(), agent_ctx.new_page()
    try:
        customer.goto(f"{stack.web_url}/chat?session=web-handoff-1")
        expect(customer.locator("#status")).to_have_text("Tilkoblet", timeout=30_000)
        say(customer, "jeg vil snakke med et menneske")
        expect(customer.locator("li.message.bot .bubble", has_text="køen")).to_be_visible(timeout=30_000)
        post_update(stack, message_update("jeg vil snakke med et menneske", chat=777000555))  # a Telegram customer

        agent.goto(f"{stack.web_url}/desk")
        expect(agent).to_have_url(f"{stack.web_url}/desk/login")
        agent.fill("input[name=username]", "kari")
        agent.fill("input[name=password]", AGENT_PASSWORD)
        agent.click("button[type=submit]")
        rows = agent.locator("#queue tbody tr")
        expect(rows).to_have_count(2, timeout=30_000)  # both customers, live
        agent.locator("#queue tbody tr", has_text="webchat").locator("a").click()
        agent.click("#claim")
        agent.fill("#reply", "Hei, det er Kari. Hva kan jeg hjelpe deg med?")
        agent.click(".reply button")
        expect(customer.locator("li.message.bot .bubble", has_text="det er Kari")).to_be_visible(timeout=30_000)

        say(customer, "jeg lurer på fakturaen min")
        expect(agent.locator("#transcript li.customer", has_text="fakturaen min")).to_be_visible(timeout=30_000)
        RESULTS.mkdir(exist_ok=True)
        agent.screenshot(path=str(RESULTS / "desk-conversation.png"), full_page=True)

        agent.click("#handback")
        expect(customer.locator("li.message.bot .bubble", has_text="tilbake hos meg")).to_be_visible(timeout=30_000)
        say(customer, "hva koster dekkskift?")
        expect(customer.locator("li.message.bot .bubble", has_text="890")).to_be_visible(timeout=30_000)
    finally:
        customer_ctx.close()
        agent_ctx.close()
