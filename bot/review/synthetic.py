"""Fixed, realistic stand-ins for the placeholders `bot.masking` leaves in a message.

Masked texts say `<phone>`, `<email>`, `<regnr>` and `<name>`. Training data and test stories
must not contain those tokens (the model would learn the angle brackets, and a customer
never writes them), nor the customer's real data. So before a masked text becomes a
training example or a story step, every placeholder is replaced by one fixed synthetic
value per language, in the shape customers of that language write it:

| placeholder | nb | sv | en |
|---|---|---|---|
| `<phone>` | 912 34 567 | 070-123 45 67 | +47 912 34 567 |
| `<email>` | ola@example.com | anna@example.com | sam@example.com |
| `<regnr>` | AB 12345 | ABC 123 | AB 12345 |
| `<name>` | Ola | Anna | Sam |

The values are fictitious (example.com is reserved for examples) and fixed, so the same
masked message always becomes the same example and duplicates stay detectable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.lang import DEFAULT_LANGUAGE

SYNTHETIC: dict[str, dict[str, str]] = {
    "nb": {"<phone>": "912 34 567", "<email>": "ola@example.com", "<regnr>": "AB 12345", "<name>": "Ola"},
    "sv": {"<phone>": "070-123 45 67", "<email>": "anna@example.com", "<regnr>": "ABC 123", "<name>": "Anna"},
    "en": {"<phone>": "+47 912 34 567", "<email>": "sam@example.com", "<regnr>": "AB 12345", "<name>": "Sam"},
}
PLACEHOLDER = re.compile(r"<(?:phone|email|regnr|name)>")


@dataclass(frozen=True)
class Span:
    """An entity in a masked text: `text[start:end]` is the span, `value` its (normalised) value."""

    start: int
    end: int
    entity: str
    value: str


def unmask(text: str, lang: str) -> str:
    """`text` with every placeholder replaced by the language's synthetic value."""
    values = SYNTHETIC.get(lang, SYNTHETIC[DEFAULT_LANGUAGE])
    return PLACEHOLDER.sub(lambda m: values[m.group(0)], text)


def annotation(span_text: str, entity: str, value: str) -> str:
    """Rasa's inline annotation: `[text](entity)`, or the dict form when the value differs."""
    if value == span_text:
        return f"[{span_text}]({entity})"
    return f'[{span_text}]{{"entity": "{entity}", "value": "{value}"}}'


def render(masked: str, spans: Sequence[Span], lang: str) -> tuple[str, str]:
    """(plain, annotated) text of a masked message: placeholders replaced, entities annotated.

    Offsets in `spans` are offsets in the masked text; replacing placeholders moves them, so
    the text is rebuilt piece by piece rather than patched."""
    plain, annotated, cursor = [], [], 0
    for span in sorted(spans, key=lambda s: s.start):
        before = unmask(masked[cursor:span.start], lang)
        inside = unmask(masked[span.start:span.end], lang)
        value = inside if span.value == masked[span.start:span.end] else unmask(span.value, lang)
        plain += [before, inside]
        annotated += [before, annotation(inside, span.entity, value)]
        cursor = span.end
    rest = unmask(masked[cursor:], lang)
    return "".join(plain + [rest]), "".join(annotated + [rest])
