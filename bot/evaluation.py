"""Intent F1 per language from an NLU cross-validation run.

`make evaluate` runs `rasa test nlu --cross-validation --successes --errors`; this reads the
predictions it wrote and splits them by the language folder each example comes from.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml
from sklearn.metrics import f1_score

from bot.config import PROJECT_ROOT

_ANNOTATION = re.compile(r"\[([^\]]+)\](\{[^}]*\}|\([^)]*\))")


def plain(text: str) -> str:
    return _ANNOTATION.sub(r"\1", text).strip()


def language_of_examples(nlu_dir: Path = PROJECT_ROOT / "data" / "nlu") -> dict[str, str]:
    """Example text -> language, from data/nlu/<lang>/*.yml."""
    languages: dict[str, str] = {}
    for path in sorted(nlu_dir.glob("*/*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    languages[plain(line[2:])] = path.parent.name
    return languages


def predictions(results_dir: Path) -> list[dict]:
    """Rasa's per-example intent predictions (`--successes --errors`) in a results folder."""
    found: list[dict] = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = results_dir / name
        if path.exists():
            found += json.loads(path.read_text(encoding="utf-8"))
    return found


def per_language_f1(
    results_dir: Path, nlu_dir: Path | None = None, overall: str | None = None
) -> dict[str, tuple[float, int]]:
    """Weighted intent F1 and example count per language of `nlu_dir` (default data/nlu);
    with `overall`, also over all predictions under that key."""
    languages = language_of_examples(nlu_dir) if nlu_dir else language_of_examples()
    by_lang: dict[str, tuple[list[str], list[str]]] = {}
    for item in predictions(results_dir):
        lang = languages.get(item["text"].strip(), "unknown")
        for key in (lang, overall) if overall else (lang,):
            gold, predicted = by_lang.setdefault(key, ([], []))
            gold.append(item["intent"])
            predicted.append((item.get("intent_prediction") or {}).get("name") or "None")
    return {
        lang: (f1_score(gold, predicted, average="weighted", zero_division=0), len(gold))
        for lang, (gold, predicted) in sorted(by_lang.items())
    }


def per_language_false_accepts(
    results_dir: Path, nlu_dir: Path | None = None, overall: str | None = None
) -> dict[str, tuple[float, int]]:
    """Out-of-scope false-accept rate and the number of out-of-scope examples per language (and
    under `overall`): the share of held-out `out_of_scope` examples predicted as any other intent
    than `out_of_scope` or `nlu_fallback`."""
    languages = language_of_examples(nlu_dir) if nlu_dir else language_of_examples()
    counts: dict[str, list[int]] = {}
    for item in predictions(results_dir):
        if item["intent"] != "out_of_scope":
            continue
        predicted = (item.get("intent_prediction") or {}).get("name") or "None"
        lang = languages.get(item["text"].strip(), "unknown")
        for key in (lang, overall) if overall else (lang,):
            total = counts.setdefault(key, [0, 0])
            total[0] += predicted not in ("out_of_scope", "nlu_fallback")
            total[1] += 1
    return {key: (accepted / n, n) for key, (accepted, n) in sorted(counts.items())}


def main(argv: list[str]) -> int:
    results = Path(argv[0]) if argv else PROJECT_ROOT / "results" / "nlu-cross-validation"
    scores = per_language_f1(results)
    if not scores:
        print(f"no predictions found under {results}")
        return 1
    lines = [f"{lang}: intent F1 (weighted) {f1:.3f} over {count} examples" for lang, (f1, count) in scores.items()]
    (results / "f1_per_language.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
