"""Read the appointment day/time a customer typed, in Norwegian Bokmål, Swedish or English.

dateparser alone misreads everyday booking phrases: it drops "neste"/"nästa"/"next", ignores
"kl"/"klokka"/"klockan", "24." ordinals, "i overmorgen" and nb "idag", and `search_dates`
finds dates in words like "min", "may" or "2015". So the common forms are read by small
explicit patterns per language, and dateparser only does the calendar arithmetic for
durations ("om 3 dager", "in two weeks", "om en månad"). No rasa import: this is core code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar

import dateparser

LANGS = ("nb", "sv", "en")
MAX_SCAN = 500  # booking messages are short; bounds the regex work on huge input
PART_OF_DAY_START = {"morning": time(9), "afternoon": time(13)}
_PM_GUESS = range(1, 6)  # "kl 3" at a workshop means 15:00, nobody hands in a car at 3 am
_T = TypeVar("_T")


@dataclass(frozen=True)
class ParsedWhen:
    """A wished-for point in time; `has_time` tells a bare day from a concrete slot."""

    start: datetime  # naive local wall-clock time (the workshop's timezone)
    has_time: bool  # False when only a day (or only a part of day) was given
    part_of_day: str | None  # "morning" / "afternoon" when the text names one


@dataclass(frozen=True)
class _Lang:
    """Compiled patterns of one language, so each message costs only regex searches."""

    code: str
    weekdays: tuple[re.Pattern[str], ...]  # Monday first; group "next" = neste/nästa/next
    months: tuple[str, ...]  # regex fragments, January first
    day_month: re.Pattern[str]  # "24. november", "3:e december", "24th of november"
    month_day: re.Pattern[str]  # "november 24", "Nov 24th, 2026"
    relative: tuple[tuple[re.Pattern[str], int], ...]  # "i morgen" -> 1 day ahead
    next_week: re.Pattern[str]
    clock: re.Pattern[str]  # time behind a marker: "kl 10", "klockan 9", "at 10"
    parts: tuple[tuple[re.Pattern[str], str], ...]
    duration: re.Pattern[str]
    numbers: dict[str, int]


_AMPM = r"[ap]\.?m\b\.?"
_AMPM_TIME = re.compile(rf"(?<![0-9:.,])([0-9]{{1,2}})(?:[:.]([0-9]{{2}}))?\s*({_AMPM})")
_COLON_TIME = re.compile(
    rf"(?<![0-9:.,])([0-9]{{1,2}}):([0-9]{{2}})(?:\s*({_AMPM}))?(?![0-9]|[:.][0-9])"
)
# "14.00" / "9.30" only when the part after the dot cannot be a month ("24.11" is a date).
_DOT_TIME = re.compile(r"(?<![0-9:.,/])([0-9]{1,2})\.(00|1[3-9]|[2-5][0-9])()(?![0-9]|[.,/][0-9])")
_ISO_DATE = re.compile(r"(?<![0-9])([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?![0-9])")
_NUM_DATE = re.compile(  # not "1.5 liter", "2.5 %": decimals with a unit are no dates
    r"(?<![0-9.,/:-])([0-9]{1,2})[./]([0-9]{1,2})(?:[./]([0-9]{4}|[0-9]{2}))?(?![0-9]|[.,/][0-9])"
    r"(?!\s*(?:%|l\b|lit|dl\b|km|mil\b|kg|cm|mm|tommer|tum|inch))"
)
# Phone numbers, long codes, e-mails, prices and greetings must not be read as dates/times.
_NOISE = re.compile(
    r"\S+@\S+|\+?[0-9](?: ?[0-9]){7,}"
    r"|(?<![0-9])[0-9]+(?:[ .][0-9]{3})*(?:,[0-9]{2})?(?:,-|\s*(?:kr|nok|sek|kroner|kronor)\b)"
    r"|\b(?:kr|nok|sek)\.?\s*[0-9]+(?:[ .][0-9]{3})*(?:,[0-9]{2}|,-)?"
    r"|\b24/7\b|\bgo+d\s+(?:morning|afternoon|f[oøö]rmiddag|ettermiddag|eftermiddag)\b"
)


def _lang(code: str, weekdays: tuple[str, ...], months: tuple[str, ...],
          relative: tuple[tuple[str, int], ...], nxt: str, week: str, marker: str,
          morning: str, afternoon: str, dur: str, units: str, numbers: dict[str, int]) -> _Lang:
    """Compile one language's words into the patterns `_parse_in` searches with."""
    alts = "|".join(months)
    words = "|".join(re.escape(word) for word in numbers)
    return _Lang(
        code=code,
        weekdays=tuple(
            re.compile(rf"\b(?:(?P<next>{nxt})\s+)?(?:{w})(?:en|s)?\b") for w in weekdays
        ),
        months=months,
        day_month=re.compile(
            rf"(?<![0-9.,])([0-9]{{1,2}})(?:\.|:e|st|nd|rd|th)?\s*(?:of\s+)?({alts})\b\.?"
            r"(?:\s*,?\s*([0-9]{4})(?![0-9]))?"
        ),
        month_day=re.compile(
            rf"\b({alts})\b\.?\s*([0-9]{{1,2}})(?:st|nd|rd|th)?(?![0-9]|[.:/][0-9])"
            r"(?:\s*,?\s*([0-9]{4})(?![0-9]))?"
        ),
        relative=tuple((re.compile(rf"\b(?:{p})\b"), days) for p, days in relative),
        next_week=re.compile(rf"\b(?:{nxt})\s+(?:{week})\b"),
        clock=re.compile(
            rf"\b(?:{marker})([0-9]{{1,2}})(?:[:.]([0-9]{{2}}))?(?:\s*({_AMPM}))?(?![0-9])"
        ),
        parts=tuple((re.compile(rf"\b(?:{p})"), name)
                    for p, name in ((morning, "morning"), (afternoon, "afternoon"))),
        duration=re.compile(rf"\b({dur})\s+([0-9]{{1,3}}|{words})\s+({units})\b"),
        numbers=numbers,
    )


