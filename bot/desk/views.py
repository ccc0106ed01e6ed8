"""Desk pages and actions. Every POST needs the session's CSRF token; every page a login."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any

import aiohttp
import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session

from bot.booking import now_local
from bot.db.models import HumanRequest
from bot.db.session import session_scope
from bot.desk.rasa_client import RasaClient
from bot.desk.security import agent_required, check_csrf, csrf_token
from bot.handoff import agents, tickets
from bot.profile import profile_view

log = logging.getLogger(__name__)
MAX_REPLY_CHARS = 4000
REASON_LABELS = {"complain": "klage", "request_human": "ba om et menneske", "fallback": "ble ikke forstått",
                 "error": "teknisk feil", "identification": "identifisering", "delete_my_data": "sletting av data",
                 "booking_failed": "bestilling feilet"}


def rasa(request: web.Request) -> RasaClient:
    settings = request.app["settings"]
    return RasaClient(request.app["http"], str(settings["rasa_url"]), str(settings["rasa_token"]))


def queue_snapshot(now: datetime) -> list[dict[str, Any]]:
    with session_scope() as session:
        rows = []
        for t in tickets.queue(session):
            agent = t.agent_id
            rows.append({
                "id": t.id, "status": t.status, "priority": t.priority, "reason": t.reason,
                "reason_label": REASON_LABELS.get(t.reason, t.reason), "channel": t.channel, "language": t.language,
                "waiting_min": int((now - t.created_at).total_seconds() // 60) if t.created_at else 0,
                "agent_id": agent, "customer_id": t.customer_id,
            })
        return rows


async def login_page(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("desk_login.html", request,
                                          {"csrf": await csrf_token(request), "error": request.query.get("error")})


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    await check_csrf(request, form)
    address = request.remote or "unknown"
    if not request.app["login_limiter"].allow(address):
        raise web.HTTPTooManyRequests(text="too many login attempts: wait a few minutes")
    username, password = str(form.get("username", ""))[:64], str(form.get("password", ""))[:256]
    with session_scope() as session:
        agent = agents.login(session, username, password, now_local())
        found = (agent.id, agent.display_name, agent.role) if agent else None
    if found is None:
        raise web.HTTPFound("/desk/login?error=1")
    session = await new_session(request)  # a fresh session id on login: no session fixation
    session["agent_id"], session["name"], session["role"] = found
    raise web.HTTPFound("/desk")


async def logout(request: web.Request) -> web.Response:
    form = await request.post()
    await check_csrf(request, form)
    (await get_session(request)).invalidate()
    raise web.HTTPFound("/desk/login")


@agent_required()
async def queue_page(request: web.Request) -> web.Response:
    with session_scope() as session:
        agents.seen(session, request["agent"]["id"], now_local())
    return aiohttp_jinja2.render_template("desk_queue.html", request, {
        "agent": request["agent"], "csrf": await csrf_token(request), "queue": queue_snapshot(now_local()),
    })


@agent_required()
async def queue_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the queue whenever it changes."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    last = None
    try:
        for _ in range(3600):  # the browser reconnects after an hour
            snapshot = json.dumps(queue_snapshot(now_local()))
            if snapshot != last:
                await response.write(f"event: queue\ndata: {snapshot}\n\n".encode())
                last = snapshot
            await asyncio.sleep(1)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


def _turns(tracker: dict[str, Any]) -> list[dict[str, Any]]:
    turns = []
    for event in tracker.get("events") or []:
        kind = event.get("event")
        if kind == "user":
            text = (event.get("metadata") or {}).get("display") or event.get("text") or ""
            if text.startswith("/EXTERNAL") or not text:
                continue
            turns.append({"from": "customer", "text": text, "at": event.get("timestamp")})
        elif kind == "bot":
            agent = (event.get("metadata") or {}).get("agent")
            turns.append({"from": "agent" if agent else "bot", "who": agent, "text": event.get("text") or "",
                          "at": event.get("timestamp")})
    return turns


async def _ticket_context(request: web.Request, ticket_id: int) -> dict[str, Any]:
    with session_scope() as session:
        ticket = session.get(HumanRequest, ticket_id)
        if ticket is None:
            raise web.HTTPNotFound(text="no such ticket")
        info = {"id": ticket.id, "status": ticket.status, "reason": REASON_LABELS.get(ticket.reason, ticket.reason),
                "priority": ticket.priority, "channel": ticket.channel, "sender_id": ticket.sender_id,
                "agent_id": ticket.agent_id, "summary": ticket.summary or {}, "language": ticket.language}
        profile = profile_view(session, ticket.customer_id, "nb", now_local()) if ticket.customer_id else None
        trail = [(e.action, e.at) for e in tickets.history(session, ticket_id)]
    try:
        transcript = _turns(await rasa(request).tracker(info["sender_id"])) if info["sender_id"] else []
    except aiohttp.ClientError:
        transcript = []
    return {"ticket": info, "profile": profile, "transcript": transcript, "trail": trail}


@agent_required()
async def ticket_page(request: web.Request) -> web.Response:
    context = await _ticket_context(request, int(request.match_info["ticket_id"]))
    context.update(agent=request["agent"], csrf=await csrf_token(request))
    return aiohttp_jinja2.render_template("desk_ticket.html", request, context)


@agent_required()
async def ticket_transcript(request: web.Request) -> web.Response:
    """The transcript as JSON, for the page to refresh itself while the customer writes."""
    context = await _ticket_context(request, int(request.match_info["ticket_id"]))
    return web.json_response({"transcript": context["transcript"], "status": context["ticket"]["status"]})


@agent_required()
async def ticket_action(request: web.Request) -> web.Response:
    """claim, transfer and close change the ticket; reply and handback reach the customer
    through Rasa first and are recorded only when that worked."""
    ticket_id, action = int(request.match_info["ticket_id"]), request.match_info["action"]
    if action not in ("claim", "transfer", "reply", "handback", "close"):
        raise web.HTTPNotFound(text="unknown action")
    form = await request.post()
    await check_csrf(request, form)
    agent, now = request["agent"], now_local()
    text = str(form.get("text", "")).strip()
    with session_scope() as session:
        ticket = session.get(HumanRequest, ticket_id)
        if ticket is None:
            raise web.HTTPNotFound(text="no such ticket")
        sender_id, channel = ticket.sender_id, ticket.channel
        if action == "claim" and not tickets.claim(session, ticket_id, agent["id"], now):
            raise web.HTTPConflict(text="another agent has this conversation already")
        if action == "transfer" and not tickets.transfer(session, ticket_id, agent["id"], str(form.get("to", "")), now):
            raise web.HTTPConflict(text="only the agent who has the conversation can transfer it, to a known agent")
        if action in ("reply", "handback", "close") and tickets.owned(session, ticket_id, agent["id"]) is None:
            raise web.HTTPConflict(text="claim the conversation first")
    if action == "reply" and not 0 < len(text) <= MAX_REPLY_CHARS:
        raise web.HTTPBadRequest(text=f"a reply has 1 to {MAX_REPLY_CHARS} characters")
    if action in ("reply", "handback", "close"):
        try:
            if action == "reply":
                await rasa(request).say(sender_id, channel, text, str(agent["name"]))
            elif action == "handback":
                await rasa(request).hand_back(sender_id, channel)
            else:  # closed: the bot takes the customer's next message, without a greeting
                await rasa(request).resume(sender_id)
        except (aiohttp.ClientError, TimeoutError):
            log.exception("desk %s for ticket %s could not reach Rasa", action, ticket_id)
            raise web.HTTPBadGateway(text="the assistant could not be reached: nothing was sent, try again") from None
        with session_scope() as session:
            if action == "reply":
                tickets.record_reply(session, ticket_id, agent["id"], now, len(text))
            else:
                tickets.finish(session, ticket_id, agent["id"], now, handed_back=action == "handback")
    raise web.HTTPFound("/desk" if action in ("handback", "close") else f"/desk/ticket/{ticket_id}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/desk/login", login_page)
    app.router.add_post("/desk/login", login)
    app.router.add_post("/desk/logout", logout)
    app.router.add_get("/desk", queue_page)
    app.router.add_get("/desk/events", queue_events)
    app.router.add_get("/desk/ticket/{ticket_id:\\d+}", ticket_page)
    app.router.add_get("/desk/ticket/{ticket_id:\\d+}/transcript", ticket_transcript)
    app.router.add_post("/desk/ticket/{ticket_id:\\d+}/{action}", ticket_action)
