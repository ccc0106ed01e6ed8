"""`bot train`: validate the data, measure a candidate on held-out examples, and train and
activate a new model only when intent F1 does not drop by more than a margin.

Steps (each printed with its duration and result):
  1. data validation (`.ci/validate_data.py`, i.e. `rasa data validate --fail-on-warnings`)
  2. an NLU-only candidate trained on the train part of a stable split, evaluated on the
     held-out part (`rasa test nlu`); report in results/nlu-evaluation/. A recorded score of
     byte-identical split and config is reused instead (--rescore retrains)
  3. the gate (bot.training_gate): intent F1 and the out-of-scope false-accept rate, compared
     with the scores recorded for the current model
  4. the full model (`rasa train`) into a scratch folder, never straight into models/
  5. the conversation tests against the new model (tests/test_stories.yml and tests/stories/)
  6. activation: moved into models/ as the newest model, its evaluation recorded next to it,
     models/.trained touched, and hot-loaded into a running Rasa server (`PUT /model`)
A refusal at any step leaves models/ exactly as it was. Rasa runs in its own processes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bot.config import PROJECT_ROOT
from bot.evaluation import per_language_f1, per_language_false_accepts
from bot.training_data import (
    HELD_OUT_PERCENT,
    SPLIT_VERSION,
    fingerprint,
    read_examples,
    split_examples,
    training_config,
    write_split,
)
from bot.training_gate import OVERALL, Scores, comparison_table, decide, read_record, write_record

BIN = Path(sys.executable).parent
VALIDATE_SCRIPT = PROJECT_ROOT / ".ci" / "validate_data.py"
DEFAULT_MARGIN = 0.02


class StepFailed(Exception):
    """A step did not pass; the message says why."""


@dataclass
class Options:
    root: Path = PROJECT_ROOT
    models_dir: Path | None = None
    margin: float = DEFAULT_MARGIN
    language_margin: float | None = None
    oos_margin: float = DEFAULT_MARGIN
    epochs: int | None = None
    skip_conversation_tests: bool = False
    rasa_url: str | None = None
    dry_run: bool = False
    record_baseline: bool = False
    rescore: bool = False

    @property
    def models(self) -> Path:
        return self.models_dir or self.root / "models"

    @property
    def results(self) -> Path:
        return self.root / "results"


def _env() -> dict[str, str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def run_logged(command: list[str], cwd: Path, log: Path) -> None:
    """Run a Rasa command with its output in `log`; on failure raise with the log's tail."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        code = subprocess.call(command, cwd=cwd, env=_env(), stdout=out, stderr=subprocess.STDOUT)
    if code != 0:
        lines = [ln for ln in log.read_text(encoding="utf-8", errors="replace").splitlines()
                 if ln.strip() and "Warning" not in ln]
        tail = "\n    ".join(lines[-15:])
        raise StepFailed(f"`{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(command))}` "
                         f"exited with {code} (log: {log})\n    {tail}")


def step(number: int, title: str, action: Callable[[], str]) -> str:
    """Print the step, run it, print its result and duration; StepFailed passes through."""
    print(f"[{number}/6] {title} ...", flush=True)
    started = time.monotonic()
    try:
        result = action()
    except StepFailed as error:
        print(f"      FAILED after {time.monotonic() - started:.1f}s: {error}", flush=True)
        raise
    print(f"      {result} ({time.monotonic() - started:.1f}s)", flush=True)
    return result


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def latest_model(models_dir: Path) -> Path | None:
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def validate(options: Options, logs: Path) -> str:
    run_logged([sys.executable, str(VALIDATE_SCRIPT)], options.root, logs / "validate.log")
    return "data validation passed"


def prepare_split(options: Options, work: Path, config: Path) -> tuple[Path, Path, str]:
    """Write the train and held-out parts; their fingerprint with the config's says whether a
    recorded score still describes them."""
    examples, others = read_examples(options.root / "data" / "nlu")
    train_dir, test_dir = write_split(split_examples(examples, others=others), work / "split")
    digest = hashlib.sha256(config.read_bytes())
    for path in sorted(train_dir.rglob("*.yml")) + sorted(test_dir.rglob("*.yml")):
        digest.update(str(path.relative_to(work)).encode() + path.read_bytes())
    return train_dir, test_dir, digest.hexdigest()[:16]


