"""What the business offers and how to reach it: services, prices, hours, place, payment.

Read from the database (filled from the seed files), rendered in the customer's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import i18n
from bot.booking import WEEKDAYS, default_location, setting
from bot.db.models import Service


@dataclass(frozen=True)
class LocationInfo:
    name: str
    address: str
    directions: str


def all_services(session: Session) -> list[Service]:
    return list(session.execute(select(Service).order_by(Service.sort_order)).scalars())


def service_name(service: Service, lang: str | None) -> str:
    return service.names.get(i18n.lang_or_default(lang)) or service.names.get("nb") or service.code


def service_names(session: Session, codes: list[str], lang: str | None) -> list[str]:
    by_code = {s.code: s for s in all_services(session)}
    return [service_name(by_code[c], lang) for c in codes if c in by_code]


def recognise_services(session: Session, values: list[str], text: str) -> list[str]:
    """Service codes from NLU entity values, plus any catalog alias found in the text.

    The aliases are a safety net for messages where the model missed an entity; they come
    from the catalog data, so another business brings its own.
    """
    services = all_services(session)
    known = {s.code for s in services}
    found = [v for v in values if v in known]
    lowered = (text or "")[:2000].lower()
    for service in services:
        if service.code in found:
            continue
        for aliases in service.aliases.values():
            if any(re.search(rf"(?<!\w){re.escape(a.lower())}(?!\w)", lowered) for a in aliases):
                found.append(service.code)
                break
    order = {s.code: s.sort_order for s in services}
    return sorted(dict.fromkeys(found), key=lambda code: order[code])


def service_mentions(session: Session, text: str) -> list[tuple[str, int]]:
    """(service code, position) of every catalog alias in the text, in the order they appear."""
    lowered = (text or "")[:2000].lower()
    found: list[tuple[str, int]] = []
    for service in all_services(session):
        for aliases in service.aliases.values():
            for alias in aliases:
                for match in re.finditer(rf"(?<!\w){re.escape(alias.lower())}(?!\w)", lowered):
                    found.append((service.code, match.start()))
    return sorted(set(found), key=lambda item: item[1])


def price_list(session: Session, lang: str | None) -> str:
    return "\n".join(
        f"• {service_name(s, lang)}: {i18n.format_price(s.price_nok, lang)}"
        for s in all_services(session)
    )


def opening_hours(session: Session, lang: str | None) -> str:
    """One line per run of days with the same hours: "mandag–onsdag: 07:30–17:00"."""
    hours = default_location(session).opening_hours
    runs: list[tuple[int, int, str]] = []
    for index, day in enumerate(WEEKDAYS):
        span = hours.get(day)
        label = f"{span[0]}–{span[1]}" if span else i18n.closed_word(lang)
        if runs and runs[-1][2] == label:
            runs[-1] = (runs[-1][0], index, label)
        else:
            runs.append((index, index, label))
    lines = []
    for first, last, label in runs:
        days = i18n.weekday_name(first, lang)
        if last != first:
            days += f"–{i18n.weekday_name(last, lang)}"
        lines.append(f"• {days}: {label}")
    return "\n".join(lines)


def location(session: Session, lang: str | None) -> LocationInfo:
    loc = default_location(session)
    lang = i18n.lang_or_default(lang)
    return LocationInfo(loc.name, loc.address, loc.directions.get(lang, loc.directions.get("nb", "")))


def payment_options(session: Session, lang: str | None) -> str:
    methods = setting(session, "payment_methods", []) or []
    lang = i18n.lang_or_default(lang)
    return i18n.join_list([m["names"].get(lang, m["code"]) for m in methods], lang)  # type: ignore[union-attr]
