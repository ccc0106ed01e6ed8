"""/desk/review: the trainers' review inbox in the desk (trainer role only).

A trainer filters the inbox (language, reason, status), reads the masked message and, behind
a link, the masked conversation it came from, and then labels it (intent and entities, from
the domain), marks it not useful, or saves the conversation as a test story. Labelling runs
the project's data validation, which takes a while, in a worker thread; what went wrong
(an unknown entity, contradictory data, the validator's message) is shown on the page.

The data directory, the tracker store and the stories directory come from the app's settings
(`data_dir`, `tracker_url`, `stories_dir`) so tests can point them at copies; by default
BOT_DATA_DIR / the project's data/, the configured tracker store, and tests/stories.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from sqlalchemy.engine import Engine

from bot.config import PROJECT_ROOT
from bot.db.session import session_scope
from bot.desk.security import agent_required, check_csrf, csrf_token
from bot.masking import mask
from bot.review.annotate import LabelError, ValidationFailed, default_data_dir, label, mark_not_useful
from bot.review.mining import customer_names, get_item, list_items
from bot.review.nlu_files import domain_path, load_domain
from bot.review.stories import StoryError, save_story
from bot.tracker_events import conversation, tracker_engine

REASON_LABELS = {"fallback": "ikke forstått", "low_confidence": "usikker", "handoff": "sendt til menneske",
                 "corrected": "rettet av kunden"}
STATUS_LABELS = {"new": "nye", "labelled": "merket", "not_useful": "ikke nyttige"}
LANGUAGES = ("nb", "sv", "en")
ENTITY_ROWS = 3
PAGE_SIZE = 100


def _data_dir(request: web.Request) -> Path:
    configured = request.app["settings"].get("data_dir")
    return Path(str(configured)) if configured else default_data_dir()


def _tracker(request: web.Request) -> Engine:
    url = request.app["settings"].get("tracker_url")
    return tracker_engine(str(url) if url else None)


def _stories_dir(request: web.Request) -> Path:
    configured = request.app["settings"].get("stories_dir")
    return Path(str(configured)) if configured else PROJECT_ROOT / "tests" / "stories"


def _filters(values: Any) -> dict[str, str]:
    lang, reason, status = (str(values.get(k, "") or "") for k in ("lang", "reason", "status"))
    return {"lang": lang if lang in LANGUAGES else "", "reason": reason if reason in REASON_LABELS else "",
            "status": status if status in STATUS_LABELS or status == "all" else "new"}


def _back(filters: dict[str, str], anchor: str = "") -> web.HTTPFound:
    query = urlencode({k: v for k, v in filters.items() if v})
    return web.HTTPFound(f"/desk/review{'?' + query if query else ''}{anchor}")


async def _flash(request: web.Request, kind: str, text: str) -> None:
    (await get_session(request))["review_flash"] = {"kind": kind, "text": text[:3000]}


@agent_required(role="trainer")
async def review_page(request: web.Request) -> web.Response:
    filters = _filters(request.query)
    domain = load_domain(domain_path(_data_dir(request).parent))
    with session_scope() as session:
        items = [{
            "id": i.id, "text": i.text, "lang": i.lang, "predicted": i.predicted_intent,
            "confidence": i.confidence, "occurrences": i.occurrences or 1, "status": i.status,
            "reasons": [REASON_LABELS.get(r, r) for r in i.reasons or []], "label": i.label_intent,
            "data_file": i.data_file,
        } for i in list_items(session, status=None if filters["status"] == "all" else filters["status"],
                              lang=filters["lang"] or None, reason=filters["reason"] or None, limit=PAGE_SIZE)]
    flash = (await get_session(request)).pop("review_flash", None)
    return aiohttp_jinja2.render_template("desk_review.html", request, {
        "agent": request["agent"], "csrf": await csrf_token(request), "items": items, "filters": filters,
        "intents": domain.customer_intents, "entities": sorted(domain.entities), "flash": flash,
        "reason_labels": REASON_LABELS, "status_labels": STATUS_LABELS, "languages": LANGUAGES,
        "entity_rows": range(ENTITY_ROWS),
    })


def _transcript(engine: Engine, sender_id: str) -> list[dict[str, str]]:
    events = conversation(engine, sender_id)
    with session_scope() as session:
        names = customer_names(session, events)
    turns = []
    for event in events:
        if event.type_name not in ("user", "bot") or not event.text or event.text.startswith("/"):
            continue
        agent = event.metadata.get("agent") if event.type_name == "bot" else None
        who = "Kunde" if event.type_name == "user" else ("Medarbeider" if agent else "Bot")
        turns.append({"from": "customer" if event.type_name == "user" else ("agent" if agent else "bot"),
                      "who": who, "text": mask(event.text, names)})
    return turns


@agent_required(role="trainer")
async def conversation_page(request: web.Request) -> web.Response:
    with session_scope() as session:
        item = get_item(session, int(request.match_info["item_id"]))
        if item is None:
            raise web.HTTPNotFound(text="no such review item")
        info = {"id": item.id, "text": item.text, "lang": item.lang, "sender_id": item.sender_id}
    turns = await asyncio.get_running_loop().run_in_executor(None, _transcript, _tracker(request),
                                                             str(info["sender_id"] or ""))
    return aiohttp_jinja2.render_template("desk_review_conversation.html", request, {
        "agent": request["agent"], "csrf": await csrf_token(request), "item": info, "transcript": turns,
    })


def _entities(form: Any) -> list[dict[str, str]]:
    texts, names = form.getall("entity_text", []), form.getall("entity", [])
    return [{"text": str(t).strip(), "entity": str(n).strip()} for t, n in zip(texts, names, strict=False)
            if str(t).strip() and str(n).strip()]


def _label(item_id: int, intent: str, entities: list[dict[str, str]], trainer: str, data_dir: Path) -> str:
    with session_scope() as session:
        result = label(session, item_id, intent, entities, trainer, data_dir=data_dir)
    where = f"{result.path.parent.name}/{result.path.name}"
    if result.added:
        return f"Lagt til i {where}: «{result.example}»"
    return f"Fantes allerede i {where}; meldingen er merket."


def _not_useful(item_id: int, trainer: str) -> str:
    with session_scope() as session:
        mark_not_useful(session, item_id, trainer)
    return f"Melding {item_id} er merket som ikke nyttig."


def _story(item_id: int, name: str, engine: Engine, out_dir: Path, root: Path) -> str:
    with session_scope() as session:
        item = get_item(session, item_id)
        if item is None or not item.sender_id:
            raise StoryError("no conversation for that item")
        path = save_story(session, engine, item.sender_id, name or None, out_dir, root=root)
    return f"Samtalen er lagret som teststory: {path.name}"


@agent_required(role="trainer")
async def review_action(request: web.Request) -> web.Response:
    item_id, action = int(request.match_info["item_id"]), request.match_info["action"]
    if action not in ("label", "not-useful", "story"):
        raise web.HTTPNotFound(text="unknown action")
    form = await request.post()
    await check_csrf(request, form)
    filters, trainer = _filters(form), str(request["agent"]["name"] or request["agent"]["id"])
    data_dir = _data_dir(request)
    loop = asyncio.get_running_loop()
    try:
        if action == "label":
            text = await loop.run_in_executor(None, _label, item_id, str(form.get("intent", "")),
                                              _entities(form), trainer, data_dir)
        elif action == "not-useful":
            text = await loop.run_in_executor(None, _not_useful, item_id, trainer)
        else:
            text = await loop.run_in_executor(None, _story, item_id, str(form.get("name", "")).strip()[:120],
                                              _tracker(request), _stories_dir(request), data_dir.parent)
    except (LabelError, StoryError) as error:
        await _flash(request, "error", f"Melding {item_id}: {error}")
        raise _back(filters, f"#item-{item_id}") from None
    except ValidationFailed as error:
        await _flash(request, "error", f"Melding {item_id}: datavalideringen feilet, ingenting ble lagret.\n{error}")
        raise _back(filters, f"#item-{item_id}") from None
    await _flash(request, "ok", text)
    raise _back(filters)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/desk/review", review_page)
    app.router.add_get("/desk/review/{item_id:\\d+}/conversation", conversation_page)
    app.router.add_post("/desk/review/{item_id:\\d+}/{action}", review_action)
