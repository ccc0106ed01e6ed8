"""`bot export CUSTOMER` and `bot erase CUSTOMER`: the privacy rights, for a person at the desk."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import tracker_events
from bot.db.models import Customer
from bot.db.session import session_scope
from bot.privacy.collect import collect, export_json
from bot.privacy.erase import erase_customer, finish_pending


def find_customer(session: Session, key: str) -> Customer | None:
    """A customer by id or demo key (like `bot strategy show`)."""
    if key.isdigit():
        return session.get(Customer, int(key))
    return session.execute(select(Customer).filter_by(demo_key=key)).scalar_one_or_none()


def export_command(args: argparse.Namespace) -> int:
    engine = tracker_events.tracker_engine()
    with session_scope() as session:
        customer = find_customer(session, args.customer)
        if customer is None:
            print(f"no customer {args.customer!r}", file=sys.stderr)
            return 1
        text = export_json(collect(session, customer.id, engine))
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"export written to {args.out}")
    else:
        print(text)
    return 0


def erase_command(args: argparse.Namespace) -> int:
    engine = tracker_events.tracker_engine()
    with session_scope() as session:
        # Conversations an earlier erasure left for later are finished first.
        finish_pending(session, engine)
        customer = find_customer(session, args.customer)
        if customer is None:
            print(f"no customer {args.customer!r}", file=sys.stderr)
            return 1
        customer_id = customer.id
    if not args.yes:
        answer = input(f"Erase customer {customer_id} and all their conversations? This cannot be undone. [y/N] ")
        if answer.strip().lower() not in ("y", "yes", "j", "ja"):
            print("nothing erased")
            return 1
    report = erase_customer(customer_id, engine)
    print(f"customer {customer_id} erased; {report.summary()}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    export = sub.add_parser("export", help="a customer's data as JSON (GDPR access request)")
    export.add_argument("customer", help="customer id or demo key, e.g. demo-coach")
    export.add_argument("--out", help="write to this file instead of standard output")
    export.set_defaults(func=export_command)
    erase = sub.add_parser("erase", help="erase a customer and their conversations (GDPR erasure)")
    erase.add_argument("customer", help="customer id or demo key, e.g. demo-coach")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.set_defaults(func=erase_command)
