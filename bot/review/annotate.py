"""Labelling a review item: its (masked) text becomes a training example in data/nlu.

`label()` is the one way an example enters the data from the review inbox, from the desk and
from `bot review label` alike:

1. the intent and entities must exist in the domain (EXTERNAL_* intents are not said by
   customers and are refused);
2. placeholders left by masking become fixed synthetic values (bot.review.synthetic) and
   entities are written in Rasa's inline annotation, with the value the data already gives
   that text (so "[dekkskift]" keeps meaning tyre_change);
3. a text that is already an example of another intent is refused (contradictory data), a
   text already in the intent is not added twice (the item is still marked labelled);
4. the file `data/nlu/<lang>/<intent>.yml` is rewritten sorted, atomically, then the project's
   data validation runs; when it fails the file gets its old content back and the validator's
   message is raised.

Writes are serialised (a thread lock and an flock on the data directory), so the desk and the
command line can label at the same time without losing an example.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bot.booking import now_local
from bot.config import PROJECT_ROOT
from bot.db.models import ReviewItem
from bot.lang import SUPPORTED
from bot.review.nlu_files import (
    ANNOTATION,
    Domain,
    NluFile,
    ValidationFailed,
    domain_path,
    examples_by_intent,
    load_domain,
    normalise,
    run_validator,
    synonyms,
    write_atomically,
)
from bot.review.stories import save_story
from bot.review.synthetic import Span, render

__all__ = ["LabelError", "LabelResult", "ValidationFailed", "default_data_dir", "label", "mark_not_useful",
           "parse_entity_option", "save_story"]

Validator = Callable[[Path], None]
_write_lock = threading.Lock()


class LabelError(ValueError):
    """The label cannot be applied; the message says why, for the trainer."""


@dataclass(frozen=True)
class LabelResult:
    item_id: int
    intent: str
    path: Path
    example: str
    added: bool  # False: the text was already an example of the intent


def default_data_dir() -> Path:
    """`BOT_DATA_DIR`, else the project's data/ (domain.yml and config.yml sit next to it)."""
    configured = os.environ.get("BOT_DATA_DIR", "").strip()
    return Path(configured) if configured else PROJECT_ROOT / "data"


def parse_entity_option(option: str) -> dict[str, str]:
    """`"dekkskift=service_type"` (the text in the message = the entity) as an entity dict."""
    text, sep, entity = option.rpartition("=")
    if not sep or not text.strip() or not entity.strip():
        raise LabelError(f"entity '{option}' is not TEXT=ENTITY, e.g. \"dekkskift=service_type\"")
    return {"text": text.strip(), "entity": entity.strip()}


def _find(text: str, needle: str) -> tuple[int, int]:
    match = re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", text, flags=re.IGNORECASE)
    if match is None:
        raise LabelError(f"'{needle}' is not a word or phrase of the message")
    return match.start(), match.end()


