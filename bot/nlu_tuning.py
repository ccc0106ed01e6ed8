"""Fallback thresholds chosen on held-out data, not by hand (`bot nlu tune`).

The rule (`rejects`) is what `connectors/nlu_fallback.py` applies to every message:
- below `threshold`, or within `ambiguity` of the runner-up: not understood (`nlu_fallback`);
- an intent that shows or changes personal data or bookings (`GUARDED_INTENTS`) must also
  reach `guarded_threshold` and beat the runner-up by `guarded_margin`.

`bot nlu tune` trains an NLU model on the train part of the stable split of data/nlu
(bot.training_data: about 20 % of every intent and language held out, out-of-scope included),
parses the held-out part, and searches the four numbers:
1. `threshold` and `ambiguity` maximise in-domain weighted F1 minus the out-of-scope
   false-accept rate (both in [0, 1], so one point of F1 weighs one point of false accepts);
2. for the guarded intents, the bar (`guarded_threshold`, `guarded_margin`) that maximises
   right guarded answers minus `WRONG_GUARDED_COST` times wrong ones (a held-out message, off-topic
   or of another intent, taken as a guarded intent), with a margin of at least `MIN_GUARDED_MARGIN`
   (a guess that barely beats the runner-up is never acted on). A guarded intent below its bar is not lost:
   the fallback asks the customer to confirm it ("Do you mean: show the data we store about you?"),
   so a wrong accept (data shown, a change made) costs far more than a confirmation question.
The result is written into config.yml. tests/nlu_heldout is not used here: it stays the
untouched measure of `bot bench nlu`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from sklearn.metrics import f1_score

from bot.config import PROJECT_ROOT, VAR_DIR
from bot.intents import GUARDED_INTENTS

OUT_OF_SCOPE, FALLBACK = "out_of_scope", "nlu_fallback"
WRONG_GUARDED_COST = 3.0
_GRID_THRESHOLD = [round(0.2 + 0.05 * i, 2) for i in range(13)]          # 0.20 .. 0.80
_GRID_AMBIGUITY = [round(0.025 * i, 3) for i in range(9)]                # 0 .. 0.20
_GRID_GUARDED = [round(0.3 + 0.05 * i, 2) for i in range(14)]            # 0.30 .. 0.95
# A guarded intent never fires on a low-margin guess: the margin is searched from 0.2 up (a rule, not tuned).
MIN_GUARDED_MARGIN = 0.2
_GRID_MARGIN = [round(MIN_GUARDED_MARGIN + 0.05 * i, 2) for i in range(9)]   # 0.20 .. 0.60


@dataclass(frozen=True)
class Thresholds:
    threshold: float
    ambiguity: float
    guarded_threshold: float
    guarded_margin: float


@dataclass(frozen=True)
class Ranked:
    """One held-out message: its true intent, language and the model's top two (before fallback)."""

    gold: str
    lang: str
    top: str
    confidence: float
    second: float


def rejects(intent: str, confidence: float, second: float, t: Thresholds,
            guarded: frozenset[str] = frozenset(GUARDED_INTENTS)) -> bool:
    """True when the prediction must become `nlu_fallback`."""
    if confidence < t.threshold or confidence - second < t.ambiguity:
        return True
    return intent in guarded and (confidence < t.guarded_threshold or confidence - second < t.guarded_margin)


def decide(item: Ranked, t: Thresholds) -> str:
    return FALLBACK if rejects(item.top, item.confidence, item.second, t) else item.top


@dataclass(frozen=True)
class Outcome:
    f1: float
    false_accepts: float
    wrong_guarded: int
    guarded_recall: float
    right_guarded: int = 0

    @property
    def objective(self) -> float:
        return self.f1 - self.false_accepts

    @property
    def guarded_value(self) -> float:
        return self.right_guarded - WRONG_GUARDED_COST * self.wrong_guarded


def evaluate(items: list[Ranked], t: Thresholds) -> Outcome:
    inside = [i for i in items if i.gold != OUT_OF_SCOPE]
    outside = [i for i in items if i.gold == OUT_OF_SCOPE]
    predicted = {id(i): decide(i, t) for i in items}
    f1 = float(f1_score([i.gold for i in inside], [predicted[id(i)] for i in inside], average="weighted",
                        zero_division=0)) if inside else 0.0
    accepted = [i for i in outside if predicted[id(i)] not in (OUT_OF_SCOPE, FALLBACK)]
    wrong_guarded = sum(1 for i in items if predicted[id(i)] in GUARDED_INTENTS and predicted[id(i)] != i.gold)
    guarded = [i for i in inside if i.gold in GUARDED_INTENTS]
    right = sum(predicted[id(i)] == i.gold for i in guarded)
    recall = right / len(guarded) if guarded else 1.0
    return Outcome(round(f1, 4), round(len(accepted) / len(outside), 4) if outside else 0.0, wrong_guarded,
                   round(recall, 4), right)