_LANGS = {
    "nb": _lang(
        "nb", ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "l[øo]rdag", "s[øo]ndag"),
        ("jan(?:uar)?", "feb(?:ruar)?", "mars?", "apr(?:il)?", "mai", "juni?", "juli?",
         "aug(?:ust)?", "sep(?:t(?:ember)?)?", "okt(?:ober)?", "nov(?:ember)?", "des(?:ember)?"),
        ((r"i\s*dag", 0), (r"i\s*morgen", 1), (r"(?:i\s*)?overmorgen", 2)),
        "neste|kommende", "uken?", r"kl\.?\s*|klokk(?:a|en)\s*", "formiddag", "ettermiddag",
        "om", "dag|dager|uke|uker|måned|måneder",
        {"en": 1, "ett": 1, "et": 1, "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6,
         "sju": 7, "syv": 7, "åtte": 8, "ni": 9, "ti": 10},
    ),
    "sv": _lang(
        "sv", ("m[åa]ndag", "tisdag", "onsdag", "torsdag", "fredag", "l[öo]rdag", "s[öo]ndag"),
        ("jan(?:uari)?", "feb(?:ruari)?", "mars?", "apr(?:il)?", "maj", "juni?", "juli?",
         "aug(?:usti)?", "sep(?:t(?:ember)?)?", "okt(?:ober)?", "nov(?:ember)?", "dec(?:ember)?"),
        ((r"i\s*dag", 0), (r"i\s*morgon", 1), (r"(?:i\s*)?[öo]vermorgon", 2)),
        "nästa|kommande", "veckan?", r"kl\.?\s*|klockan\s*", "f[öo]rmiddag", "eftermiddag",
        "om", "dag|dagar|vecka|veckor|månad|månader",
        {"en": 1, "ett": 1, "två": 2, "tva": 2, "tre": 3, "fyra": 4, "fem": 5, "sex": 6,
         "sju": 7, "åtta": 8, "nio": 9, "tio": 10},
    ),
    "en": _lang(
        "en", ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        ("jan(?:uary)?", "feb(?:ruary)?", "mar(?:ch)?", "apr(?:il)?", "may", "june?", "july?",
         "aug(?:ust)?", "sep(?:t(?:ember)?)?", "oct(?:ober)?", "nov(?:ember)?", "dec(?:ember)?"),
        (("today", 0), ("tomorrow|tmrw", 1), (r"(?:the\s+)?day\s+after\s+tomorrow", 2)),
        "next|coming|this\\s+coming", "week", r"at\s+|around\s+", "mornings?", "afternoons?",
        "in", "days?|weeks?|months?",
        {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
         "seven": 7, "eight": 8, "nine": 9, "ten": 10},
    ),
}


