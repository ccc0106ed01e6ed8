"""The F1 gate of `bot train`: compare a candidate's held-out intent F1 with the score recorded
when the current model was activated, and decide.

Rule: the candidate is refused when its weighted intent F1 drops by more than `margin`
overall, or by more than `language_margin` (default: the same margin) in any language both
were measured in. The per-language check exists because one language can get much worse
while the others hide it in the overall number. A first run (no record) is accepted and
becomes the baseline.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

OVERALL = "all"
_EPSILON = 1e-9   # so a drop of exactly the margin passes despite float rounding


@dataclass(frozen=True)
class Scores:
    """Weighted intent F1 on the held-out split, overall and per language, with example counts."""

    f1: dict[str, float]
    examples: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    name: str
    current: float | None
    candidate: float
    examples: int
    limit: float

    @property
    def delta(self) -> float | None:
        return None if self.current is None else self.candidate - self.current

    @property
    def dropped(self) -> bool:
        return self.delta is not None and self.delta < -self.limit - _EPSILON


@dataclass(frozen=True)
class Decision:
    accepted: bool
    rows: list[Row]
    reasons: list[str]
    first_run: bool = False


def decide(current: Scores | None, candidate: Scores, margin: float, language_margin: float | None = None) -> Decision:
    """Accept or refuse `candidate` against `current` (None: nothing recorded yet)."""
    language_margin = margin if language_margin is None else language_margin
    names = [OVERALL] + sorted(k for k in candidate.f1 if k != OVERALL)
    rows = [
        Row(
            name,
            None if current is None else current.f1.get(name),
            candidate.f1[name],
            candidate.examples.get(name, 0),
            margin if name == OVERALL else language_margin,
        )
        for name in names
    ]
    if current is None:
        return Decision(True, rows, ["no recorded score for the current model: the candidate becomes the baseline"],
                        first_run=True)
    reasons = [
        f"intent F1 {'overall' if r.name == OVERALL else 'in ' + r.name} dropped by {-r.delta:.3f} "
        f"(from {r.current:.3f} to {r.candidate:.3f}; allowed {r.limit:.3f})"
        for r in rows if r.dropped and r.delta is not None and r.current is not None
    ]
    if not reasons:
        reasons = [f"no drop larger than the margin ({margin:.3f} overall, {language_margin:.3f} per language)"]
        return Decision(True, rows, reasons)
    return Decision(False, rows, reasons)


def comparison_table(decision: Decision, current_name: str | None) -> str:
    """Current vs candidate per language, with the delta and which rows break the margin."""
    header = f"{'intent F1 (weighted)':<22}{'current':>9}{'candidate':>11}{'delta':>9}  examples"
    lines = [f"current model: {current_name or '(none)'}", header, "-" * len(header)]
    for row in decision.rows:
        current = "-" if row.current is None else f"{row.current:.3f}"
        delta = "-" if row.delta is None else f"{row.delta:+.3f}"
        mark = f"  DROP > {row.limit:.3f}" if row.dropped else ""
        lines.append(f"{row.name:<22}{current:>9}{row.candidate:>11.3f}{delta:>9}  {row.examples:>8}{mark}")
    verdict = "ACCEPTED" if decision.accepted else "REFUSED"
    lines.append(f"{verdict}: " + "; ".join(decision.reasons))
    return "\n".join(lines)


def record_path(model: Path) -> Path:
    """models/<name>.tar.gz -> models/<name>.evaluation.json"""
    name = model.name.removesuffix(".tar.gz")
    return model.with_name(f"{name}.evaluation.json")


def write_record(model: Path, scores: Scores, **details: object) -> Path:
    path = record_path(model)
    body = {"model": model.name, **asdict(scores), **details}
    path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_record(model: Path) -> tuple[Scores, dict] | None:
    """The scores recorded for `model` and the whole record, or None when there is none."""
    path = record_path(model)
    if not path.exists():
        return None
    body = json.loads(path.read_text(encoding="utf-8"))
    examples = {k: int(v) for k, v in body.get("examples", {}).items()}
    return Scores({k: float(v) for k, v in body["f1"].items()}, examples), body
