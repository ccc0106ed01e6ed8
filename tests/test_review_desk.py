"""/desk/review without a browser: trainers only, filters, errors on the page (not a 500),
not useful, the masked conversation, and saving a test story. Labelling that passes the
validation is driven through a real browser in test_review_browser.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.db.models import ReviewItem
from bot.db.session import session_scope
from bot.handoff import agents
from bot.web.app import create_app
from tests.review_tracker import SENDER, UNCLEAR_MASKED, make_tracker, unclear_event_id
from tests.test_review_annotate import add_item, copy_project

PASSWORD = "a-long-trainer-password"


@pytest.fixture()
def desk(db_url, tmp_path: Path):
    url, _ = make_tracker(tmp_path / "tracker.db")
    data_dir = copy_project(tmp_path / "project")
    with session_scope(db_url) as session:
        agents.add_agent(session, "tina", "Tina Trener", PASSWORD, role="trainer")
        agents.add_agent(session, "kari", "Kari Desk", PASSWORD)
        unclear = add_item(session, UNCLEAR_MASKED, predicted="nlu_fallback", sender=SENDER,
                           event_id=unclear_event_id(url))
        swedish = add_item(session, "hur lång tid tar ett däckbyte?", lang="sv", predicted="ask_price", sender="s2")
    settings = {"rasa_url": "http://127.0.0.1:9", "rasa_public_url": "http://localhost:5005", "rasa_token": "t",
                "demo": True, "data_dir": str(data_dir), "tracker_url": url, "stories_dir": str(tmp_path / "stories")}
    return {"settings": settings, "unclear": unclear, "swedish": swedish, "data_dir": data_dir, "db": db_url,
            "stories": tmp_path / "stories"}


async def logged_in(settings: dict, username: str) -> TestClient:
    client = TestClient(TestServer(create_app(dict(settings))))
    await client.start_server()
    html = await (await client.get("/desk/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    await client.post("/desk/login", data={"csrf": token, "username": username, "password": PASSWORD})
    return client


async def page_and_token(client: TestClient, path: str = "/desk/review") -> tuple[str, str]:
    html = await (await client.get(path)).text()
    return html, re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def test_only_trainers_see_the_review_inbox(desk):
    anonymous = TestClient(TestServer(create_app(dict(desk["settings"]))))
    await anonymous.start_server()
    agent = await logged_in(desk["settings"], "kari")
    try:
        assert (await anonymous.get("/desk/review", allow_redirects=False)).headers["Location"] == "/desk/login"
        assert (await agent.get("/desk/review")).status == 403
        assert (await agent.get(f"/desk/review/{desk['unclear']}/conversation")).status == 403
        _, token = await page_and_token(agent, "/desk")
        refused = await agent.post(f"/desk/review/{desk['unclear']}/not-useful", data={"csrf": token})
        assert refused.status == 403
    finally:
        await anonymous.close()
        await agent.close()


async def test_the_inbox_shows_masked_items_and_filters_by_language(desk):
    trainer = await logged_in(desk["settings"], "tina")
    try:
        html, _ = await page_and_token(trainer)
        assert "jeg heter &lt;name&gt;, ring meg på &lt;phone&gt;" in html and "däckbyte" in html
        assert "usikker" in html and "0.31" in html
        assert '<option value="nlu_fallback"' not in html and '<option value="EXTERNAL_proactive"' not in html
        assert '<option value="ask_price" selected>' in html  # the predicted intent is preselected
        swedish_only, _ = await page_and_token(trainer, "/desk/review?lang=sv")
        assert "däckbyte" in swedish_only and "&lt;phone&gt;" not in swedish_only
        conversation = await (await trainer.get(f"/desk/review/{desk['unclear']}/conversation")).text()
        assert "ring meg på &lt;phone&gt;" in conversation and "Takk &lt;name&gt;, du er booket." in conversation
        assert "912 11 222" not in conversation and "Kari" not in conversation
    finally:
        await trainer.close()


async def test_label_errors_are_shown_on_the_page_and_nothing_is_written(desk):
    trainer = await logged_in(desk["settings"], "tina")
    path = desk["data_dir"] / "nlu" / "sv" / "ask_price.yml"
    before = path.read_bytes()
    try:
        _, token = await page_and_token(trainer)
        assert (await trainer.post(f"/desk/review/{desk['swedish']}/label",
                                   data={"intent": "ask_price"}, allow_redirects=False)).status == 403  # no CSRF
        response = await trainer.post(f"/desk/review/{desk['swedish']}/label", data={
            "csrf": token, "intent": "ask_price", "entity_text": ["däckbyte", ""], "entity": ["car_part", ""],
            "lang": "sv", "status": "new"})
        html = await response.text()
        assert response.status == 200 and str(response.url).endswith("/desk/review?lang=sv&status=new")
        assert "unknown entity &#39;car_part&#39;" in html and 'class="flash error"' in html
        assert path.read_bytes() == before
        with session_scope(desk["db"]) as session:
            assert session.get(ReviewItem, desk["swedish"]).status == "new"
    finally:
        await trainer.close()


async def test_not_useful_and_a_saved_story_from_the_page(desk):
    trainer = await logged_in(desk["settings"], "tina")
    try:
        _, token = await page_and_token(trainer)
        html = await (await trainer.post(f"/desk/review/{desk['swedish']}/not-useful", data={"csrf": token})).text()
        assert "merket som ikke nyttig" in html and "däckbyte" not in html
        html = await (await trainer.post(f"/desk/review/{desk['unclear']}/story",
                                         data={"csrf": token, "name": "bremser"})).text()
        assert "lagret som teststory: bremser.yml" in html
        story = (desk["stories"] / "bremser.yml").read_text(encoding="utf-8")
        assert "912 34 567" in story and "Kari" not in story
        with session_scope(desk["db"]) as session:
            assert (session.get(ReviewItem, desk["swedish"]).status,
                    session.get(ReviewItem, desk["swedish"]).labelled_by) == ("not_useful", "Tina Trener")
    finally:
        await trainer.close()


async def test_a_failed_data_validation_is_shown_on_the_page_and_the_file_kept(desk):
    (desk["data_dir"] / "broken.yml").write_text(
        'version: "3.1"\nstories:\n- story: broken on purpose\n  steps:\n  - intent: greet\n'
        "  - action: action_that_does_not_exist\n", encoding="utf-8")
    path = desk["data_dir"] / "nlu" / "sv" / "ask_price.yml"
    before = path.read_bytes()
    trainer = await logged_in(desk["settings"], "tina")
    try:
        _, token = await page_and_token(trainer)
        response = await trainer.post(f"/desk/review/{desk['swedish']}/label",
                                      data={"csrf": token, "intent": "ask_price"})
        html = await response.text()
        assert response.status == 200
        assert "datavalideringen feilet, ingenting ble lagret" in html and "action_that_does_not_exist" in html
        assert path.read_bytes() == before
        with session_scope(desk["db"]) as session:
            assert session.get(ReviewItem, desk["swedish"]).status == "new"
    finally:
        await trainer.close()