def evaluate_candidate(options: Options, work: Path, config: Path, logs: Path, split: tuple[Path, Path, str]) -> Scores:
    """Train an NLU-only model on the train split and score it on the held-out split; the
    report goes to results/nlu-evaluation/ with a summary.json describing it."""
    train_dir, test_dir, nlu_fingerprint = split
    candidate_dir = work / "candidate"
    run_logged([str(BIN / "rasa"), "train", "nlu", "--config", str(config), "--nlu", str(train_dir),
                "--domain", str(options.root / "domain.yml"), "--out", str(candidate_dir),
                "--fixed-model-name", "candidate"], options.root, logs / "candidate-train.log")
    evaluation = work / "nlu-evaluation"
    run_logged([str(BIN / "rasa"), "test", "nlu", "--model", str(candidate_dir / "candidate.tar.gz"),
                "--nlu", str(test_dir), "--out", str(evaluation), "--successes", "--no-plot"],
               options.root, logs / "candidate-test.log")
    f1 = per_language_f1(evaluation, nlu_dir=test_dir, overall=OVERALL)
    if OVERALL not in f1:
        raise StepFailed(f"rasa test nlu wrote no predictions under {evaluation}")
    accepts = per_language_false_accepts(evaluation, nlu_dir=test_dir, overall=OVERALL)
    scores = Scores({k: round(v, 4) for k, (v, _) in f1.items()}, {k: n for k, (_, n) in f1.items()},
                    {k: round(v, 4) for k, (v, _) in accepts.items()}, {k: n for k, (_, n) in accepts.items()})
    target = options.results / "nlu-evaluation"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(evaluation, target)
    write_summary(options, {"f1": scores.f1, "examples": scores.examples, "false_accepts": scores.false_accepts,
                            "out_of_scope_examples": scores.out_of_scope_examples, "model": "candidate",
                            "status": "evaluated", "nlu_fingerprint": nlu_fingerprint,
                            "evaluated_at": _now()})
    return scores


def conversation_test_stories(root: Path, work: Path) -> Path:
    """tests/test_stories.yml plus the reviewed conversations in tests/stories/, in one folder."""
    folder = work / "conversation-tests"
    folder.mkdir(parents=True, exist_ok=True)
    sources = [root / "tests" / "test_stories.yml"]
    stories_dir = root / "tests" / "stories"
    if stories_dir.is_dir():
        sources += sorted(p for p in stories_dir.rglob("*") if p.suffix in (".yml", ".yaml"))
    for index, source in enumerate(p for p in sources if p.is_file()):
        shutil.copy(source, folder / f"test_{index:03d}_{source.name.removeprefix('test_')}")
    return folder


def train_full(options: Options, work: Path, config: Path, logs: Path) -> Path:
    out = work / "full"
    run_logged([str(BIN / "rasa"), "train", "--config", str(config), "--domain", str(options.root / "domain.yml"),
                "--data", str(options.root / "data"), "--out", str(out)], options.root, logs / "train.log")
    trained = latest_model(out)
    if trained is None:
        raise StepFailed(f"rasa train wrote no model into {out}")
    return trained


def conversation_tests(options: Options, work: Path, model: Path, logs: Path) -> str:
    stories = conversation_test_stories(options.root, work)
    count = len(list(stories.iterdir()))
    log = logs / "conversation-tests.log"
    run_logged([str(BIN / "rasa"), "test", "core", "--model", str(model), "--stories", str(stories),
                "--fail-on-prediction-errors", "--out", str(options.results / "conversation-tests")],
               options.root, log)
    found = re.search(r"Evaluating (\d+) stories", log.read_text(encoding="utf-8", errors="replace"))
    if not found or int(found.group(1)) == 0:   # a passing run over nothing proves nothing
        raise StepFailed(f"no conversation tests were run (log: {log})")
    return f"conversation tests passed ({found.group(1)} stories from {count} file{'s' if count != 1 else ''})"


def hot_load(model: Path, rasa_url: str, token: str | None) -> str:
    """Ask a running Rasa server to load `model` (`PUT /model`); say what happened."""
    url = f"{rasa_url.rstrip('/')}/model" + (f"?token={token}" if token else "")
    request = urllib.request.Request(url, data=json.dumps({"model_file": str(model.resolve())}).encode(),
                                     headers={"Content-Type": "application/json"}, method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return f"loaded into the running Rasa server at {rasa_url} (HTTP {response.status})"
    except urllib.error.HTTPError as error:
        return f"the Rasa server at {rasa_url} refused to load it (HTTP {error.code}); it is used at the next start"
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return f"no Rasa server answers at {rasa_url}: the model is used at the next start"


def write_summary(options: Options, fields: dict) -> None:
    """results/nlu-evaluation/summary.json: what the predictions next to it are and what became of them."""
    path = options.results / "nlu-evaluation" / "summary.json"
    body = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**body, **fields}, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def activate(options: Options, trained: Path, scores: Scores, details: dict) -> Path:
    """Move the model into models/ as the newest one, record its evaluation, touch the stamp."""
    options.models.mkdir(parents=True, exist_ok=True)
    target = options.models / trained.name
    shutil.move(str(trained), target)
    os.utime(target)   # newest by mtime, which is how `latest_model` and `bot run` pick it
    write_record(target, scores, **details)
    (options.models / ".trained").touch()
    return target


def record_baseline(options: Options, current: Path | None, scores: Scores, details: dict) -> int:
    """`--record-baseline`: record the current data's score as the current model's, so the next
    `bot train` is gated against it (for a model built by `make model`, which records nothing)."""
    if current is None:
        print(f"no model in {options.models} to record a baseline for: run `bot train` or `make model` first")
        return 1
    newest_input = max((p.stat().st_mtime for p in (options.root / "data").rglob("*.yml")), default=0.0)
    if newest_input > current.stat().st_mtime:
        print("note: data/ changed after the current model was trained; the baseline describes today's data")
    write_summary(options, {"model": current.name, "status": "baseline"})
    path = write_record(current, scores, **details, baseline=None, recorded_by="record-baseline")
    print(f"baseline for {current.name} recorded in {path}")
    return 0


