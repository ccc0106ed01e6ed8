"""Which of our three languages (nb, sv, en) a customer writes in.

A wrong guess is much worse than no guess: it flips the whole conversation into another
language. So `detect_language` answers only when a message is clearly nb, sv or en, and
returns None for anything short or ambiguous; the caller then keeps the conversation's
language (`choose_language`). No Rasa imports here, so channels, actions and tests can
use it without loading Rasa.

How a message is judged:

* e-mail addresses, links and anything containing a digit (phone numbers, times, booking
  codes) are dropped first: they say nothing about the language and are personal data;
* keyboard mashing (most longer words without a vowel, or a letter three times in a row):
  None, because lingua is often confident about it;
* fewer than MIN_WORDS words or MIN_LETTERS letters left: None. One-word messages
  ("takk", "tack", "halla", "sees", "javisst") fool lingua too often, sometimes with
  confidence above 0.8, and the conversation's language is the better guess for them;
* lingua scores the text against Bokmål, Nynorsk, Swedish and English. Nynorsk is added
  and counted as "nb" because lingua's Bokmål model alone misses many short Norwegian
  messages (Nynorsk takes much of their probability). Danish is left out: adding it and
  counting it as "nb" turned Swedish messages such as "hej, jag vill boka service" into
  "nb";
* a few frequent function words and letters that exist in only one of the three languages
  ("jeg"/"jag", "ikke"/"inte", "hva"/"vad", æ ø / ä ö, "the", "you", ...) settle the
  close nb/sv cases, where lingua's scores for short messages are often near 50/50. When
  they all point to one language, lingua only has to not rule it out
  (MARKER_CONFIDENCE_FLOOR); when they point to several, lingua's choice must be among
  them; without markers, lingua must be confident (CONFIDENCE_THRESHOLD) about at least
  MIN_WORDS_WITHOUT_MARKERS words.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lingua import LanguageDetector

SUPPORTED: tuple[str, ...] = ("nb", "sv", "en")
DEFAULT_LANGUAGE = "nb"

# Only the start of a message is judged: enough to tell the language, and it bounds the
# time spent on a pasted wall of text.
MAX_CHARS = 1000
# Fewer letters or words than this (after dropping digits, e-mails and links) is too
# little to tell nb from sv reliably: "ok", "ja", "hei", "1234", "+47 912 34 567".
MIN_LETTERS = 5
MIN_WORDS = 2
# Without a marker word, two words are too little as well: "no loaner" came out as "nb".
MIN_WORDS_WITHOUT_MARKERS = 3
# lingua's summed confidence for the winning language when no marker word helps. Chosen on
# ~260 nb/sv/en chat sentences plus the 649 nb NLU examples: at 0.6 a few Norwegian
# greetings ("vi sees", "hallo hallo") came out as English; at 0.65 none was wrong.
CONFIDENCE_THRESHOLD = 0.65
# When every marker word points to one language, lingua only has to give it this much.
MARKER_CONFIDENCE_FLOOR = 0.3

# Frequent words that are written this way in only one of nb, sv and en. Deliberately
# left out: shared or look-alike words such as "er" (sv "er" = you), "till" (en "till"),
# "ni" (nb "ni" = nine), "i", "to", "me", "min", "det", "har", "kan", "ja".
_MARKER_WORDS: dict[str, frozenset[str]] = {
    "nb": frozenset(
        "jeg ikke hva hvor hvordan hvorfor hvilken hvilket hvilke hvem hvis dere meg deg og til "
        "fra mye vil skal takk nå noe noen også hei ferdig bare morgen nei".split()
    ),
    "sv": frozenset(
        "jag inte vad hur varför vilken vilket vilka vem mig dig och från mycket vill ska tack "
        "något någon också hej är att bara finns morgon nej visa radera avsluta kolla japp".split()
    ),
    "en": frozenset(
        "the you your my is are am what how when where can want please thanks thank and it do "
        "does have need that this there with about would could should will hello hi hey yes "
        "not don't i'd i'm it's good morning tomorrow today tonight evening afternoon".split()
    ),
}
_MARKER_LETTERS: dict[str, str] = {"nb": "æø", "sv": "äö"}
# Keyboard mashing ("sdfkj sdfkjh", "dsfsdf", "aaaaa bbbbb") gets confident answers from lingua
# (0.99 "nb" for "sdfkj sdfkjh sdf"); a gibberish reply must not switch the conversation's
# language. Words of 3+ letters without a vowel or with a letter three times in a row mark it.
_VOWELS = frozenset("aeiouyæøåäöéèêáàüó")
_TRIPLE = re.compile(r"(.)\1\1")

# E-mail addresses, links and any token with a digit (phone numbers, times, codes).
_NOISE = re.compile(r"\S*@\S+|https?://\S+|www\.\S+|\S*\d\S*")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    """Built once per process: loading lingua's models takes about a second."""
    from lingua import Language, LanguageDetectorBuilder

    return (
        LanguageDetectorBuilder.from_languages(
            Language.BOKMAL, Language.NYNORSK, Language.SWEDISH, Language.ENGLISH
        )
        .with_preloaded_language_models()
        .build()
    )


