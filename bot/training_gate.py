"""The F1 gate of `bot train`: compare a candidate's held-out intent F1 with the score recorded
when the current model was activated, and decide.

Rule: the candidate is refused when its weighted intent F1 drops by more than `margin`
overall, or by more than `language_margin` (default: the same margin) in any language both
were measured in; or when its out-of-scope false-accept rate (held-out off-topic messages
taken as a business intent) rises by more than `oos_margin`, overall or in any language. The
per-language checks exist because one language can get much worse while the others hide it in
the overall number. A record without false-accept rates (written before they were measured) is
compared on F1 only. A first run (no record) is accepted and becomes the baseline.
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
    false_accepts: dict[str, float] = field(default_factory=dict)
    out_of_scope_examples: dict[str, int] = field(default_factory=dict)


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
class RiseRow:
    """The out-of-scope false-accept rate of one language (or overall): lower is better."""

    name: str
    current: float | None
    candidate: float
    examples: int
    limit: float

    @property
    def delta(self) -> float | None:
        return None if self.current is None else self.candidate - self.current

    @property
    def rose(self) -> bool:
        return self.delta is not None and self.delta > self.limit + _EPSILON


@dataclass(frozen=True)
class Decision:
    accepted: bool
    rows: list[Row]
    reasons: list[str]
    first_run: bool = False
    rises: list[RiseRow] = field(default_factory=list)


def _rise_rows(current: Scores | None, candidate: Scores, oos_margin: float) -> list[RiseRow]:
    names = [OVERALL] + sorted(k for k in candidate.false_accepts if k != OVERALL)
    return [
        RiseRow(name, None if current is None else current.false_accepts.get(name), candidate.false_accepts[name],
                candidate.out_of_scope_examples.get(name, 0), oos_margin)
        for name in names if name in candidate.false_accepts
    ]


def decide(current: Scores | None, candidate: Scores, margin: float, language_margin: float | None = None,
           oos_margin: float = 0.02) -> Decision:
    """Accept or refuse `candidate` against `current` (None: nothing recorded yet)."""
    language_margin = margin if language_margin is None else language_margin
    rises = _rise_rows(current, candidate, oos_margin)
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
                        first_run=True, rises=rises)
    reasons = [
        f"intent F1 {'overall' if r.name == OVERALL else 'in ' + r.name} dropped by {-r.delta:.3f} "
        f"(from {r.current:.3f} to {r.candidate:.3f}; allowed {r.limit:.3f})"
        for r in rows if r.dropped and r.delta is not None and r.current is not None
    ] + [
        f"out-of-scope false accepts {'overall' if r.name == OVERALL else 'in ' + r.name} rose by {r.delta:.3f} "
        f"(from {r.current:.3f} to {r.candidate:.3f}; allowed {r.limit:.3f})"
        for r in rises if r.rose and r.delta is not None and r.current is not None
    ]
    if not reasons:
        reasons = [f"no drop larger than the margin ({margin:.3f} overall, {language_margin:.3f} per language)"
                   + (f" and no rise of out-of-scope false accepts above {oos_margin:.3f}" if rises else "")]
        if rises and not current.false_accepts:
            reasons.append("the current model's record has no false-accept rates: compared on F1 only")
        return Decision(True, rows, reasons, rises=rises)
    return Decision(False, rows, reasons, rises=rises)


def comparison_table(decision: Decision, current_name: str | None) -> str:
    """Current vs candidate per language, with the delta and which rows break the margin."""
    header = f"{'intent F1 (weighted)':<22}{'current':>9}{'candidate':>11}{'delta':>9}  examples"
    lines = [f"current model: {current_name or '(none)'}", header, "-" * len(header)]
    for row in decision.rows:
        current = "-" if row.current is None else f"{row.current:.3f}"
        delta = "-" if row.delta is None else f"{row.delta:+.3f}"
        mark = f"  DROP > {row.limit:.3f}" if row.dropped else ""
        lines.append(f"{row.name:<22}{current:>9}{row.candidate:>11.3f}{delta:>9}  {row.examples:>8}{mark}")
    if decision.rises:
        header = f"{'out-of-scope accepted':<22}{'current':>9}{'candidate':>11}{'delta':>9}  examples"
        lines += [header, "-" * len(header)]
        for rise in decision.rises:
            current = "-" if rise.current is None else f"{rise.current:.3f}"
            delta = "-" if rise.delta is None else f"{rise.delta:+.3f}"
            mark = f"  RISE > {rise.limit:.3f}" if rise.rose else ""
            lines.append(f"{rise.name:<22}{current:>9}{rise.candidate:>11.3f}{delta:>9}  {rise.examples:>8}{mark}")
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
    return Scores(
        {k: float(v) for k, v in body["f1"].items()}, examples,
        {k: float(v) for k, v in body.get("false_accepts", {}).items()},
        {k: int(v) for k, v in body.get("out_of_scope_examples", {}).items()},
    ), body
