"""Formatting of dates, prices and lists in nb, sv and en, and the few texts that must
exist outside Rasa's responses (said by a channel when Rasa or the action server fails)."""

from __future__ import annotations

from datetime import date, datetime

from bot.lang import DEFAULT_LANGUAGE, SUPPORTED

_WEEKDAYS = {
    "nb": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "sv": ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_WEEKDAYS_SHORT = {
    "nb": ("man", "tir", "ons", "tor", "fre", "lør", "søn"),
    "sv": ("mån", "tis", "ons", "tor", "fre", "lör", "sön"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
_MONTHS = {
    "nb": ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august",
           "september", "oktober", "november", "desember"),
    "sv": ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}
_AND = {"nb": "og", "sv": "och", "en": "and"}
_CLOSED = {"nb": "stengt", "sv": "stängt", "en": "closed"}
_NONE = {"nb": "ingen", "sv": "inga", "en": "none"}
_YES_NO = {"nb": ("ja", "nei"), "sv": ("ja", "nej"), "en": ("yes", "no")}

# Said by the channel itself, so they cannot live in the Rasa domain.
CHANNEL_TEXTS: dict[str, dict[str, str]] = {
    "technical_problem": {
        "nb": "Beklager, noe gikk galt hos oss. Prøv igjen om litt, eller skriv «menneske», "
              "så hjelper en av mine kolleger deg.",
        "sv": "Förlåt, något gick fel hos oss. Försök igen om en stund, eller skriv "
              "«människa», så hjälper en av mina kollegor dig.",
        "en": "Sorry, something went wrong on our side. Please try again in a moment, or "
              "write \"human\" and one of my colleagues will help you.",
    },
    "empty_message": {
        "nb": "Jeg fikk en tom melding. Skriv gjerne hva jeg kan hjelpe deg med, for eksempel "
              "«bestille service».",
        "sv": "Jag fick ett tomt meddelande. Skriv gärna vad jag kan hjälpa dig med, till "
              "exempel «boka service».",
        "en": "I received an empty message. Tell me what I can help you with, for example "
              "\"book a service\".",
    },
    "handoff_no_answer": {
        "nb": "Beklager ventetiden – alle kollegene mine er opptatt akkurat nå. Vil du vente, eller skal vi "
              "ringe deg tilbake? Svar «jeg venter» eller «ring meg».",
        "sv": "Förlåt väntetiden – alla mina kollegor är upptagna just nu. Vill du vänta, eller ska vi ringa "
              "upp dig? Svara «jag väntar» eller «ring mig».",
        "en": "Sorry for the wait – all my colleagues are busy right now. Would you like to wait, or shall we "
              "call you back? Answer \"I'll wait\" or \"call me\".",
    },
    "text_only": {
        "nb": "Jeg kan bare lese tekst foreløpig. Skriv gjerne hva du lurer på, så hjelper jeg deg.",
        "sv": "Jag kan bara läsa text än så länge. Skriv gärna vad du undrar över, så hjälper jag dig.",
        "en": "I can only read text for now. Please write what you need and I'll help you.",
    },
    "help": {
        "nb": "Jeg er Fjordbils assistent. Jeg kan bestille service, dekkskift og EU-kontroll, flytte "
              "eller avbestille timer, si om bilen er ferdig, svare på priser og åpningstider og gi råd "
              "om bilen. Skriv for eksempel «bestill service neste tirsdag» eller «er bilen min ferdig?». "
              "Skriv «menneske» for å snakke med en av oss.",
        "sv": "Jag är Fjordbils assistent. Jag kan boka service, däckbyte och besiktning, flytta eller "
              "avboka tider, berätta om bilen är klar, svara på priser och öppettider och ge råd om bilen. "
              "Skriv till exempel «boka service nästa tisdag» eller «är min bil klar?». Skriv «människa» "
              "för att prata med en av oss.",
        "en": "I'm Fjordbil's assistant. I can book a service, tyre change or EU inspection, move or "
              "cancel bookings, tell you whether your car is ready, answer prices and opening hours and "
              "give advice about your car. Try \"book a service next Tuesday\" or \"is my car ready?\". "
              "Write \"human\" to talk to one of us.",
    },
}


def lang_or_default(lang: str | None) -> str:
    return lang if lang in SUPPORTED else DEFAULT_LANGUAGE


def channel_text(key: str, lang: str | None) -> str:
    return CHANNEL_TEXTS[key][lang_or_default(lang)]


def format_date(day: date, lang: str | None, year: bool = False) -> str:
    """"tirsdag 24. november", "tisdag 24 november", "Tuesday 24 November" (+ " 2025" with year)."""
    lang = lang_or_default(lang)
    weekday = _WEEKDAYS[lang][day.weekday()]
    month = _MONTHS[lang][day.month - 1]
    text = f"{weekday} {day.day}. {month}" if lang == "nb" else f"{weekday} {day.day} {month}"
    return f"{text} {day.year}" if year else text


def sentence_start(text: str) -> str:
    """The text as the start of a sentence: its first letter upper case, the rest as it is."""
    return text[:1].upper() + text[1:]


def in_sentence(name: str) -> str:
    """A catalog title used mid-sentence: "Lakkbehandling til halv pris" -> "lakkbehandling ..."
    (acronyms such as "EU-kontroll" keep their capitals)."""
    if len(name) > 1 and name[0].isupper() and not name[1].isupper():
        return name[0].lower() + name[1:]
    return name


def format_day_month(day: date, lang: str | None) -> str:
    """"1. november", "1 november", "1 November"."""
    lang = lang_or_default(lang)
    month = _MONTHS[lang][day.month - 1]
    return f"{day.day}. {month}" if lang == "nb" else f"{day.day} {month}"


def format_time(moment: datetime, lang: str | None) -> str:
    return moment.strftime("%H:%M")


def format_datetime(moment: datetime, lang: str | None) -> str:
    """"tirsdag 24. november kl. 10:00", "tisdag 24 november kl. 10:00", "Tuesday 24 November at 10:00"."""
    lang = lang_or_default(lang)
    joiner = "at" if lang == "en" else "kl."
    return f"{format_date(moment.date(), lang)} {joiner} {format_time(moment, lang)}"


def format_short_datetime(moment: datetime, lang: str | None) -> str:
    """Short enough for a button: "tir 24.11 10:00", "Tue 24 Nov 10:00"."""
    lang = lang_or_default(lang)
    weekday = _WEEKDAYS_SHORT[lang][moment.weekday()]
    if lang == "en":
        return f"{weekday} {moment.day} {_MONTHS['en'][moment.month - 1][:3]} {moment:%H:%M}"
    return f"{weekday} {moment.day}.{moment.month} {moment:%H:%M}"


def format_price(amount_nok: int, lang: str | None) -> str:
    """"3 490 kr" in nb and sv, "NOK 3,490" in en."""
    lang = lang_or_default(lang)
    if lang == "en":
        return f"NOK {amount_nok:,}"
    return f"{amount_nok:,}".replace(",", "\u00a0") + "\u00a0kr"


def format_number(value: int, lang: str | None) -> str:
    """"90 000" in nb and sv, "90,000" in en."""
    if lang_or_default(lang) == "en":
        return f"{value:,}"
    return f"{value:,}".replace(",", "\u00a0")


def format_duration(minutes: int, lang: str | None) -> str:
    lang = lang_or_default(lang)
    hours, mins = divmod(minutes, 60)
    units = {"nb": ("t", "min"), "sv": ("tim", "min"), "en": ("h", "min")}[lang]
    if hours and mins:
        return f"{hours} {units[0]} {mins} {units[1]}"
    if hours:
        return f"{hours} {units[0]}"
    return f"{mins} {units[1]}"


def join_list(items: list[str], lang: str | None) -> str:
    """"a, b og c"; an empty list reads as "none"."""
    lang = lang_or_default(lang)
    items = [item for item in items if item]
    if not items:
        return _NONE[lang]
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {_AND[lang]} {items[-1]}"


def weekday_name(index: int, lang: str | None) -> str:
    return _WEEKDAYS[lang_or_default(lang)][index]


def closed_word(lang: str | None) -> str:
    return _CLOSED[lang_or_default(lang)]


def yes_no(value: bool, lang: str | None) -> str:
    return _YES_NO[lang_or_default(lang)][0 if value else 1]


_OFFER_BUTTONS = {
    "nb": ("Ja, legg til", "Nei takk"),
    "sv": ("Ja, lägg till", "Nej tack"),
    "en": ("Yes, add it", "No thanks"),
}
_DATA_LABELS = {
    "nb": {"mileage_km": "kilometerstanden vi registrerte ved siste verkstedbesøk",
           "usage_mileage_km": "kilometerstanden fra bilens kjøredata", "age_years": "bilens årsmodell",
           "habits": "kjørevanene du deler med oss", "loaner_last_time": "at du tok lånebil ved forrige besøk",
           "body_type": "biltypen"},
    "sv": {"mileage_km": "mätarställningen vi registrerade vid senaste verkstadsbesöket",
           "usage_mileage_km": "mätarställningen från bilens kördata", "age_years": "bilens årsmodell",
           "habits": "körvanorna du delar med oss", "loaner_last_time": "att du tog lånebil vid förra besöket",
           "body_type": "biltypen"},
    "en": {"mileage_km": "the mileage we recorded at your last workshop visit",
           "usage_mileage_km": "the mileage from your car's driving data", "age_years": "your car's model year",
           "habits": "the driving habits you share with us", "loaner_last_time": "that you took a loaner car last time",
           "body_type": "the type of car"},
}
_NO_DATA = {"nb": "bare hva som er med i bestillingen og årstiden", "sv": "bara vad som ingår i bokningen och årstiden",
            "en": "only what is in the booking and the season"}


def offer_buttons(lang: str | None) -> tuple[str, str]:
    """Titles of the accept and decline buttons under a suggestion."""
    return _OFFER_BUTTONS[lang_or_default(lang)]


def data_used_text(data_used: list[dict[str, object]], lang: str | None) -> str:
    """ "the mileage we recorded … and the driving habits you share" from a suggestion's data_used."""
    lang = lang_or_default(lang)
    labels = [_DATA_LABELS[lang].get(str(item.get("fact")), str(item.get("fact"))) for item in data_used]
    return join_list(labels, lang) if labels else _NO_DATA[lang]