def _first(found: Iterable[tuple[int, _T]]) -> _T | None:
    """Value of the match that starts earliest: the customer's first mention wins."""
    best = min(found, key=lambda item: item[0], default=None)
    return None if best is None else best[1]


def _to_time(hour: str, minute: str | None, ampm: str | None) -> time | None:
    """Clock time from regex groups; None for impossible values like 25:00 or 13 pm."""
    h, m = int(hour), int(minute or 0)
    if ampm:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if ampm.startswith("p") else 0)
    elif h in _PM_GUESS and not hour.startswith("0"):
        h += 12
    return time(h, m) if h <= 23 and m <= 59 else None


def _find_clock(text: str, lang: _Lang) -> tuple[time | None, str]:
    """First clock time, plus the text with every time blanked so "kl 10.11" is no date."""
    hits: list[tuple[int, int, time]] = []
    for pattern in (lang.clock, _AMPM_TIME, _COLON_TIME, _DOT_TIME):
        for m in pattern.finditer(text):
            found = _to_time(m[1], m[2], m[3])
            if found is not None:
                hits.append((m.start(), m.end(), found))
    for start, end, _ in hits:
        text = text[:start] + " " * (end - start) + text[end:]
    return _first((start, found) for start, _, found in hits), text


def _calendar_date(today: date, day: int, month: int, year: str | None) -> date | None:
    """A real date; without a year the next one from today on (a passed date is next year)."""
    if year:
        years = [int(year) + (2000 if len(year) == 2 else 0)]
    else:
        years = list(range(today.year, today.year + 5))  # 29.02 may be years away
    for y in years:
        try:
            found = date(y, month, day)
        except ValueError:
            continue
        if year or found >= today:
            return found
    return None


def _explicit_date(text: str, lang: _Lang, today: date) -> date | None:
    """Earliest written-out calendar date: ISO, 24.11(.2026), 24/11, 24. november, Nov 24."""
    found: list[tuple[int, date | None]] = []
    for m in _ISO_DATE.finditer(text):
        found.append((m.start(), _calendar_date(today, int(m[3]), int(m[2]), m[1])))
    for m in _NUM_DATE.finditer(text):
        day, month = int(m[1]), int(m[2])
        found.append((m.start(), _calendar_date(today, day, month, m[3])
                      or _calendar_date(today, month, day, m[3])))  # US-style 11/24
    for pattern, day_group, month_group in ((lang.day_month, 1, 2), (lang.month_day, 2, 1)):
        for m in pattern.finditer(text):
            month = next(i for i, p in enumerate(lang.months, 1) if re.fullmatch(p, m[month_group]))
            found.append((m.start(), _calendar_date(today, int(m[day_group]), month, m[3])))
    return _first((start, d) for start, d in found if d is not None)


def _duration_date(text: str, lang: _Lang, now: datetime) -> date | None:
    """Durations like "om 3 dager": dateparser knows month lengths, once given digits."""
    m = lang.duration.search(text)
    if m is None:
        return None
    count = m[2] if m[2].isdigit() else str(lang.numbers[m[2]])
    try:
        found = dateparser.parse(f"{m[1]} {count} {m[3]}", languages=[lang.code],
                                 settings={"PREFER_DATES_FROM": "future", "RELATIVE_BASE": now})
    except Exception:  # a third-party parser must never break the conversation
        return None
    return found.date() if found else None


def _find_day(text: str, lang: _Lang, now: datetime, slot: time | None) -> date | None:
    """The day meant: explicit date, then i morgen/today, then weekday/next week, then "om N"."""
    today = now.date()
    explicit = _explicit_date(text, lang, today)
    if explicit is not None:
        return explicit
    ahead = _first((m.start(), days) for p, days in lang.relative if (m := p.search(text)))
    if ahead is not None:
        return today + timedelta(days=ahead)
    weekday = _first((m.start(), (i, bool(m["next"])))
                     for i, p in enumerate(lang.weekdays) if (m := p.search(text)))
    if lang.next_week.search(text):
        monday = today + timedelta(days=7 - today.weekday())
        return monday + timedelta(days=weekday[0] if weekday else 0)
    if weekday is not None:
        day, is_next = weekday
        later_today = not is_next and slot is not None and slot > now.time()
        return today + timedelta(days=(day - today.weekday()) % 7 or (0 if later_today else 7))
    return _duration_date(text, lang, now)


