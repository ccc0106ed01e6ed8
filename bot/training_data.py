"""The NLU data `bot train` works on: a stable held-out split, a config with fewer epochs,
and a fingerprint of the training inputs.

The split decides each example by a hash of its own text, so adding, removing or relabelling
other examples never moves an example between train and test: the current model's recorded
score and a candidate's score are measured on the same held-out examples as far as the data
allows. No Rasa import: the files are written as Rasa YAML for Rasa's own CLI to read.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.config import PROJECT_ROOT
from bot.evaluation import plain

HELD_OUT_PERCENT = 20   # per intent and language, decided by hash
MIN_EXAMPLES_TO_SPLIT = 5   # an intent with fewer examples in a language keeps them all in train
SPLIT_VERSION = 1   # bump when the rule changes: records from another rule are not comparable


@dataclass(frozen=True)
class Example:
    language: str
    intent: str
    line: str   # the example as written, with entity annotations

    @property
    def text(self) -> str:
        return plain(self.line)


@dataclass
class Split:
    train: list[Example] = field(default_factory=list)
    test: list[Example] = field(default_factory=list)
    other_blocks: list[dict] = field(default_factory=list)   # synonyms, regexes, lookups: train only


def text_bucket(text: str) -> int:
    """0..99, stable across runs, machines and Python versions (unlike `hash`)."""
    normalised = " ".join(text.lower().split())
    return int(hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:8], 16) % 100


def read_examples(nlu_dir: Path) -> tuple[list[Example], list[dict]]:
    """Every intent example under `nlu_dir/<language>/*.yml`, and the non-intent blocks."""
    examples: list[Example] = []
    others: list[dict] = []
    for path in sorted(nlu_dir.glob("*/*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []) or []:
            if "intent" not in block:
                others.append(block)
                continue
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.append(Example(path.parent.name, str(block["intent"]), line[2:].strip()))
    return examples, others


def split_examples(examples: list[Example], percent: int = HELD_OUT_PERCENT, others: list[dict] | None = None) -> Split:
    """Hold out about `percent`% of each intent in each language, chosen by text hash.

    Groups below MIN_EXAMPLES_TO_SPLIT stay whole in train; a group the hash would leave
    without any test example gives its lowest-bucket example, so every intent that can be
    measured is measured in every language.
    """
    groups: dict[tuple[str, str], list[Example]] = defaultdict(list)
    for example in examples:
        groups[(example.language, example.intent)].append(example)
    split = Split(other_blocks=list(others or []))
    for key in sorted(groups):
        group = groups[key]
        if len(group) < MIN_EXAMPLES_TO_SPLIT:
            split.train += group
            continue
        held = [e for e in group if text_bucket(e.text) < percent]
        if not held:
            held = [min(group, key=lambda e: (text_bucket(e.text), e.text))]
        held_ids = {id(e) for e in held}
        split.test += held
        split.train += [e for e in group if id(e) not in held_ids]
    return split


def _nlu_yaml(examples: list[Example]) -> str:
    by_intent: dict[str, list[str]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example.line)
    lines = ['version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines += [f"    - {line}" for line in by_intent[intent]]
    return "\n".join(lines) + "\n"


def write_split(split: Split, out_dir: Path) -> tuple[Path, Path]:
    """Rasa YAML for each part, one folder per language so bot.evaluation can tell them apart."""
    paths = []
    for part, examples in (("train", split.train), ("test", split.test)):
        by_lang: dict[str, list[Example]] = defaultdict(list)
        for example in examples:
            by_lang[example.language].append(example)
        for lang, items in by_lang.items():
            target = out_dir / part / lang / "nlu.yml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_nlu_yaml(items), encoding="utf-8")
        paths.append(out_dir / part)
    if split.other_blocks:
        extra = out_dir / "train" / "_shared" / "nlu.yml"
        extra.parent.mkdir(parents=True, exist_ok=True)
        extra.write_text('version: "3.1"\n' + yaml.safe_dump({"nlu": split.other_blocks}, allow_unicode=True),
                         encoding="utf-8")
    return paths[0], paths[1]


def training_config(config: Path, root: Path, epochs: int | None, target: Path) -> Path:
    """config.yml with DIET/TED epochs set to `epochs` (None: the config as it is).

    SpacyNLP's relative model path is made absolute (against `root`, else this project), so
    the copy works wherever it is written and for a `root` without its own var/.
    """
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    for item in (data.get("pipeline") or []) + (data.get("policies") or []):
        if epochs is not None and "epochs" in item:
            item["epochs"] = epochs
        model = item.get("model")
        if item.get("name") == "SpacyNLP" and isinstance(model, str) and not Path(model).is_absolute():
            found = [base / model for base in (root, PROJECT_ROOT) if (base / model).exists()]
            item["model"] = str(found[0].resolve()) if found else model
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def fingerprint(root: Path) -> str:
    """sha256 over the training inputs (data/, config.yml, domain) by path and content."""
    digest = hashlib.sha256()
    files = sorted((root / "data").rglob("*.yml")) + [root / "config.yml"]
    domain = root / "domain"
    files += sorted(domain.rglob("*.yml")) if domain.is_dir() else [root / "domain.yml"]
    for path in files:
        if path.is_file():
            digest.update(json.dumps(str(path.relative_to(root))).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