def _spans(text: str, entities: Sequence[Mapping[str, Any]], domain: Domain,
           known_values: Mapping[tuple[str, str], str]) -> list[Span]:
    spans: list[Span] = []
    for given in entities:
        entity = str(given.get("entity") or "").strip()
        if entity not in domain.entities:
            raise LabelError(f"unknown entity '{entity}': the domain has {', '.join(sorted(domain.entities))}")
        if given.get("start") is not None and given.get("end") is not None:
            start, end = int(given["start"]), int(given["end"])
            if not 0 <= start < end <= len(text):
                raise LabelError(f"entity '{entity}' lies outside the message")
            if (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
                raise LabelError(f"entity '{entity}' must cover whole words, not '{text[start:end]}'")
        else:
            needle = str(given.get("text") or given.get("value") or "").strip()
            if not needle:
                raise LabelError(f"entity '{entity}' needs the word or phrase of the message it covers")
            start, end = _find(text, needle)
        span_text = text[start:end]
        value = str(given["value"]) if given.get("start") is not None and given.get("value") else ""
        if not value or value == span_text:
            value = known_values.get((entity, span_text.casefold()), span_text)
        spans.append(Span(start, end, entity, value))
    spans.sort(key=lambda s: s.start)
    for first, second in zip(spans, spans[1:], strict=False):
        if second.start < first.end:
            raise LabelError(f"entities '{first.entity}' and '{second.entity}' overlap")
    return spans


@contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    with _write_lock:
        handle = os.open(data_dir, os.O_RDONLY)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            os.close(handle)


def _item(session: Session, item_id: int) -> ReviewItem:
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise LabelError(f"no review item {item_id}")
    return item


def _write_and_validate(path: Path, content: str, root: Path, validate: Validator | None) -> None:
    before = path.read_bytes() if path.exists() else None
    write_atomically(path, content)
    if validate is None:
        return
    try:
        validate(root)
    except ValidationFailed:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            write_atomically(path, before.decode("utf-8"))
        raise


def label(
    session: Session,
    item_id: int,
    intent: str,
    entities: Sequence[Mapping[str, Any]] = (),
    trainer: str = "trainer",
    data_dir: Path | None = None,
    validate: Validator | None = run_validator,
    now: datetime | None = None,
) -> LabelResult:
    """Write review item `item_id` as an example of `intent` and mark it labelled.

    `entities`: dicts with `entity` and either `start`/`end` (offsets in the masked text, plus
    an optional normalised `value`) or `text` (a word or phrase of the message). `validate`
    runs the project's data validation; pass None only in tests that do not test it."""
    data_dir = Path(data_dir or default_data_dir()).resolve()
    root = data_dir.parent
    item = _item(session, item_id)
    if item.status == "labelled":
        if item.label_intent != intent:
            raise LabelError(f"item {item_id} is already labelled '{item.label_intent}' in {item.data_file}")
    domain = load_domain(domain_path(root))
    if intent not in domain.customer_intents:
        raise LabelError(f"unknown intent '{intent}': choose one of {', '.join(domain.customer_intents)}")
    if item.lang not in SUPPORTED:
        raise LabelError(f"item {item_id} has no known language ({item.lang!r}), so no NLU file to write to")
    masked = item.text or ""
    if not masked.strip():
        raise LabelError(f"item {item_id} has no text")
    if ANNOTATION.search(masked):
        raise LabelError("the message contains Rasa's annotation syntax ([...](...)); it cannot be an example")
    spans = _spans(masked, entities, domain, synonyms(data_dir) if entities else {})
    plain, annotated = (" ".join(t.split()) for t in render(masked, spans, item.lang))
    path = data_dir / "nlu" / item.lang / f"{intent}.yml"
    with _locked(data_dir):
        key = normalise(plain)
        others = sorted(i for i, texts in examples_by_intent(data_dir).items() if i != intent and key in texts)
        if others:
            raise LabelError(f"'{plain}' is already an example of {', '.join(others)}: labelling it '{intent}' "
                             "would make the data contradict itself")
        nlu = NluFile.read(path, intent)
        added = key not in nlu.texts()
        if added:
            nlu.examples.append(annotated)
            _write_and_validate(path, nlu.render(), root, validate)
    item.status, item.label_intent, item.labelled_by = "labelled", intent, trainer
    item.label_entities = [{"start": s.start, "end": s.end, "entity": s.entity, "value": s.value} for s in spans]
    item.labelled_at = now or now_local()
    item.data_file = str(path.relative_to(root))
    session.flush()
    return LabelResult(item.id, intent, path, annotated, added)


def mark_not_useful(session: Session, item_id: int, trainer: str = "trainer", now: datetime | None = None) -> None:
    """Take an item out of the inbox without writing anything to the data."""
    item = _item(session, item_id)
    if item.status == "labelled":
        raise LabelError(f"item {item_id} is already an example in {item.data_file}; remove it there by hand first")
    item.status, item.labelled_by, item.labelled_at = "not_useful", trainer, now or now_local()
    session.flush()
