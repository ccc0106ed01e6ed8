"""/desk/insights: the insights report for trainers, with a period selector.

The page shows exactly what `bot report` writes (the same `render_body`); the figures are
drawn in a worker thread so the desk keeps answering while matplotlib works."""

from __future__ import annotations

import asyncio
from datetime import date
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from bot.booking import now_local
from bot.config import timezone_name
from bot.db.session import session_scope
from bot.desk.security import agent_required, csrf_token
from bot.insights import metrics
from bot.insights.conversations import Period
from bot.tracker_events import tracker_engine

DAY_CHOICES = (7, 30, 90, 365)
MAX_DAYS = 3660


def period_of(query: dict[str, str], today: date) -> Period:
    """The period the selector asks for: `fra`/`til` dates, else the last `dager` days (default 30)."""
    try:
        days = int(query.get("dager") or 30)
        start = date.fromisoformat(query["fra"]) if query.get("fra") else None
        end = date.fromisoformat(query["til"]) if query.get("til") else None
        period = metrics.period_from(min(max(days, 1), MAX_DAYS), start, end, today)
    except ValueError as error:
        raise web.HTTPBadRequest(text=f"ugyldig periode: {error}") from error
    if (period.end - period.start).days >= MAX_DAYS:
        raise web.HTTPBadRequest(text="perioden er for lang")
    return period


def build(period: Period) -> Markup:
    from bot.insights.report import render_body  # matplotlib loads on the first visit, not at start-up

    zone = ZoneInfo(timezone_name())
    with session_scope() as session:
        data = metrics.compute(session, tracker_engine(), period, metrics.RESULTS_DIR, zone)
    return render_body(data)


@agent_required(role="trainer")
async def insights_page(request: web.Request) -> web.Response:
    query = {key: request.query.get(key, "") for key in ("dager", "fra", "til")}
    period = period_of(query, now_local().date())
    body = await asyncio.get_running_loop().run_in_executor(None, build, period)
    return aiohttp_jinja2.render_template("desk_insights.html", request, {
        "agent": request["agent"], "csrf": await csrf_token(request), "body": body, "query": query,
        "day_choices": DAY_CHOICES, "period": period,
    })


def add_routes(app: web.Application) -> None:
    app.router.add_get("/desk/insights", insights_page)