def tune(items: list[Ranked]) -> tuple[Thresholds, Outcome]:
    """The thresholds by the two steps of the module's docstring (ties: the lower values)."""
    best: tuple[float, Thresholds, Outcome] | None = None
    for threshold in _GRID_THRESHOLD:
        for ambiguity in _GRID_AMBIGUITY:
            t = Thresholds(threshold, ambiguity, 0.0, 0.0)
            outcome = evaluate(items, t)
            if best is None or outcome.objective > best[0] + 1e-9:
                best = (outcome.objective, t, outcome)
    assert best is not None
    base = best[1]
    candidates = []
    for guarded_threshold in _GRID_GUARDED:
        for margin in _GRID_MARGIN:
            t = Thresholds(base.threshold, base.ambiguity, max(guarded_threshold, base.threshold), margin)
            candidates.append((t, evaluate(items, t)))
    return min(candidates, key=lambda c: (-c[1].guarded_value, -c[1].objective,
                                          c[0].guarded_threshold + c[0].guarded_margin))


def ranked_from(predictions: Iterable) -> list[Ranked]:
    """`bot.nlu_heldout.Prediction`s (with their ranking) as tuning items."""
    items = []
    for p in predictions:
        ranking = [(n, c) for n, c in p.ranking if n != FALLBACK]
        top, confidence = ranking[0] if ranking else (FALLBACK, 0.0)
        second = ranking[1][1] if len(ranking) > 1 else 0.0
        items.append(Ranked(p.item.intent, p.item.lang, top, confidence, second))
    return items


_KEYS = {"threshold": "threshold", "ambiguity_threshold": "ambiguity", "guarded_threshold": "guarded_threshold",
         "guarded_margin": "guarded_margin"}


def write_thresholds(config: Path, t: Thresholds, note: str) -> None:
    """Set the four values in the fallback classifier's entry of `config`, keeping the rest of the file."""
    text = config.read_text(encoding="utf-8")
    start = text.index("connectors.nlu_fallback.GuardedFallbackClassifier")
    end = text.find("\n  - name:", start)
    end = len(text) if end < 0 else end
    block = text[start:end]
    for key, field in _KEYS.items():
        value = getattr(t, field)
        block, count = re.subn(rf"(\n\s+{key}:\s*)[0-9.]+", rf"\g<1>{value}", block)
        if count != 1:
            raise ValueError(f"{config}: the fallback classifier has no single `{key}:` line")
    block = re.sub(r"(\n\s+# tuned: ).*", rf"\g<1>{note}", block)
    config.write_text(text[:start] + block + text[end:], encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    """`bot nlu tune`: train on the split's train part, parse its held-out part, search, write config."""
    from bot.bench_nlu import parse_all, train_nlu  # noqa: PLC0415 - these start Rasa processes
    from bot.nlu_heldout import read_items  # noqa: PLC0415
    from bot.training_data import read_examples, split_examples, write_split  # noqa: PLC0415

    config = Path(args.config)
    root, results = PROJECT_ROOT, PROJECT_ROOT / "results" / "nlu-tuning"
    with tempfile.TemporaryDirectory(prefix="bot-nlu-tune-") as tmp:
        work = Path(tmp)
        examples, others = read_examples(root / "data" / "nlu")
        train_dir, test_dir = write_split(split_examples(examples, others=others), work / "split")
        digest = hashlib.sha256(config.read_bytes())
        for path in sorted(train_dir.rglob("*.yml")):
            digest.update(path.read_bytes())
        # The thresholds do not change the model: a model of the same config and data is reused.
        model = VAR_DIR / "bench" / "nlu" / f"tuning-{digest.hexdigest()[:12]}.tar.gz"
        if not model.exists():
            print(f"training an NLU model of {config} on the train part of the split ...", flush=True)
            trained, seconds = train_nlu(config, train_dir, work / "model", "tuning", results)
            model.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(trained), model)
            print(f"trained in {seconds:.0f} s", flush=True)
        items = read_items(test_dir)
        print(f"parsing {len(items)} held-out examples with {model.name} ...", flush=True)
        ranked = ranked_from(parse_all(model, items, work, "tuning").predictions)
    results.mkdir(parents=True, exist_ok=True)
    (results / "heldout-predictions.json").write_text(
        json.dumps([asdict(r) for r in ranked], ensure_ascii=False, indent=0), encoding="utf-8")
    chosen, outcome = tune(ranked)
    current = _current(config)
    before = evaluate(ranked, current) if current else None
    print(f"held-out: {sum(r.gold != OUT_OF_SCOPE for r in ranked)} in-domain, "
          f"{sum(r.gold == OUT_OF_SCOPE for r in ranked)} out-of-scope")
    if current and before:
        print(f"current  {current}: {_outcome(before)}")
    print(f"tuned    {chosen}: {_outcome(outcome)}")
    if args.dry_run:
        print("config unchanged (--dry-run)")
        return 0
    write_thresholds(config, chosen, f"F1 {outcome.f1:.3f}, false accepts {100 * outcome.false_accepts:.1f} % "
                                     f"on {len(ranked)} held-out examples of the split (bot nlu tune)")
    print(f"written into {config}")
    return 0


def _outcome(o: Outcome) -> str:
    return (f"F1 {o.f1:.3f}, false accepts {100 * o.false_accepts:.1f} %, "
            f"guarded: {o.right_guarded} right, {o.wrong_guarded} wrong (recall {o.guarded_recall:.3f})")


def _current(config: Path) -> Thresholds | None:
    import yaml  # noqa: PLC0415

    for entry in (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("pipeline", []):
        if str(entry.get("name", "")).endswith("GuardedFallbackClassifier"):
            return Thresholds(float(entry.get("threshold", 0.3)), float(entry.get("ambiguity_threshold", 0.1)),
                              float(entry.get("guarded_threshold", 0.7)), float(entry.get("guarded_margin", 0.3)))
    return None
