"""/desk/insights without a browser: trainers only, the period selector, bad periods refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.db.session import session_scope
from bot.handoff import agents
from tests.conftest import NOW
from tests.insights_store import TrackerStore, stamp
from tests.test_desk import PASSWORD, client, login


@pytest.fixture()
def desk(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr("bot.desk.insights_views.now_local", lambda: NOW)
    with session_scope(db_url) as session:
        agents.add_agent(session, "trude", "Trude Trener", PASSWORD, role="trainer")
        agents.add_agent(session, "kari", "Kari Desk", PASSWORD)
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    store = TrackerStore(sa.create_engine(url, future=True))
    store.session("v", stamp(NOW) - 3600)
    store.turn("v", stamp(NOW) - 3500, "hei", "greet", "action_greet", language="nb")
    store.save()
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    return db_url


async def test_only_trainers_see_insights(desk):
    c = await client()
    try:
        assert (await c.get("/desk/insights", allow_redirects=False)).headers["Location"] == "/desk/login"
        await login(c, "kari")
        assert (await c.get("/desk/insights")).status == 403
        assert "/desk/insights" not in await (await c.get("/desk")).text()
    finally:
        await c.close()


async def test_a_trainer_picks_the_period(desk):
    c = await client()
    try:
        await login(c, "trude")
        assert 'href="/desk/insights"' in await (await c.get("/desk")).text()
        page = await (await c.get("/desk/insights?dager=7")).text()
        assert "2026-11-17" in page and "<dt>Samtaler</dt><dd>1</dd>" in page and "data:image/png;base64," in page
        earlier = await (await c.get("/desk/insights?fra=2026-11-01&til=2026-11-10")).text()
        assert "2026-11-01" in earlier and "<dt>Samtaler</dt><dd>0</dd>" in earlier and "Ingen data ennå" in earlier
        assert (await c.get("/desk/insights?fra=2026-11-10&til=2026-11-01")).status == 400
        assert (await c.get("/desk/insights?dager=sju")).status == 400
    finally:
        await c.close()
