"""The desk's privacy tools: a customer's data as a JSON file, for an access request (GDPR art. 15).

Agents only (not trainers). Every export is audited: a `privacy_export` event on the ticket it
was asked from, and a log line with ids only.
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiohttp import web

from bot import tracker_events
from bot.db.models import HumanRequest, TicketEvent
from bot.db.session import session_scope
from bot.desk.security import agent_required
from bot.privacy import collect, export_json

log = logging.getLogger(__name__)


@agent_required("agent")
async def customer_export(request: web.Request) -> web.Response:
    customer_id = int(request.match_info["customer_id"])
    ticket_id = request.query.get("ticket", "")
    agent = request["agent"]
    with session_scope() as session:
        try:
            data = collect(session, customer_id, tracker_events.tracker_engine())
        except LookupError:
            raise web.HTTPNotFound(text="no such customer") from None
        ticket = session.get(HumanRequest, int(ticket_id)) if ticket_id.isdigit() else None
        if ticket is not None and ticket.customer_id == customer_id:
            session.add(TicketEvent(ticket_id=ticket.id, agent_id=agent["id"], action="privacy_export",
                                    detail={"customer_id": customer_id}, at=datetime.now()))
    log.info("privacy export of customer %d by agent %s", customer_id, agent["id"])
    return web.Response(
        text=export_json(data), content_type="application/json", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="customer-{customer_id}-export.json"',
                 "Cache-Control": "no-store"},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/desk/customers/{customer_id:\\d+}/export", customer_export)
