"""Behaviour of bot.dates with a fixed clock: Monday 2026-11-23 12:00 (workshop local time)."""

from __future__ import annotations

import random
import time as clock
from datetime import datetime

import pytest

from bot.dates import ParsedWhen, parse_choice, parse_when

NOW = datetime(2026, 11, 23, 12, 0)  # a Monday


def when(text: str, lang: str) -> tuple[datetime, bool, str | None] | None:
    """Flatten the result so parametrized expectations stay one-liners."""
    found = parse_when(text, lang, NOW)
    return None if found is None else (found.start, found.has_time, found.part_of_day)


def day(d: int, month: int = 11, year: int = 2026) -> tuple[datetime, bool, None]:
    return datetime(year, month, d), False, None


def at(d: int, hour: int, minute: int = 0, month: int = 11) -> tuple[datetime, bool, None]:
    return datetime(2026, month, d, hour, minute), True, None


@pytest.mark.parametrize(("text", "lang", "expected"), [
    # weekday alone means the next such day; today (Monday) only with a later time today
    ("fredag", "nb", day(27)), ("på fredag", "nb", day(27)), ("Fredag passer fint", "nb", day(27)),
    ("fredag", "sv", day(27)), ("på fredag", "sv", day(27)), ("kan jag komma på lördag?", "sv", day(28)),
    ("friday", "en", day(27)), ("on friday", "en", day(27)), ("Can I come on Sunday?", "en", day(29)),
    ("mandag", "nb", day(30)), ("måndag", "sv", day(30)), ("monday", "en", day(30)),
    ("lordag", "nb", day(28)), ("sondag", "sv", day(29)),
    ("mandag kl 14", "nb", at(23, 14)), ("måndag klockan 14", "sv", at(23, 14)),
    ("monday at 3pm", "en", at(23, 15)),
    ("mandag kl 10", "nb", at(30, 10)), ("måndag kl 11", "sv", at(30, 11)),
    ("monday at 12:00", "en", at(30, 12)),
    # neste/nästa/next: the next occurrence after today
    ("neste tirsdag", "nb", day(24)), ("nästa tisdag", "sv", day(24)), ("next tuesday", "en", day(24)),
    ("neste mandag kl 14", "nb", at(30, 14)), ("nästa måndag", "sv", day(30)),
    ("next monday at 2pm", "en", at(30, 14)),
    # relative days
    ("i morgen", "nb", day(24)), ("imorgen", "nb", day(24)), ("i morgon", "sv", day(24)),
    ("imorgon", "sv", day(24)), ("tomorrow", "en", day(24)),
    ("i overmorgen", "nb", day(25)), ("overmorgen", "nb", day(25)), ("i övermorgon", "sv", day(25)),
    ("the day after tomorrow", "en", day(25)), ("day after tomorrow", "en", day(25)),
    ("i dag", "nb", day(23)), ("idag", "nb", day(23)), ("i dag", "sv", day(23)),
    ("idag", "sv", day(23)), ("today", "en", day(23)),
    # explicit dates
    ("24. november", "nb", day(24)), ("24 november", "nb", day(24)), ("den 3. desember", "nb", day(3, 12)),
    ("24.11", "nb", day(24)), ("24.11.", "nb", day(24)), ("24/11", "nb", day(24)),
    ("2026-11-24", "nb", day(24)), ("24.11.2026", "nb", day(24)), ("3. des", "nb", day(3, 12)),
    ("24 november", "sv", day(24)), ("den 3 december", "sv", day(3, 12)), ("3:e december", "sv", day(3, 12)),
    ("24/11", "sv", day(24)), ("2026-11-24", "sv", day(24)),
    ("November 24", "en", day(24)), ("3 december", "en", day(3, 12)), ("Nov 24th, 2026", "en", day(24)),
    ("24th of November", "en", day(24)), ("11/24", "en", day(24)), ("24/11", "en", day(24)),
    ("2026-11-24", "en", day(24)), ("24.11.26", "en", day(24)),
    # times alone: their next occurrence (10:00 has passed today at noon)
    ("kl 10", "nb", at(24, 10)), ("kl. 10:30", "nb", at(24, 10, 30)), ("klokka 14", "nb", at(23, 14)),
    ("klokken 14", "nb", at(23, 14)), ("kl 9.30", "nb", at(24, 9, 30)), ("14:00", "nb", at(23, 14)),
    ("kl 12", "nb", at(24, 12)), ("14.00", "nb", at(23, 14)), ("kl 3", "nb", at(23, 15)),
    ("klockan 9", "sv", at(24, 9)), ("kl. 13.15", "sv", at(23, 13, 15)), ("14:00", "sv", at(23, 14)),
    ("at 10", "en", at(24, 10)), ("10am", "en", at(24, 10)), ("2 pm", "en", at(23, 14)),
    ("14:00", "en", at(23, 14)), ("10:30 a.m.", "en", at(24, 10, 30)), ("12am", "en", at(24, 0)),
    ("12 pm", "en", at(24, 12)), ("at 09:00", "en", at(24, 9)),
    # combinations
    ("neste tirsdag kl 10", "nb", at(24, 10)), ("fredag 24. november klokka 14", "nb", at(24, 14)),
    ("fredag 27. november kl 9", "nb", at(27, 9)), ("i morgen kl 14", "nb", at(24, 14)),
    ("24.11 kl 10.11", "nb", at(24, 10, 11)), ("2026-12-01 14:30", "nb", at(1, 14, 30, 12)),
    ("nästa tisdag kl 10", "sv", at(24, 10)), ("fredag 27 november klockan 14", "sv", at(27, 14)),
    ("i morgon klockan 8", "sv", at(24, 8)),
    ("tomorrow at 2pm", "en", at(24, 14)), ("next tuesday at 10", "en", at(24, 10)),
    ("Friday November 27 at 9:30", "en", at(27, 9, 30)), ("today at 10", "en", at(23, 10)),
    # whole sentences, any case
    ("Hei! Kan jeg få time på fredag kl 10? Mvh Ola", "nb", at(27, 10)),
    ("NESTE TIRSDAG KL 10", "nb", at(24, 10)),
    ("Jeg vil bytte dekk, passer det den 3. desember klokka 9?", "nb", at(3, 9, month=12)),
    ("Hej, kan jag boka service nästa tisdag klockan 9?", "sv", at(24, 9)),
    ("I'd like to book a service TOMORROW AT 2PM please", "en", at(24, 14)),
    ("ring meg på 912 34 567 og book fredag kl 10", "nb", at(27, 10)),
    ("Service til 1 290 kr den 24. november?", "nb", day(24)),
])
def test_parse_when_reads_days_and_times(text: str, lang: str, expected: tuple) -> None:
    assert when(text, lang) == expected


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("i morgen formiddag", "nb", (datetime(2026, 11, 24, 9), False, "morning")),
    ("fredag ettermiddag", "nb", (datetime(2026, 11, 27, 13), False, "afternoon")),
    ("I MORGEN FORMIDDAG", "nb", (datetime(2026, 11, 24, 9), False, "morning")),
    ("i morgon förmiddag", "sv", (datetime(2026, 11, 24, 9), False, "morning")),
    ("på fredag eftermiddag", "sv", (datetime(2026, 11, 27, 13), False, "afternoon")),
    ("tomorrow morning", "en", (datetime(2026, 11, 24, 9), False, "morning")),
    ("friday afternoon", "en", (datetime(2026, 11, 27, 13), False, "afternoon")),
    ("i morgen ettermiddag kl 14", "nb", (datetime(2026, 11, 24, 14), True, "afternoon")),
    ("mandag ettermiddag", "nb", (datetime(2026, 11, 23, 13), False, "afternoon")),
    ("formiddagen passer best", "nb", (datetime(2026, 11, 24, 9), False, "morning")),
    ("i ettermiddag", "nb", (datetime(2026, 11, 23, 13), False, "afternoon")),
])
def test_parse_when_part_of_day_is_a_rough_start(text: str, lang: str, expected: tuple) -> None:
    assert when(text, lang) == expected


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("neste uke", "nb", day(30)), ("i neste uke", "nb", day(30)), ("nästa vecka", "sv", day(30)),
    ("next week", "en", day(30)), ("tirsdag neste uke", "nb", day(1, 12)),
    ("neste uke kl 10", "nb", at(30, 10)),
])
def test_parse_when_next_week_is_its_monday(text: str, lang: str, expected: tuple) -> None:
    assert when(text, lang) == expected


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("om 3 dager", "nb", day(26)), ("om to uker", "nb", day(7, 12)), ("om en uke kl 10", "nb", at(30, 10)),
    ("om 3 dagar", "sv", day(26)), ("om en vecka", "sv", day(30)), ("om en månad", "sv", day(23, 12)),
    ("in 3 days", "en", day(26)), ("in two weeks", "en", day(7, 12)), ("in a week", "en", day(30)),
])
def test_parse_when_durations_use_dateparser(text: str, lang: str, expected: tuple) -> None:
    assert when(text, lang) == expected


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("1. november", "nb", day(1, year=2027)), ("22.11", "nb", day(22, year=2027)),
    ("23.11", "nb", day(23)), ("5. januar", "nb", day(5, 1, 2027)), ("1 november", "sv", day(1, year=2027)),
    ("january 5", "en", day(5, 1, 2027)), ("29.02", "nb", day(29, 2, 2028)),
    ("24.11.2025", "nb", day(24, year=2025)), ("2025-11-01", "en", day(1, year=2025)),
])
def test_parse_when_past_date_without_year_means_next_year(
    text: str, lang: str, expected: tuple
) -> None:
    assert when(text, lang) == expected


