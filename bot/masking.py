"""Mask personal data in free text: e-mail addresses, phone numbers, registration numbers, names.

Used wherever a customer's words leave the conversation: the trainers' review inbox and
the log filter. Masks are placeholders (`<email>`, `<phone>`, `<regnr>`, `<name>`) so the
sentence stays readable and useful as a training example.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# +47 912 34 567, 0046 70-123 45 67, 91234567, 070-123 45 67: 7 to 12 digits, spaces or dashes between.
PHONE = re.compile(r"(?<![\w.:/-])(?:(?:\+|00)\d{1,3}[ -]?)?\d(?:[ -]?\d){6,11}(?![\w:/-]|[.,]\d)")
DATE_LIKE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$|^\d{1,2}-\d{1,2}-\d{2,4}$")
# Norwegian "AB 12345" / "EL12345", Swedish "ABC 123" / "ABC 12A".
REGISTRATION = re.compile(
    r"(?<![\w-])(?:[A-ZÆØÅ]{2}[ -]?\d{4,5}|[A-ZÅÄÖ]{3}[ -]?\d{2}[\dA-Z])(?![\w-])", re.IGNORECASE
)

PLACEHOLDERS = ("<email>", "<phone>", "<regnr>", "<name>")


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    return found if DATE_LIKE.match(found) else "<phone>"


def name_parts(names: Iterable[str | None]) -> list[str]:
    """Full names and their parts (two letters or more), longest first so full names win."""
    parts: set[str] = set()
    for name in names:
        if not name:
            continue
        name = name.strip()
        if len(name) >= 2:
            parts.add(name)
        parts.update(p for p in re.split(r"[\s-]+", name) if len(p) >= 2)
    return sorted(parts, key=len, reverse=True)


def mask(text: str, names: Iterable[str | None] = ()) -> str:
    """`text` with personal data replaced by placeholders; `names` are the customer's own names."""
    if not text:
        return text
    masked = EMAIL.sub("<email>", text)
    masked = REGISTRATION.sub("<regnr>", masked)
    masked = PHONE.sub(_phone, masked)
    for part in name_parts(names):
        masked = re.sub(rf"(?<!\w){re.escape(part)}(?!\w)", "<name>", masked, flags=re.IGNORECASE)
    return masked


def contains_personal_data(text: str, names: Iterable[str | None] = ()) -> bool:
    return mask(text, names) != text