def _parse_in(text: str, lang: _Lang, now: datetime) -> tuple[ParsedWhen, bool] | None:
    """Parse with one language's words; the flag says whether a day (not just a time) was named."""
    clock, text = _find_clock(text, lang)
    part = _first((m.start(), name) for p, name in lang.parts if (m := p.search(text)))
    slot = clock if clock is not None else PART_OF_DAY_START.get(part or "")
    day = _find_day(text, lang, now, slot)
    if day is None and slot is None:
        return None
    named_day = day is not None
    if day is None:  # only a time: its next occurrence
        day = now.date() + timedelta(days=0 if slot is not None and slot > now.time() else 1)
    start = datetime.combine(day, slot if slot is not None else time(0))
    return ParsedWhen(start, clock is not None, part), named_day


def parse_when(text: str, lang: str, now: datetime) -> ParsedWhen | None:
    """Find the first date/time expression in free text (a whole sentence is fine).

    `lang` is a hint: its words are tried first; if they find no day, the other languages'
    words are tried, so a Swede writing to the Norwegian bot is still understood.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    clean = _NOISE.sub(lambda m: " " * len(m[0]), text[:MAX_SCAN].lower())
    hint = {"no": "nb", "nn": "nb"}.get(str(lang)[:2].lower(), str(lang)[:2].lower())
    fallback: ParsedWhen | None = None
    for code in sorted(LANGS, key=lambda c: c != hint):
        try:
            found = _parse_in(clean, _LANGS[code], now)
        except OverflowError:  # "tomorrow" of 31 Dec 9999: past the end of the calendar
            continue
        if found is not None and found[1]:
            return found[0]
        fallback = fallback or (found[0] if found else None)
    return fallback


_ORDINALS = tuple((re.compile(rf"\b(?:{words})\b"), index) for index, words in enumerate((
    "f[øo]rste|f[öo]rsta|first", "andre|andra|second", "tredje|third", "fjerde|fj[äa]rde|fourth",
    "femte|fifth", "sjette|sj[äa]tte|sixth", "sjuende|syvende|sjunde|seventh",
    "[åa]ttende|[åa]ttonde|eighth", "niende|nionde|ninth", "tiende|tionde|tenth",
)))
_LAST = re.compile(r"\b(?:siste|sista|last)\b")
_NUMBER_CHOICE = re.compile(
    r"(?:(?:den|the|nr\.?|nummer|number|option|alternativ)\s*)?([0-9]{1,2})"
    r"(?:\.|\)|:[ae]|st|nd|rd|th)?(?:\s*(?:one|en|et))?\s*[.!]?"
)


def parse_choice(text: str, count: int) -> int | None:
    """0-based index when the text picks one of `count` offered options by ordinal:
    'den første'/'første'/'den andre'/'tredje'/'den siste' (nb), 'den första'/'andra'/'sista' (sv),
    'the first one'/'second'/'the last', or a bare number '1'..'count' / '2.'; else None.

    Two different picks ("ikke den første, men den andre") are ambiguous and give None.
    """
    if not isinstance(text, str) or count < 1:
        return None
    clean = text[:MAX_SCAN].strip().lower()
    number = _NUMBER_CHOICE.fullmatch(clean)
    if number is not None:
        picks = {int(number[1]) - 1}
    else:
        picks = {index for pattern, index in _ORDINALS if pattern.search(clean)}
        if _LAST.search(clean):
            picks.add(count - 1)
    if len(picks) != 1:
        return None
    pick = picks.pop()
    return pick if 0 <= pick < count else None


_TIMEISH = re.compile(
    r"\d|\b(?:uke|uka|veckan?|week|helg|helgen|weekend|morgen|morgon|morning|kveld|kväll|evening|"
    r"formiddag|förmiddag|ettermiddag|eftermiddag|afternoon|tidlig|tidig|early|sent|late|snarest|"
    r"asap|neste|nästa|next|etter|efter|after|før|före|before|dag|day|tid|time|klokka|klockan)\b"
)


def looks_like_when(text: str, lang: str, now: datetime) -> bool:
    """True when a message reads like a date or time (or a pick among offered times), so that
    "I could not read that as a date" is only ever said to something that tried to be one."""
    if not isinstance(text, str) or not text.strip():
        return False
    if parse_when(text, lang, now) is not None or parse_choice(text, 10) is not None:
        return True
    return bool(_TIMEISH.search(text[:MAX_SCAN].lower()))
