"""A real conversation from the tracker store as a Rasa test story (tests/stories/*.yml).

Trainers keep conversations that went wrong (or right) as conversation tests, so the next
model is checked against them (`rasa test core --stories tests/stories`). The story has the
customer's words masked (bot.masking) with the synthetic stand-ins of bot.review.synthetic,
the intent a trainer gave the message in the review inbox where there is one (else the one
the model predicted), the actions the bot took, form activity, and only the slots that steer
the dialogue (`influence_conversation`, requested_slot). Session starts, action_listen, bot
utterances and messages written while a person had the conversation are left out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.config import PROJECT_ROOT
from bot.db.models import ReviewItem
from bot.lang import DEFAULT_LANGUAGE, SUPPORTED
from bot.masking import mask
from bot.review.mining import customer_names
from bot.review.nlu_files import domain_path
from bot.review.synthetic import Span, render, unmask
from bot.tracker_events import Event, conversation

SKIPPED_ACTIONS = {"action_listen", "action_session_start", "action_extract_slots", "action_unlikely_intent"}
DERIVED_ENTITIES = {"language"}  # set by a pipeline component over the whole text, not annotated


class StoryError(ValueError):
    """The story cannot be saved; the message says why."""


def story_slots(root: Path) -> dict[str, str]:
    """Slots that steer the dialogue, with their type: only those belong in a story."""
    path = domain_path(root)
    files = sorted(path.rglob("*.yml")) if path.is_dir() else [path]
    steering = {"requested_slot": "categorical"}  # its value (which slot is asked for) matters
    for file in files:
        for name, spec in ((yaml.safe_load(file.read_text(encoding="utf-8")) or {}).get("slots") or {}).items():
            spec = spec or {}
            kind = str(spec.get("type", "text"))
            if spec.get("influence_conversation", kind != "any"):
                steering[str(name)] = kind
    return steering


def _names(session: Session | None, events: list[Event]) -> list[str]:
    """The same names the review miner masks (bot.review.mining.customer_names)."""
    if session is not None:
        return customer_names(session, events)
    return [str(e.data.get("value")) for e in events if e.type_name == "slot"
            and e.data.get("name") == "customer_name" and e.data.get("value")]


def _masked_with_entities(text: str, entities: Iterable[dict[str, Any]], names: list[str],
                          lang: str) -> str:
    """The masked, annotated text. Pieces between entity boundaries are masked one by one, so
    offsets survive; if that masks differently from masking the whole text, no annotations."""
    spans = sorted((e for e in entities if e.get("entity") not in DERIVED_ENTITIES
                    and isinstance(e.get("start"), int) and isinstance(e.get("end"), int)),
                   key=lambda e: e["start"])
    whole = mask(text, names)
    masked, cursor, shifted = "", 0, []
    for entity in spans:
        if entity["start"] < cursor:
            return unmask(whole, lang)
        masked += mask(text[cursor:entity["start"]], names)
        piece = mask(text[entity["start"]:entity["end"]], names)
        value = str(entity.get("value", piece))
        shifted.append(Span(len(masked), len(masked) + len(piece), str(entity["entity"]),
                            piece if value == text[entity["start"]:entity["end"]] else value))
        masked += piece
        cursor = entity["end"]
    masked += mask(text[cursor:], names)
    if masked != whole:
        return unmask(whole, lang)
    return render(masked, shifted, lang)[1]


def _steps(events: list[Event], labels: dict[int, ReviewItem], slots: dict[str, str],
           names: list[str]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    lang, paused = DEFAULT_LANGUAGE, False
    for event in events:
        kind, data = event.type_name, event.data
        if kind == "pause":
            paused = True
        elif kind == "resume":
            paused = False
        elif kind == "slot" and data.get("name") == "language" and data.get("value") in SUPPORTED:
            lang = str(data["value"])
        if kind == "user" and not paused:
            parse = data.get("parse_data") or {}
            item = labels.get(event.id)
            intent = (item.label_intent if item else None) or (parse.get("intent") or {}).get("name") \
                or event.intent_name
            if not intent:
                continue
            text = " ".join(str(data.get("text") or "").split())
            if not text or text.startswith("/"):
                entities = [{e["entity"]: e.get("value")} for e in parse.get("entities") or []
                             if e.get("entity") not in DERIVED_ENTITIES]
                steps.append({"intent": intent, **({"entities": entities} if entities else {})})
                continue
            if item is not None:
                spans = [Span(int(e["start"]), int(e["end"]), str(e["entity"]), str(e["value"]))
                         for e in item.label_entities or []]
                user = render(item.text or "", spans, item.lang or lang)[1]
            else:
                user = _masked_with_entities(text, parse.get("entities") or [], names, lang)
            steps.append({"user": " ".join(user.split()), "intent": intent})
        elif kind == "action" and not paused and (event.action_name or data.get("name")) not in SKIPPED_ACTIONS:
            steps.append({"action": event.action_name or data.get("name")})
        elif kind == "active_loop":
            steps.append({"active_loop": data.get("name")})
        elif kind == "slot" and data.get("name") in slots:
            name, value = str(data["name"]), data.get("value")
            keep_name_only = slots[name] in ("text", "list") and value is not None
            steps.append({"slot_was_set": [name if keep_name_only else {name: value}]})
    return steps


def _yaml(name: str, steps: list[dict[str, Any]]) -> str:
    out = ['version: "3.1"', "stories:", f"  - story: {json.dumps(name, ensure_ascii=False)}", "    steps:"]
    for step in steps:
        if "user" in step:
            out += ["      - user: |", f"          {step['user']}", f"        intent: {step['intent']}"]
        elif "intent" in step:
            out.append(f"      - intent: {step['intent']}")
            if step.get("entities"):
                out.append("        entities:")
                out += [f"          - {json.dumps(e, ensure_ascii=False)}" for e in step["entities"]]
        elif "slot_was_set" in step:
            out.append("      - slot_was_set:")
            out += [f"          - {json.dumps(s, ensure_ascii=False) if isinstance(s, dict) else s}"
                    for s in step["slot_was_set"]]
        else:
            key, value = next(iter(step.items()))
            out.append(f"      - {key}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(out) + "\n"


def story_file_name(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")
    return f"{slug or 'story'}.yml"


def save_story(
    session: Session | None,
    engine: Engine,
    sender_id: str,
    name: str | None = None,
    out_dir: Path | None = None,
    root: Path = PROJECT_ROOT,
) -> Path:
    """Write the conversation `sender_id` as a test story; returns the file written."""
    events = conversation(engine, sender_id)
    if not any(e.type_name == "user" for e in events):
        raise StoryError("no customer message in that conversation")
    name = (name or "").strip() or f"review {hashlib.sha256(sender_id.encode()).hexdigest()[:8]}"
    labels: dict[int, ReviewItem] = {}
    if session is not None:
        rows = session.execute(select(ReviewItem).where(ReviewItem.sender_id == sender_id,
                                                        ReviewItem.status == "labelled")).scalars()
        labels = {row.event_id: row for row in rows if row.event_id is not None}
    steps = _steps(events, labels, story_slots(root), _names(session, events))
    if not steps:
        raise StoryError("nothing in that conversation makes a story")
    content = _yaml(name, steps)
    yaml.safe_load(content)  # never write a file Rasa cannot read
    path = (out_dir or PROJECT_ROOT / "tests" / "stories") / story_file_name(name)
    if path.exists():
        raise StoryError(f"{path.name} exists already: choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path
