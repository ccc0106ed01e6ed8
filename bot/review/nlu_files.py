"""The trainers' side of Rasa's files, read and written without Rasa: the domain's intents and
entities, one NLU file per intent and language (`data/nlu/<lang>/<intent>.yml`), and the
project's data validation (`.ci/validate_data.py`, run in a subprocess because bot/ must
not import Rasa).

An NLU file is always written whole, in the one layout the project uses:

    version: "3.1"
    nlu:
    - intent: greet
      examples: |
        - god morgen
        - hei

with the examples sorted case-insensitively and free of duplicates, to a temporary file that
then replaces the old one (a reader never sees half a file).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.config import PROJECT_ROOT

DEFAULT_VERSION = "3.1"
VALIDATOR = PROJECT_ROOT / ".ci" / "validate_data.py"
VALIDATION_TIMEOUT_S = 600
# Rasa's inline entity annotation: [text](entity), [text]{"entity": ...} or [text][{...}].
ANNOTATION = re.compile(r"\[(?P<text>[^\]]+?)\](?:\((?P<entity>[^:)]+?)(?::(?P<value>[^)]+))?\)|\{(?P<dict>[^}]+?)\}"
                        r"|\[(?P<list>.*?)\])")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class NluFileError(ValueError):
    """An NLU file is not in the layout this module writes, so it is left alone."""


class ValidationFailed(RuntimeError):
    """`rasa data validate` (through .ci/validate_data.py) rejected the data."""


@dataclass(frozen=True)
class Domain:
    intents: frozenset[str]
    entities: frozenset[str]

    @property
    def customer_intents(self) -> list[str]:
        """Intents a customer can say: EXTERNAL_* are triggered by our own services only."""
        return sorted(i for i in self.intents if not i.startswith("EXTERNAL_"))


def _names(items: object) -> set[str]:
    names: set[str] = set()
    for item in items or []:  # type: ignore[attr-defined]
        if isinstance(item, str):
            names.add(item)
        elif isinstance(item, dict):
            names.update(str(key) for key in item)
    return names


def load_domain(path: Path) -> Domain:
    """Intents and entities of `domain.yml`, or of every YAML file in a `domain/` directory."""
    files = sorted(path.rglob("*.yml")) + sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
    intents: set[str] = set()
    entities: set[str] = set()
    for file in files:
        content = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        intents |= _names(content.get("intents"))
        entities |= _names(content.get("entities"))
    return Domain(frozenset(intents), frozenset(entities))


def domain_path(root: Path) -> Path:
    single = root / "domain.yml"
    return single if single.exists() else root / "domain"


def normalise(text: str) -> str:
    """The key two examples are compared by: whitespace collapsed, case folded."""
    return " ".join(text.split()).casefold()


def plain_text(example: str) -> str:
    """The text of an annotated example, as the customer wrote it."""
    return ANNOTATION.sub(lambda m: m.group("text"), example)


def sort_key(example: str) -> tuple[str, str]:
    return plain_text(example).casefold(), example


@dataclass
class NluFile:
    path: Path
    intent: str
    examples: list[str]
    version: str = DEFAULT_VERSION

    @classmethod
    def read(cls, path: Path, intent: str) -> NluFile:
        if not path.exists():
            return cls(path, intent, [])
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        blocks = content.get("nlu") or []
        extra = set(content) - {"version", "nlu"}
        if extra or len(blocks) != 1 or set(blocks[0]) != {"intent", "examples"} or blocks[0]["intent"] != intent:
            raise NluFileError(f"{path} is not a single '{intent}' block: edit it by hand")
        examples = [line.strip()[2:].strip() for line in str(blocks[0]["examples"]).splitlines()
                    if line.strip().startswith("- ")]
        return cls(path, intent, examples, str(content.get("version") or DEFAULT_VERSION))

    def texts(self) -> set[str]:
        return {normalise(plain_text(e)) for e in self.examples}

    def render(self) -> str:
        unique: dict[str, str] = {}
        for example in sorted(self.examples, key=sort_key):
            unique.setdefault(normalise(plain_text(example)), example)
        lines = [f'version: "{self.version}"', "nlu:", f"- intent: {self.intent}", "  examples: |"]
        lines += [f"    - {example}" for example in unique.values()]
        return "\n".join(lines) + "\n"


def nlu_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "nlu").rglob("*.yml"))


def examples_by_intent(data_dir: Path) -> dict[str, set[str]]:
    """Every intent's example texts (normalised), over all NLU files of all languages."""
    found: dict[str, set[str]] = {}
    for path in nlu_files(data_dir):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in content.get("nlu") or []:
            if isinstance(block, dict) and "intent" in block:
                texts = found.setdefault(str(block["intent"]), set())
                texts.update(normalise(plain_text(line.strip()[2:])) for line in str(block.get("examples", ""))
                             .splitlines() if line.strip().startswith("- "))
    return found


def synonyms(data_dir: Path) -> dict[tuple[str, str], str]:
    """(entity, text case-folded) -> value, from the annotations already in the data, so a
    new "[dekkskift](service_type)" gets the value the other examples give it (tyre_change)."""
    found: dict[tuple[str, str], str] = {}
    for path in nlu_files(data_dir):
        for match in ANNOTATION.finditer(path.read_text(encoding="utf-8")):
            if not match.group("dict"):
                continue
            try:
                spec = json.loads("{" + match.group("dict") + "}")
            except ValueError:
                continue
            if isinstance(spec, dict) and "entity" in spec and "value" in spec:
                found.setdefault((str(spec["entity"]), match.group("text").casefold()), str(spec["value"]))
    return found


def write_atomically(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _validator_message(output: str) -> str:
    lines = [_ANSI.sub("", line).strip() for line in output.splitlines()]
    useful = [line for line in lines if line and "Processed story blocks" not in line
              and "is not used in any story or rule" not in line and not line.startswith("warnings.warn")]
    return "\n".join(useful[-15:])[-2000:]


def run_validator(root: Path) -> None:
    """Run the project's data validation on the project at `root` (its config.yml, domain.yml
    and data/), with the Python that has Rasa (`BOT_RASA_PYTHON`: the web server runs in an
    environment without it; else this process's); raise ValidationFailed."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                                   os.environ.get("PYTHONPATH")])))
    try:
        python = os.environ.get("BOT_RASA_PYTHON") or sys.executable
        done = subprocess.run([python, str(VALIDATOR)], cwd=root, env=env, capture_output=True, text=True,
                              timeout=VALIDATION_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as error:
        raise ValidationFailed(f"data validation took longer than {VALIDATION_TIMEOUT_S} s") from error
    if done.returncode != 0:
        raise ValidationFailed(_validator_message(done.stdout + "\n" + done.stderr) or "data validation failed")
