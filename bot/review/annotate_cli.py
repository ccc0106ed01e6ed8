"""`bot review label|story`: labelling inbox items and saving conversations as test stories.

    bot review label 12 book_service --entity "dekkskift=service_type"
    bot review label 13 --not-useful
    bot review story telegram-4711 --name "nb tyre change misunderstood"

Errors (unknown item, intent or entity, contradictory data, failed validation) exit with 2
and say why on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from bot.db.session import session_scope


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _label(args: argparse.Namespace) -> int:
    from bot.review.annotate import LabelError, ValidationFailed, label, mark_not_useful, parse_entity_option

    trainer = args.trainer
    try:
        with session_scope() as session:
            if args.not_useful:
                if args.intent or args.entity:
                    return _fail("--not-useful takes no intent or entities")
                mark_not_useful(session, args.id, trainer)
                print(f"item {args.id}: not useful")
                return 0
            if not args.intent:
                return _fail("give an INTENT, or --not-useful")
            entities = [parse_entity_option(option) for option in args.entity or []]
            data_dir = Path(args.data_dir) if args.data_dir else None
            result = label(session, args.id, args.intent, entities, trainer, data_dir=data_dir)
    except (LabelError, ValidationFailed) as error:
        return _fail(str(error))
    done = "added to" if result.added else "already in"
    print(f"item {result.item_id}: '{result.example}' {done} {result.path}")
    return 0


def _story(args: argparse.Namespace) -> int:
    from bot.review.stories import StoryError, save_story
    from bot.tracker_events import tracker_engine

    try:
        with session_scope() as session:
            path = save_story(session, tracker_engine(args.tracker_url), args.sender_id, args.name,
                              Path(args.out_dir) if args.out_dir else None)
    except StoryError as error:
        return _fail(str(error))
    print(f"story written to {path}")
    return 0


def add_annotate_actions(actions: Any) -> None:
    """Add `label` and `story` to the `bot review` actions group."""
    label = actions.add_parser("label", help="write an inbox item as an NLU example of INTENT (validated), "
                                             "or mark it --not-useful")
    label.add_argument("id", type=int, help="the item's id (bot review list)")
    label.add_argument("intent", nargs="?", help="an intent of domain.yml")
    label.add_argument("--entity", action="append", metavar="TEXT=ENTITY",
                       help='a word or phrase of the message and its entity, e.g. "dekkskift=service_type"; '
                            "repeatable")
    label.add_argument("--not-useful", action="store_true", help="take the item out of the inbox, write nothing")
    label.add_argument("--trainer", default=os.environ.get("USER") or "trainer",
                       help="who labels (default: the OS user)")
    label.add_argument("--data-dir", help="the data/ to write to (default BOT_DATA_DIR, else the project's)")
    label.set_defaults(func=_label)

    story = actions.add_parser("story", help="save a conversation from the tracker store as a test story "
                                             "(masked) in tests/stories/")
    story.add_argument("sender_id", help="the conversation (Rasa sender id)")
    story.add_argument("--name", help="the story's name (default: review + a hash of the sender id)")
    story.add_argument("--out-dir", help="where to write (default tests/stories)")
    story.add_argument("--tracker-url", help="SQLAlchemy URL of Rasa's tracker store "
                                             "(default TRACKER_DATABASE_URL, else endpoints.yml)")
    story.set_defaults(func=_story)
