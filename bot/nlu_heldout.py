"""The held-out NLU sets and the numbers measured on them: intent F1 per language and the
out-of-scope false-accept rate.

`tests/nlu_heldout/<lang>/*.yml` holds messages that are never trained on: in-domain
requests of every intent (`in_domain.yml`) and off-topic messages (`out_of_scope.yml`),
written as new customers would write them. `bot bench nlu` and the `bot train` gate score a
model on them; `tests/test_nlu_heldout.py` keeps them apart from data/nlu.

A *false accept* is an out-of-scope message taken as one of the business's intents: anything
but `out_of_scope` or `nlu_fallback`. In-domain F1 counts a rejected in-domain message
(`nlu_fallback`) as an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sklearn.metrics import f1_score

from bot.config import PROJECT_ROOT
from bot.evaluation import plain

HELDOUT_DIR = PROJECT_ROOT / "tests" / "nlu_heldout"
OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"
REJECTED = frozenset({OUT_OF_SCOPE, FALLBACK})
OVERALL = "all"
LANGUAGES = ("nb", "sv", "en")


@dataclass(frozen=True)
class Item:
    text: str
    intent: str
    lang: str


@dataclass(frozen=True)
class Prediction:
    item: Item
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...] = ()


@dataclass
class Scores:
    """In-domain weighted intent F1 and out-of-scope false-accept rate, overall and per language."""

    f1: dict[str, float] = field(default_factory=dict)
    false_accepts: dict[str, float] = field(default_factory=dict)
    confident_false_accepts: dict[str, float] = field(default_factory=dict)
    in_domain: dict[str, int] = field(default_factory=dict)
    out_of_scope: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict]:
        return {
            "f1": self.f1, "false_accepts": self.false_accepts,
            "confident_false_accepts": self.confident_false_accepts,
            "in_domain": self.in_domain, "out_of_scope": self.out_of_scope,
        }


def read_nlu_file(path: Path, lang: str) -> list[Item]:
    """The examples of one Rasa NLU YAML file (entity annotations removed)."""
    items = []
    for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
        intent = block.get("intent")
        if not intent:
            continue
        for line in str(block.get("examples", "")).splitlines():
            line = line.strip()
            if line.startswith("- "):
                items.append(Item(plain(line[2:]), str(intent), lang))
    return items


def read_items(folder: Path, files: str = "*.yml") -> list[Item]:
    """Every example under `folder/<lang>/` (the language is the folder's name)."""
    items: list[Item] = []
    for path in sorted(folder.glob(f"*/{files}")):
        items += read_nlu_file(path, path.parent.name)
    return items


def heldout_items(folder: Path = HELDOUT_DIR) -> list[Item]:
    return read_items(folder)


def is_false_accept(predicted: str) -> bool:
    return predicted not in REJECTED


def score(predictions: Iterable[Prediction], confident: float = 0.7) -> Scores:
    """F1 over in-domain items, false accepts over out-of-scope items, overall and per language."""
    result = Scores()
    groups: dict[str, list[Prediction]] = {}
    for p in predictions:
        for key in (OVERALL, p.item.lang):
            groups.setdefault(key, []).append(p)
    for key, preds in groups.items():
        inside = [p for p in preds if p.item.intent != OUT_OF_SCOPE]
        outside = [p for p in preds if p.item.intent == OUT_OF_SCOPE]
        if inside:
            result.f1[key] = round(float(f1_score(
                [p.item.intent for p in inside], [p.intent for p in inside], average="weighted", zero_division=0,
            )), 4)
            result.in_domain[key] = len(inside)
        if outside:
            accepted = [p for p in outside if is_false_accept(p.intent)]
            result.false_accepts[key] = round(len(accepted) / len(outside), 4)
            result.confident_false_accepts[key] = round(
                sum(p.confidence > confident for p in accepted) / len(outside), 4)
            result.out_of_scope[key] = len(outside)
    return result


def ordered_keys(keys: Iterable[str]) -> list[str]:
    present = set(keys)
    return [k for k in (OVERALL, *LANGUAGES) if k in present] + sorted(present - {OVERALL, *LANGUAGES})
