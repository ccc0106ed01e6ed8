"""The intent confusion matrix of the last NLU evaluation.

`bot train` writes `results/nlu-evaluation/` (Rasa's intent_successes/errors and
intent_report); `make evaluate` writes `results/nlu-cross-validation/`. The first folder
holding predictions is used, so a fresh training run wins over an older cross-validation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.evaluation import predictions

SOURCES = ("nlu-evaluation", "nlu-cross-validation")
HOW_TO = "Kjør «bot train» (skriver results/nlu-evaluation/) eller «make evaluate» (kryssvalidering)."


@dataclass(frozen=True)
class Confusion:
    source: Path
    evaluated_at: datetime
    labels: list[str]  # gold intents, then predicted-only labels
    matrix: list[list[int]]  # matrix[gold][predicted]
    accuracy: float
    weighted_f1: float | None

    @property
    def examples(self) -> int:
        return sum(map(sum, self.matrix))

    def top_confusions(self, limit: int = 10) -> list[tuple[str, str, int]]:
        """(gold, predicted, count) of the most frequent mistakes."""
        pairs = [
            (self.labels[g], self.labels[p], count)
            for g, row in enumerate(self.matrix) for p, count in enumerate(row) if g != p and count
        ]
        return sorted(pairs, key=lambda pair: (-pair[2], pair[0], pair[1]))[:limit]


def _weighted_f1(folder: Path) -> float | None:
    path = folder / "intent_report.json"
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        return float(report["weighted avg"]["f1-score"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def last_confusion(results_dir: Path) -> Confusion | None:
    """The confusion matrix of the newest evaluation found, or None when there is none."""
    for name in SOURCES:
        folder = results_dir / name
        found = predictions(folder) if folder.is_dir() else []
        if found:
            return confusion_from(folder, found)
    return None


def confusion_from(folder: Path, items: list[dict]) -> Confusion:
    pairs = [(str(item["intent"]), (item.get("intent_prediction") or {}).get("name") or "None") for item in items]
    gold = sorted({g for g, _ in pairs})
    labels = gold + sorted({p for _, p in pairs} - set(gold))
    index = {label: n for n, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in pairs:
        matrix[index[g]][index[p]] += 1
    correct = sum(g == p for g, p in pairs)
    stamp = max((folder / name).stat().st_mtime for name in ("intent_successes.json", "intent_errors.json")
                if (folder / name).exists())
    return Confusion(folder, datetime.fromtimestamp(stamp), labels, matrix, correct / len(pairs), _weighted_f1(folder))
