"""The readable summary of `collect`'s data, in nb, sv or en: counts and key facts, not a dump."""

from __future__ import annotations

from typing import Any

from bot import i18n
from bot.preferences import channel_name

_TEXT: dict[str, dict[str, str]] = {
    "nb": {
        "title": "Dette har vi lagret om deg:",
        "profile": "Profil: {name}; kontakt: {contact}; språk: {language}",
        "consents": "Samtykker: kontakt på {channels}; påminnelser: {reminders}; datadeling: {sharing}; "
                    "automatisk service: {auto}",
        "vehicles": "Biler ({count}): {items}",
        "bookings": "Bestillinger: {count} (kommende: {upcoming}); servicehistorikk: {history} besøk; "
                    "fakturaer: {invoices}",
        "offers": "Tilbud vi har gitt deg: {count} ({accepted} takket ja, {declined} takket nei)",
        "proactive": "Meldinger vi har sendt på eget initiativ: {count}",
        "tickets": "Saker hos kundeservice: {count}",
        "conversations": "Samtaler: {count} ({messages} meldinger) på {channels}",
        "sharing": {"contact": "bare kontaktdata", "history": "historikk", "usage": "kjøredata"},
    },
    "sv": {
        "title": "Det här har vi sparat om dig:",
        "profile": "Profil: {name}; kontakt: {contact}; språk: {language}",
        "consents": "Samtycken: kontakt via {channels}; påminnelser: {reminders}; datadelning: {sharing}; "
                    "automatisk service: {auto}",
        "vehicles": "Bilar ({count}): {items}",
        "bookings": "Bokningar: {count} (kommande: {upcoming}); servicehistorik: {history} besök; "
                    "fakturor: {invoices}",
        "offers": "Erbjudanden vi har gett dig: {count} ({accepted} tackade ja, {declined} tackade nej)",
        "proactive": "Meddelanden vi har skickat på eget initiativ: {count}",
        "tickets": "Ärenden hos kundtjänst: {count}",
        "conversations": "Samtal: {count} ({messages} meddelanden) via {channels}",
        "sharing": {"contact": "bara kontaktuppgifter", "history": "historik", "usage": "kördata"},
    },
    "en": {
        "title": "Here's what we store about you:",
        "profile": "Profile: {name}; contact: {contact}; language: {language}",
        "consents": "Consents: contact on {channels}; reminders: {reminders}; data sharing: {sharing}; "
                    "automatic service: {auto}",
        "vehicles": "Cars ({count}): {items}",
        "bookings": "Bookings: {count} (upcoming: {upcoming}); service history: {history} visits; "
                    "invoices: {invoices}",
        "offers": "Offers we made you: {count} ({accepted} accepted, {declined} declined)",
        "proactive": "Messages we sent on our own initiative: {count}",
        "tickets": "Customer service cases: {count}",
        "conversations": "Conversations: {count} ({messages} messages) on {channels}",
        "sharing": {"contact": "contact data only", "history": "history", "usage": "driving data"},
    },
}


def summary_text(data: dict[str, Any], lang: str | None) -> str:
    """A few lines the customer can read in a chat bubble."""
    lang = i18n.lang_or_default(lang)
    t = _TEXT[lang]
    customer, prefs = data["customer"], data.get("preferences") or {}
    name = f"{customer.get('first_name') or ''} {customer.get('last_name') or ''}".strip() or "–"
    contact = i18n.join_list([c for c in (customer.get("phone"), customer.get("email")) if c], lang)
    lines = [t["title"], "• " + t["profile"].format(name=name, contact=contact, language=prefs.get("language") or "nb")]
    if prefs:
        lines.append("• " + t["consents"].format(
            channels=i18n.join_list([channel_name(c, lang) for c in prefs.get("contact_channels") or []], lang),
            reminders=i18n.yes_no(bool(prefs.get("reminders")), lang),
            sharing=t["sharing"].get(prefs.get("data_sharing") or "contact", prefs.get("data_sharing")),  # type: ignore[union-attr]
            auto=i18n.yes_no(bool(prefs.get("auto_service")), lang),
        ))
    vehicles = [f"{v['make']} {v['model']} {v['year']} ({v['registration']})" for v in data["vehicles"]]
    lines.append("• " + t["vehicles"].format(count=len(vehicles), items=i18n.join_list(vehicles, lang)))
    upcoming = [b for b in data["bookings"] if b["status"] in ("booked", "in_progress", "ready")]
    lines.append("• " + t["bookings"].format(
        count=len(data["bookings"]), upcoming=len(upcoming), history=len(data["service_history"]),
        invoices=len(data["invoices"]),
    ))
    offers = data["offers"]
    lines.append("• " + t["offers"].format(
        count=len(offers), accepted=sum(o["status"] == "accepted" for o in offers),
        declined=sum(o["status"] == "declined" for o in offers),
    ))
    lines.append("• " + t["proactive"].format(count=len(data["proactive_messages"])))
    lines.append("• " + t["tickets"].format(count=len(data["handoff_tickets"])))
    conversations = data["conversations"]
    channels = sorted({i["channel"] for i in data["channel_identities"]})
    lines.append("• " + t["conversations"].format(
        count=len(conversations),
        messages=sum(e["type"] in ("user", "bot") for c in conversations for e in c["events"]),
        channels=i18n.join_list([channel_name(c, lang) for c in channels], lang),
    ))
    return "\n".join(lines)