def warm_up() -> None:
    """Load lingua's models now, so the first customer does not wait for them."""
    _detector()


def _words(text: str) -> list[str]:
    """The message's words in lower case, without e-mails, links, numbers and codes."""
    cleaned = _NOISE.sub(" ", text[:MAX_CHARS].replace("\u2019", "'"))
    return _WORD.findall(cleaned.lower())


def _names(text: str) -> set[str]:
    """Capitalised words inside a sentence, in lower case: names ("Strømsveien", "Tromsø",
    "Göteborg"), whose letters say nothing about the language around them."""
    raw = text[:MAX_CHARS]
    names = set()
    for match in _WORD.finditer(raw):
        before = raw[:match.start()].rstrip()
        if match.group(0)[0].isupper() and before and before[-1] not in ".!?:;\n•-–(\"'«":
            names.add(match.group(0).lower())
    return names


def looks_like_words(words: list[str]) -> bool:
    """False when most words of three or more letters have no vowel or repeat a letter thrice."""
    long_words = [w for w in words if len(w) >= 3]
    if not long_words:
        return True
    odd = sum(1 for w in long_words if not (set(w) & _VOWELS) or _TRIPLE.search(w))
    return odd * 2 < len(long_words)


def _marker_languages(words: list[str], names: set[str] | None = None) -> set[str]:
    """The languages that some word of the message can only belong to (a name's letters excepted)."""
    found: set[str] = set()
    for word in words:
        for code, markers in _MARKER_WORDS.items():
            if word in markers:
                found.add(code)
        if names and word in names:
            continue
        for code, letters in _MARKER_LETTERS.items():
            if any(letter in word for letter in letters):
                found.add(code)
    return found


def _confidences(text: str) -> dict[str, float]:
    """lingua's confidence per supported code, Bokmål and Nynorsk summed into "nb"."""
    codes = {"BOKMAL": "nb", "NYNORSK": "nb", "SWEDISH": "sv", "ENGLISH": "en"}
    scores: dict[str, float] = {}
    for value in _detector().compute_language_confidence_values(text):
        code = codes[value.language.name]
        scores[code] = scores.get(code, 0.0) + value.value
    return scores


def detect_language_with_confidence(text: str) -> tuple[str, float] | None:
    """Like `detect_language`, with lingua's confidence for the answer (0..1)."""
    if not isinstance(text, str):
        return None
    words = _words(text)
    if len(words) < MIN_WORDS or sum(len(word) for word in words) < MIN_LETTERS or not looks_like_words(words):
        return None
    scores = _confidences(" ".join(words))
    if not scores:
        return None
    best = max(scores, key=lambda code: scores[code])
    markers = _marker_languages(words, _names(text))
    if len(markers) == 1:
        (marked,) = markers
        confidence = scores.get(marked, 0.0)
        return (marked, confidence) if confidence >= MARKER_CONFIDENCE_FLOOR else None
    if markers and best not in markers:
        return None
    if not markers and len(words) < MIN_WORDS_WITHOUT_MARKERS:
        return None
    return (best, scores[best]) if scores[best] >= CONFIDENCE_THRESHOLD else None


def is_gibberish(text: str) -> bool:
    """Keyboard mashing ("jkjkjk lölölö", "sdfkj sdfkjh"): no answer to a question."""
    return isinstance(text, str) and not looks_like_words(_words(text))


def has_marker_words(text: str) -> bool:
    """Whether some word of the message belongs to only one of nb, sv and en."""
    return isinstance(text, str) and bool(_marker_languages(_words(text)))


def detect_language(text: str) -> str | None:
    """Return "nb", "sv" or "en" when the message is clearly in that language, else None.

    None means "cannot tell" (too short, only numbers or emoji, mixed or ambiguous); the
    caller should then keep the conversation's language rather than guess.
    """
    detected = detect_language_with_confidence(text)
    return detected[0] if detected else None


def choose_language(detected: str | None, current: str | None, profile: str | None) -> str:
    """The language to answer in: the message's if clear, else the conversation's, else
    the customer's profile's, else nb. Unsupported values are skipped, so a stale or
    foreign code can never make us answer in a language we have no texts for."""
    for candidate in (detected, current, profile):
        if candidate is not None and candidate in SUPPORTED:
            return candidate
    return DEFAULT_LANGUAGE
