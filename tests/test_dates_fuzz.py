"""The date parser under random input (hypothesis): any text, any language hint, any
reference moment gives a result or None, never an exception, and quickly."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.dates import ParsedWhen, parse_choice, parse_when

# Words the parser looks for, so random text often comes close to a real date.
DATE_WORDS = ["mandag", "fredag", "måndag", "friday", "i morgen", "imorgen", "tomorrow", "neste uke", "nästa vecka",
              "kl", "klokka", "om", "dager", "dagar", "days", "weeks", "uker", "januar", "desember", "december",
              "formiddag", "morning", "ettermiddag", "første", "siste", "the", "pm", "a.m.", "31.12", "29.02",
              "2026-02-30", "24/11", "10:00", "25:99", "0.00", "9999", "-1", "1e9", "٣", "𝟐𝟒"]
TEXTS = (
    st.text(max_size=200)
    | st.lists(st.sampled_from(DATE_WORDS) | st.text(max_size=4), max_size=12).map(" ".join)
    | st.lists(st.characters(max_codepoint=0x1F), max_size=50).map("".join)  # control characters
    | st.builds(lambda piece, n: piece * n, st.sampled_from(DATE_WORDS + ["x", "9", " "]), st.integers(1, 20_000))
)
LANGS = st.sampled_from(["nb", "sv", "en", "no", "nn", "", "xx", "NB-no"]) | st.text(max_size=6)
MOMENTS = st.datetimes() | st.sampled_from([datetime.min, datetime.max, datetime(9999, 12, 31, 12)])


@settings(max_examples=250, deadline=timedelta(seconds=1))
@given(text=TEXTS, lang=LANGS, now=MOMENTS)
def test_parse_when_gives_a_result_or_none_for_any_text_language_and_moment(text, lang, now):
    started = time.perf_counter()
    found = parse_when(text, lang, now)
    assert time.perf_counter() - started < 0.5
    assert found is None or isinstance(found, ParsedWhen)
    if found is not None:
        assert isinstance(found.start, datetime)


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(text=TEXTS, count=st.integers(-5, 50))
def test_parse_choice_gives_a_valid_index_or_none_for_any_text(text, count):
    pick = parse_choice(text, count)
    assert pick is None or 0 <= pick < count