@pytest.mark.parametrize(("text", "hint", "expected"), [
    ("nästa tisdag kl 10", "nb", at(24, 10)), ("neste tirsdag", "sv", day(24)),
    ("next tuesday", "nb", day(24)), ("i morgen", "en", day(24)), ("tomorrow", "sv", day(24)),
    ("fredag kl 10", "en", at(27, 10)), ("i overmorgen", "de", day(25)), ("i morgen", "nb-NO", day(24)),
])
def test_parse_when_lang_is_only_a_hint(text: str, hint: str, expected: tuple) -> None:
    assert when(text, hint) == expected


@pytest.mark.parametrize("lang", ["nb", "sv", "en"])
@pytest.mark.parametrize("text", [
    "", "   ", "hei", "hej", "hi", "jeg vil bestille service", "jag vill boka service",
    "I want to book a service", "🚗🔧👍", "😀", "912 34 567", "+47 912 34 567",
    "ring meg på 912 34 567", "1 290 kr", "det koster 1 290 kr", "kr 1 290,-", "1290,-",
    "482913", "koden er 482913", "my code is 482913", "bilen min lager lyd", "I may come",
    "jeg har en volvo fra 2015", "navn@example.no", "god morgen", "good morning", "God formiddag!",
    "31.11", "kl 25", "åpent 24/7?", "den første", "the second one", "10 %", "1.5 liter olje",
    "2.5 %", "bilen er en 2015-modell", "the 5th",
])
def test_parse_when_returns_none_without_a_date(text: str, lang: str) -> None:
    assert parse_when(text, lang, NOW) is None