def _describe(scores: Scores) -> str:
    langs = ", ".join(f"{k} {v:.3f}" for k, v in scores.f1.items() if k != OVERALL)
    return f"intent F1 {scores.f1[OVERALL]:.3f} ({langs}) on {scores.examples.get(OVERALL, 0)} held-out examples"


def score_candidate(options: Options, work: Path, config: Path, logs: Path,
                    recorded: tuple[Scores, dict] | None) -> tuple[Scores, str, bool]:
    """Step 2. A recorded score whose split and config are byte for byte today's is reused
    (the candidate would be the same model: DIET's seed is fixed); --rescore retrains."""
    split = prepare_split(options, work, config)
    reuse = recorded is not None and recorded[1].get("nlu_fingerprint") == split[2] and not options.rescore
    holder: list[Scores] = []

    def _run() -> str:
        if reuse and recorded is not None:
            holder.append(recorded[0])
            return (f"NLU data and settings unchanged since the current model's score was recorded: "
                    f"{_describe(recorded[0])} (reused; --rescore retrains)")
        holder.append(evaluate_candidate(options, work, config, logs, split))
        return f"candidate {_describe(holder[0])}"

    step(2, "candidate NLU model on the train split, scored on the held-out split", _run)
    return holder[0], split[2], not reuse


def train(options: Options) -> int:
    """The whole run; 0 = a new model is active (or would be, with dry_run), 1 = refused."""
    logs = options.results / "training"
    current = latest_model(options.models)
    recorded = read_record(current) if current else None
    settings = {"epochs": options.epochs, "held_out_percent": HELD_OUT_PERCENT, "split_version": SPLIT_VERSION}
    print(f"bot train in {options.root} (models: {options.models}; margin {options.margin:.3f})", flush=True)
    with tempfile.TemporaryDirectory(prefix="bot-train-") as tmp:
        work = Path(tmp)
        try:
            config = training_config(options.root / "config.yml", options.root, options.epochs, work / "config.yml")
            step(1, "data validation", lambda: validate(options, logs))
            candidate, nlu_fingerprint, evaluated = score_candidate(
                options, work, config, logs, None if options.record_baseline else recorded)
            details = {**settings, "fingerprint": fingerprint(options.root), "nlu_fingerprint": nlu_fingerprint,
                       "margin": options.margin, "recorded_at": _now()}
            if options.record_baseline:
                return record_baseline(options, current, candidate, details)
            decision = decide(recorded[0] if recorded else None, candidate, options.margin, options.language_margin,
                              options.oos_margin)
            step(3, "compare with the current model", lambda: "accepted" if decision.accepted else "refused")
            print(comparison_table(decision, current.name if current else None))
            if recorded and {k: recorded[1].get(k) for k in settings} != settings:
                print(f"note: the current model's score was recorded with other settings "
                      f"({ {k: recorded[1].get(k) for k in settings} }), this run uses {settings}")
            if evaluated:
                print(f"evaluation report: {options.results / 'nlu-evaluation'} "
                      "(intent_report.json, intent_errors.json, intent_successes.json, summary.json)")
            if not decision.accepted or options.dry_run:
                if evaluated:
                    write_summary(options, {"status": "dry-run" if decision.accepted else "refused"})
                print("models/ unchanged" + (" (dry run)" if decision.accepted else ": the new model was refused"))
                return 0 if decision.accepted else 1
            trained = Path(step(4, "train the full model", lambda: str(train_full(options, work, config, logs))))
            if options.skip_conversation_tests:
                print("[5/6] conversation tests skipped (--skip-conversation-tests)")
            else:
                step(5, "conversation tests against the new model",
                     lambda: conversation_tests(options, work, trained, logs))
            details["baseline"] = current.name if current and recorded else None
            active = Path(step(6, "activate", lambda: str(activate(options, trained, candidate, details))))
            if evaluated:
                write_summary(options, {"model": active.name, "status": "activated"})
            url = options.rasa_url or os.environ.get("RASA_URL") or "http://127.0.0.1:5005"
            print(f"new model active: {active}")
            print(hot_load(active, url, os.environ.get("RASA_TOKEN")))
            return 0
        except StepFailed:
            print("refused: models/ unchanged")
            return 1


def main(args: argparse.Namespace) -> int:
    return train(Options(
        root=Path(args.root).resolve() if args.root else PROJECT_ROOT,
        models_dir=Path(args.models).resolve() if args.models else None,
        margin=args.margin, language_margin=args.language_margin, oos_margin=args.oos_margin, epochs=args.epochs,
        skip_conversation_tests=args.skip_conversation_tests, rasa_url=args.rasa_url, dry_run=args.dry_run,
        record_baseline=args.record_baseline, rescore=args.rescore,
    ))
