"""The database a load test runs against: the business and demo data, generated customers
of all four strategies known on the REST channel as `load-0`, `load-1`, ..., and a desk
that answers around the clock (so a handoff gets a place in the queue at any hour)."""

from __future__ import annotations

import yaml
from sqlalchemy import insert, select

from bot.bench_strategy import build_database
from bot.config import PROJECT_ROOT
from bot.db.models import ChannelIdentity, Customer, Setting
from bot.db.session import session_scope
from bot.handoff.tickets import around_the_clock
from bot.i18n import CHANNEL_TEXTS

DEMO_CUSTOMERS = 6


def build(url: str, customers: int) -> int:
    """Migrate and fill `url`; returns how many `load-N` senders are known customers."""
    build_database(url, customers + DEMO_CUSTOMERS)
    with session_scope(url) as session:
        session.merge(Setting(key="support_hours", value=around_the_clock()))
        known = session.execute(
            select(ChannelIdentity.external_id).where(ChannelIdentity.external_id.like("load-%"))
        ).scalars().all()
        if len(known) < customers:
            ids = session.execute(
                select(Customer.id).where(Customer.first_name == "Bench").order_by(Customer.id).limit(customers)
            ).scalars().all()
            taken = set(known)
            rows = [{"customer_id": cid, "channel": "rest", "external_id": f"load-{n}"}
                    for n, cid in enumerate(ids) if f"load-{n}" not in taken]
            if rows:
                session.execute(insert(ChannelIdentity.__table__), rows)
    return customers


def response_texts(name: str) -> list[str]:
    """The texts of a response in every language, up to the first {placeholder}."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return [variation["text"].split("{")[0] for variation in domain["responses"].get(name, [])]


def apologies() -> list[str]:
    """Every text that tells a customer something went wrong (channels' and actions')."""
    return list(CHANNEL_TEXTS["technical_problem"].values()) + response_texts("utter_technical_problem")


def handoff_texts() -> list[str]:
    """The texts that tell a customer a person takes over (the bot then stays quiet)."""
    return response_texts("utter_handoff_wait") + response_texts("utter_handoff_closed")
