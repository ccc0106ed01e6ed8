"""`bot review ...`: the trainers' review inbox on the command line.

`add_review_parser(sub)` creates the `review` command and returns its sub-command group,
so more actions are one `add_parser` call each:

    actions = add_review_parser(sub)
    label = actions.add_parser("label", help="...")
    label.set_defaults(func=_label)

Every action gets `args.func`; the handlers import what they need when they run, so
`bot --help` stays fast.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.db.session import session_scope

REASON_CHOICES = ("fallback", "low_confidence", "handoff", "corrected")
STATUS_CHOICES = ("new", "labelled", "not_useful", "all")
LANG_CHOICES = ("nb", "sv", "en")


def _pull(args: argparse.Namespace) -> int:
    from bot.review.mining import pull
    from bot.tracker_events import render_url, tracker_engine, tracker_url

    url = args.tracker_url or tracker_url()
    with session_scope() as session:
        report = pull(session, tracker_engine(url), threshold=args.threshold)
    print(f"tracker store: {render_url(url)}")
    print(report.summary())
    return 0


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_row(item: Any) -> str:
    confidence = f"{item.confidence:.2f}" if item.confidence is not None else "  - "
    reasons = ",".join(item.reasons or [])
    return (f"{item.id:>5}  {item.lang or '?':<3} {reasons:<28} {item.predicted_intent or '-':<22} "
            f"{confidence:>5} {item.occurrences or 1:>4}x  {_clip(item.text or '', 80)}")


def _list(args: argparse.Namespace) -> int:
    from bot.review.mining import list_items

    status = None if args.status == "all" else args.status
    with session_scope() as session:
        items = list_items(session, status=status, lang=args.lang, reason=args.reason, limit=args.limit)
        print(f"{'id':>5}  {'lng':<3} {'reasons':<28} {'predicted':<22} {'conf':>5} {'seen':>5}  text")
        for item in items:
            print(format_row(item))
    print(f"{len(items)} item(s)")
    return 0


def add_review_parser(sub: Any) -> Any:
    """Add `bot review` to the top-level sub-command group `sub`; return its actions group."""
    review = sub.add_parser("review", help="the trainers' review inbox: pull messages from the tracker, list them")
    actions = review.add_subparsers(dest="review_action", required=True, metavar="ACTION")

    pull = actions.add_parser("pull", help="mine the tracker store for messages to review (masked)")
    pull.add_argument("--threshold", type=float, default=0.6,
                      help="top-intent confidence below this is 'low_confidence' (default 0.6)")
    pull.add_argument("--tracker-url", help="SQLAlchemy URL of Rasa's tracker store "
                                            "(default TRACKER_DATABASE_URL, else endpoints.yml)")
    pull.set_defaults(func=_pull)

    listing = actions.add_parser("list", help="show inbox items: id, language, reasons, prediction, masked text")
    listing.add_argument("--status", default="new", choices=STATUS_CHOICES)
    listing.add_argument("--lang", choices=LANG_CHOICES)
    listing.add_argument("--reason", choices=REASON_CHOICES)
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=_list)
    return actions