def test_parse_when_returns_none_for_long_random_letters() -> None:
    rng = random.Random(20261123)
    text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzæøåäö ") for _ in range(10_000))
    assert parse_when(text, "nb", NOW) is None


def test_parse_when_never_raises_and_stays_fast() -> None:
    rng = random.Random(7)
    alphabet = "0123456789 .:/-,kKlLaApPmM@+æøåäö🚗\n\t" + "".join(map(chr, range(0x300, 0x310)))
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400))) for _ in range(300)]
    texts += ["x" * 10_000, "9" * 10_000, "kl " * 5_000, "\x00\ud800", "٣/١١", "𝟐𝟒.𝟏𝟏"]
    started = clock.perf_counter()
    for text in texts:
        for lang in ("nb", "sv", "en", "", "xx"):
            found = parse_when(text, lang, NOW)
            assert found is None or isinstance(found, ParsedWhen)
    assert clock.perf_counter() - started < 10


def test_parse_when_reads_only_the_first_500_chars() -> None:
    assert parse_when("x" * 600 + " fredag", "nb", NOW) is None
    assert parse_when("fredag " + "x" * 600, "nb", NOW) == ParsedWhen(datetime(2026, 11, 27), False, None)


@pytest.mark.parametrize(("text", "count", "expected"), [
    ("den første", 3, 0), ("første", 3, 0), ("Den andre", 3, 1), ("tredje", 3, 2),
    ("den siste", 3, 2), ("Jeg tar den første, takk", 3, 0), ("forste", 2, 0),
    ("den första", 3, 0), ("andra", 3, 1), ("sista", 3, 2), ("den fjärde", 4, 3),
    ("the first one", 3, 0), ("second", 3, 1), ("the last", 3, 2), ("The third one please", 3, 2),
    ("1", 3, 0), ("2.", 3, 1), (" 3 ", 3, 2), ("nr 2", 3, 1), ("the 2nd one", 3, 1), ("2:a", 3, 1),
    ("siste", 1, 0), ("last", 5, 4),
])
def test_parse_choice_picks_by_ordinal_or_number(text: str, count: int, expected: int) -> None:
    assert parse_choice(text, count) == expected


@pytest.mark.parametrize(("text", "count"), [
    ("4", 3), ("0", 3), ("fjerde", 3), ("the fourth one", 2), ("første", 0), ("1", 0),
    ("", 3), ("hei", 3), ("kl 9 passer", 3), ("912 34 567", 3), ("ikke den første, men den andre", 3),
    ("10:00", 3), ("🚗", 3), ("x" * 10_000, 3), ("-1", 3),
])
def test_parse_choice_returns_none_when_no_single_valid_pick(text: str, count: int) -> None:
    assert parse_choice(text, count) is None
