"""`bot train`: the held-out split, the F1 gate and its printout (fast), and the whole command
run like a user against a tmp copy of the project (e2e: it trains real Rasa models)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot.config import PROJECT_ROOT
from bot.evaluation import language_of_examples, per_language_f1
from bot.training import StepFailed, conversation_test_stories, hot_load, latest_model, run_logged
from bot.training_data import (
    HELD_OUT_PERCENT,
    MIN_EXAMPLES_TO_SPLIT,
    Example,
    read_examples,
    split_examples,
    text_bucket,
    training_config,
    write_split,
)
from bot.training_gate import OVERALL, Scores, comparison_table, decide, read_record, record_path, write_record
from tests.servers import free_port

NLU = PROJECT_ROOT / "data" / "nlu"


def _examples(language: str, intent: str, count: int) -> list[Example]:
    return [Example(language, intent, f"{intent} example number {i} in {language}") for i in range(count)]


# --- the split -----------------------------------------------------------------------------

def _hashed_out(examples: list[Example]) -> set[str]:
    return {e.line for e in examples if text_bucket(e.text) < HELD_OUT_PERCENT}


def test_split_is_deterministic_and_each_example_keeps_its_side_when_others_change() -> None:
    examples, _ = read_examples(NLU)
    held_before = {e.line for e in split_examples(examples).test}
    assert {e.line for e in split_examples(list(reversed(examples))).test} == held_before
    # drop every third example and relabel every seventh: the side of the rest follows their own text
    changed = [Example(e.language, "greet" if i % 7 == 0 else e.intent, e.line)
               for i, e in enumerate(examples) if i % 3]
    after = split_examples(changed).test
    for before_or_after, all_examples in ((held_before, examples), ({e.line for e in after}, changed)):
        assert _hashed_out(all_examples) <= before_or_after
    # the only other held-out examples are the one-per-group fallbacks of groups the hash left empty
    hashed = _hashed_out(changed)
    fallbacks = Counter((e.language, e.intent) for e in after if e.line not in hashed)
    assert all(n == 1 for n in fallbacks.values())
    assert not set(fallbacks) & {(e.language, e.intent) for e in after if e.line in hashed}


def test_split_holds_out_about_a_fifth_of_every_intent_in_every_language() -> None:
    examples, _ = read_examples(NLU)
    split = split_examples(examples)
    total = Counter((e.language, e.intent) for e in examples)
    held = Counter((e.language, e.intent) for e in split.test)
    assert set(held) == {key for key, n in total.items() if n >= MIN_EXAMPLES_TO_SPLIT}
    for key, n in total.items():
        assert 1 <= held[key] <= n // 2, (key, held[key], n)
    assert 0.15 <= len(split.test) / len(examples) <= 0.25
    assert len(split.train) + len(split.test) == len(examples)
    assert not {e.line for e in split.train} & {e.line for e in split.test}


def test_an_intent_with_fewer_than_five_examples_stays_whole_in_train() -> None:
    tiny = _examples("sv", "rare_intent", MIN_EXAMPLES_TO_SPLIT - 1)
    split = split_examples(tiny + _examples("sv", "common_intent", 40))
    assert all(e in split.train for e in tiny)
    assert {e.intent for e in split.test} == {"common_intent"}


def test_a_group_the_hash_leaves_without_test_examples_still_gets_one() -> None:
    group = [e for e in _examples("en", "x", 400) if text_bucket(e.text) >= 20][:6]
    assert len(group) == 6
    split = split_examples(group)
    assert len(split.test) == 1 and len(split.train) == 5


def test_written_split_is_rasa_yaml_one_folder_per_language(tmp_path: Path) -> None:
    examples, others = read_examples(NLU)
    split = split_examples(examples, others=others)
    train_dir, test_dir = write_split(split, tmp_path)
    for part, expected in ((train_dir, split.train), (test_dir, split.test)):
        lines = []
        for path in part.glob("*/nlu.yml"):
            for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
                lines += [ln[2:] for ln in block["examples"].splitlines() if ln.startswith("- ")]
        assert sorted(lines) == sorted(e.line for e in expected)
    languages = language_of_examples(test_dir)
    assert {languages[e.text] for e in split.test if e.language == "sv"} == {"sv"}
    assert any("{" in e.line for e in split.train), "entity annotations are kept"


def test_training_config_overrides_epochs_and_pins_the_spacy_path(tmp_path: Path) -> None:
    config = yaml.safe_load(training_config(PROJECT_ROOT / "config.yml", tmp_path, 3, tmp_path / "c.yml").read_text())
    epochs = {item["name"]: item["epochs"] for item in config["pipeline"] + config["policies"] if "epochs" in item}
    assert epochs == {"DIETClassifier": 3, "TEDPolicy": 3}
    spacy = next(item for item in config["pipeline"] if item["name"] == "SpacyNLP")
    assert Path(spacy["model"]).is_absolute() and (Path(spacy["model"]) / "config.cfg").exists()
    unchanged = training_config(PROJECT_ROOT / "config.yml", PROJECT_ROOT, None, tmp_path / "d.yml")
    same = yaml.safe_load(unchanged.read_text())
    original = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    assert [i.get("epochs") for i in same["pipeline"]] == [i.get("epochs") for i in original["pipeline"]]


# --- the gate ------------------------------------------------------------------------------

CURRENT = Scores({OVERALL: 0.90, "en": 0.92, "nb": 0.88, "sv": 0.90}, {OVERALL: 450, "en": 150, "nb": 150, "sv": 150})


def _candidate(**f1: float) -> Scores:
    return Scores({**CURRENT.f1, **f1}, CURRENT.examples)


def test_a_candidate_within_the_margin_is_accepted() -> None:
    decision = decide(CURRENT, _candidate(all=0.885, nb=0.87), margin=0.02)
    assert decision.accepted and not decision.first_run


def test_a_drop_of_exactly_the_margin_is_accepted() -> None:
    assert decide(CURRENT, _candidate(all=0.88, sv=0.88), margin=0.02).accepted


def test_an_overall_drop_beyond_the_margin_is_refused() -> None:
    decision = decide(CURRENT, _candidate(all=0.85), margin=0.02)
    assert not decision.accepted
    assert decision.reasons == ["intent F1 overall dropped by 0.050 (from 0.900 to 0.850; allowed 0.020)"]


def test_one_language_dropping_is_refused_even_when_overall_holds() -> None:
    decision = decide(CURRENT, _candidate(all=0.895, sv=0.80, en=0.95), margin=0.02)
    assert not decision.accepted
    assert [r.name for r in decision.rows if r.dropped] == ["sv"]
    assert decide(CURRENT, _candidate(all=0.895, sv=0.80), margin=0.02, language_margin=0.15).accepted


def test_the_first_run_without_a_record_is_accepted_as_the_baseline() -> None:
    decision = decide(None, _candidate(all=0.5), margin=0.02)
    assert decision.accepted and decision.first_run
    assert all(r.current is None and r.delta is None for r in decision.rows)


def test_the_comparison_shows_current_candidate_and_delta_per_language() -> None:
    table = comparison_table(decide(CURRENT, _candidate(all=0.86, nb=0.70), margin=0.02), "20261123-old.tar.gz")
    lines = table.splitlines()
    assert "20261123-old.tar.gz" in lines[0]
    row = {ln.split()[0]: ln.split() for ln in lines[3:7]}
    assert row["all"][:4] == ["all", "0.900", "0.860", "-0.040"] and "DROP" in lines[3]
    assert row["nb"][:4] == ["nb", "0.880", "0.700", "-0.180"]
    assert row["en"][:4] == ["en", "0.920", "0.920", "+0.000"] and "DROP" not in " ".join(row["en"])
    assert lines[-1].startswith("REFUSED: intent F1 overall dropped by 0.040")
    assert "in nb dropped by 0.180" in lines[-1]


WITH_OOS = Scores(CURRENT.f1, CURRENT.examples, {OVERALL: 0.02, "en": 0.03, "nb": 0.01, "sv": 0.02},
                  {OVERALL: 240, "en": 80, "nb": 80, "sv": 80})


def _accepting(**rates: float) -> Scores:
    return Scores(CURRENT.f1, CURRENT.examples, {**WITH_OOS.false_accepts, **rates}, WITH_OOS.out_of_scope_examples)


def test_a_rise_of_out_of_scope_false_accepts_beyond_the_margin_is_refused() -> None:
    decision = decide(WITH_OOS, _accepting(all=0.06), margin=0.02)
    assert not decision.accepted
    assert decision.reasons == ["out-of-scope false accepts overall rose by 0.040 (from 0.020 to 0.060; allowed 0.020)"]


def test_false_accepts_rising_in_one_language_are_refused_even_when_overall_holds() -> None:
    decision = decide(WITH_OOS, _accepting(all=0.03, nb=0.09), margin=0.02)
    assert not decision.accepted and [r.name for r in decision.rises if r.rose] == ["nb"]
    assert decide(WITH_OOS, _accepting(all=0.03, nb=0.09), margin=0.02, oos_margin=0.1).accepted
    assert decide(WITH_OOS, _accepting(all=0.0, nb=0.0), margin=0.02).accepted   # fewer is always fine


def test_a_record_without_false_accept_rates_is_compared_on_f1_only() -> None:
    decision = decide(CURRENT, _accepting(all=0.5), margin=0.02)
    assert decision.accepted
    assert "no false-accept rates" in " ".join(decision.reasons)


def test_the_comparison_shows_the_false_accept_rates_and_marks_a_rise() -> None:
    table = comparison_table(decide(WITH_OOS, _accepting(sv=0.1), margin=0.02), "m.tar.gz")
    rows = {ln.split()[0]: ln for ln in table.splitlines() if ln[:2] in ("sv", "nb", "al", "en")}
    assert "RISE" in table.split("out-of-scope accepted")[1].split("sv")[1].splitlines()[0]
    assert "in sv rose by 0.080" in table.splitlines()[-1]
    assert rows


def test_a_record_keeps_the_false_accept_rates(tmp_path: Path) -> None:
    model = tmp_path / "20261201-x.tar.gz"
    model.write_bytes(b"model")
    write_record(model, WITH_OOS, epochs=None)
    scores, _ = read_record(model)
    assert scores == WITH_OOS


def test_the_record_lives_next_to_the_model_and_is_not_taken_for_a_model(tmp_path: Path) -> None:
    model = tmp_path / "20261123-120000-brave-owl.tar.gz"
    model.write_bytes(b"model")
    assert read_record(model) is None
    path = write_record(model, CURRENT, epochs=None, fingerprint="abc")
    assert path == record_path(model) == tmp_path / "20261123-120000-brave-owl.evaluation.json"
    scores, body = read_record(model) or (None, {})
    assert scores == CURRENT and body["fingerprint"] == "abc" and body["model"] == model.name
    assert latest_model(tmp_path) == model


def test_hot_load_says_the_model_is_used_at_next_start_when_no_rasa_runs(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    said = hot_load(tmp_path / "m.tar.gz", url, "token")
    assert said == f"no Rasa server answers at {url}: the model is used at the next start"


# --- the command, like a user, in a tmp copy of the project (trains real models) ----------

EPOCHS: int | None = 5   # DIET/TED epochs of the e2e runs: a quarter of config.yml's DIET time
# Components the e2e runs leave out of the copy's config.yml to train in about a minute: the gate
# compares two models trained the same way, whatever the pipeline (the linear ensemble alone
# takes 80 s to train on this machine).
LEFT_OUT = ("connectors.intent_ensemble.LinearIntentEnsemble",)
CORRUPTED_LANGUAGE = "sv"


def bot_train(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "bot"), "train", "--root", str(root), *args]
    if EPOCHS is not None:
        command += ["--epochs", str(EPOCHS)]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=1200)


def models_snapshot(models: Path) -> dict[str, tuple[int, float]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime) for p in models.iterdir()}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project's training inputs with the current model, its baseline recorded
    by `bot train --record-baseline` (as a trainer does once for a model `make model` built)."""
    root = tmp_path_factory.mktemp("train") / "project"
    (root / "tests").mkdir(parents=True)
    shutil.copytree(PROJECT_ROOT / "data", root / "data")
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    config["pipeline"] = [c for c in config["pipeline"] if c["name"] not in LEFT_OUT]
    (root / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    shutil.copy(PROJECT_ROOT / "domain.yml", root / "domain.yml")
    shutil.copy(PROJECT_ROOT / "tests" / "test_stories.yml", root / "tests" / "test_stories.yml")
    if (PROJECT_ROOT / "tests" / "stories").is_dir():
        shutil.copytree(PROJECT_ROOT / "tests" / "stories", root / "tests" / "stories")
    (root / "models").mkdir()
    current = latest_model(PROJECT_ROOT / "models")
    if current is None:
        pytest.skip("no trained model in models/ to stand for the current one (make model)")
    try:
        os.link(current, root / "models" / current.name)
    except OSError:
        shutil.copy2(current, root / "models" / current.name)
    result = bot_train(root, "--record-baseline")
    assert result.returncode == 0, result.stdout + result.stderr
    assert read_record(root / "models" / current.name) is not None
    return root


def corrupt_training_part(root: Path, language: str, count: int = 12) -> list[str]:
    """Move the train-side examples of `count` intents in `language` to the next intent (a
    rotation), leaving the held-out examples where they are: the candidate learns wrong labels
    and is measured on right ones."""
    examples, others = read_examples(root / "data" / "nlu")
    split = split_examples(examples, others=others)
    held = {e.line for e in split.test}
    measurable = sorted({e.intent for e in examples if e.language == language and e.line in _hashed_out(examples)})
    intents = [i for i in measurable if i not in ("inform", "out_of_scope")][:count]
    files = {intent: root / "data" / "nlu" / language / f"{intent}.yml" for intent in intents}
    moved = {i: [e.line for e in split.train if e.language == language and e.intent == i] for i in intents}
    for index, intent in enumerate(intents):
        kept = [e.line for e in examples if e.language == language and e.intent == intent and e.line in held]
        incoming = moved[intents[index - 1]]
        body = "\n".join(f"    - {line}" for line in kept + incoming)
        files[intent].write_text(f'version: "3.1"\nnlu:\n- intent: {intent}\n  examples: |\n{body}\n', encoding="utf-8")
    after, _ = read_examples(root / "data" / "nlu")
    assert {e.line: e.intent for e in split_examples(after).test} == {e.line: e.intent for e in split.test}
    return intents


@pytest.mark.e2e
def test_bot_train_refuses_a_model_whose_f1_drops(project: Path) -> None:
    before = models_snapshot(project / "models")
    nlu = project / "data" / "nlu" / CORRUPTED_LANGUAGE
    originals = {p: p.read_text(encoding="utf-8") for p in nlu.glob("*.yml")}
    try:
        intents = corrupt_training_part(project, CORRUPTED_LANGUAGE)
        result = bot_train(project)
    finally:
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "[1/6] data validation" in out and "data validation passed" in out
    assert "REFUSED: " in out and f"in {CORRUPTED_LANGUAGE} dropped by" in out, out
    f1_table = out.split("intent F1 (weighted)", 1)[1].split("out-of-scope accepted", 1)[0]
    table = {ln.split()[0]: ln.split() for ln in f1_table.splitlines() if ln.split()[:1] in (["all"], ["sv"])}
    current, candidate, delta = (float(x) for x in table[CORRUPTED_LANGUAGE][1:4])
    assert candidate < current - 0.02 and delta == pytest.approx(candidate - current, abs=0.0015)
    assert "DROP" in " ".join(table[CORRUPTED_LANGUAGE]), (intents, out)
    assert "[4/6]" not in out and "models/ unchanged" in out
    assert models_snapshot(project / "models") == before
    summary = json.loads((project / "results" / "nlu-evaluation" / "summary.json").read_text())
    assert summary["status"] == "refused"
    for name in ("intent_report.json", "intent_errors.json", "intent_successes.json"):
        assert (project / "results" / "nlu-evaluation" / name).exists(), name


@pytest.mark.e2e
@pytest.mark.slow
def test_bot_train_with_unchanged_data_trains_tests_and_activates_the_new_model(project: Path) -> None:
    models = project / "models"
    before = models_snapshot(models)
    current = latest_model(models)
    rasa_url = f"http://127.0.0.1:{free_port()}"
    result = bot_train(project, "--rasa-url", rasa_url)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "ACCEPTED" in out and "conversation tests passed" in out
    assert "NLU data and settings unchanged since the current model's score was recorded" in out
    new = latest_model(models)
    assert new != current and new.name not in before
    assert set(models_snapshot(models)) == set(before) | {new.name, record_path(new).name, ".trained"}
    assert models_snapshot(models)[current.name] == before[current.name]
    scores, record = read_record(new) or (None, {})
    assert record["baseline"] == current.name and record["epochs"] == EPOCHS
    baseline = read_record(current)
    assert baseline is not None and scores == baseline[0]
    assert record["nlu_fingerprint"] == baseline[1]["nlu_fingerprint"]
    assert f"new model active: {new}" in out
    assert f"no Rasa server answers at {rasa_url}: the model is used at the next start" in out
    assert (models / ".trained").stat().st_mtime >= new.stat().st_mtime - 1


def test_conversation_tests_include_reviewed_stories_under_names_rasa_reads_as_tests(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "tests" / "stories").mkdir(parents=True)
    (root / "tests" / "test_stories.yml").write_text("stories: []\n")
    (root / "tests" / "stories" / "reviewed_2026-11-23.yml").write_text("stories: []\n")
    (root / "tests" / "stories" / "notes.txt").write_text("not a story\n")
    folder = conversation_test_stories(root, tmp_path / "work")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["test_000_stories.yml", "test_001_reviewed_2026-11-23.yml"]   # Rasa skips other names


def test_a_failing_rasa_step_reports_the_end_of_its_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "step.log"
    command = [sys.executable, "-c", "import sys; print('first'); print('the reason'); sys.exit(3)"]
    with pytest.raises(StepFailed) as failure:
        run_logged(command, tmp_path, log)
    assert "exited with 3" in str(failure.value) and "the reason" in str(failure.value)
    assert "the reason" in log.read_text()


def test_held_out_predictions_are_scored_per_language_of_the_split_and_overall(tmp_path: Path) -> None:
    split = split_examples(_examples("nb", "greet", 10) + _examples("sv", "greet", 10) + _examples("sv", "deny", 10))
    _, test_dir = write_split(split, tmp_path / "split")
    results = tmp_path / "results"
    results.mkdir()
    right = [{"text": e.text, "intent": e.intent, "intent_prediction": {"name": e.intent}} for e in split.test]
    wrong_sv = next(item for item in right if item["intent"] == "deny")
    right.remove(wrong_sv)
    (results / "intent_successes.json").write_text(json.dumps(right))
    (results / "intent_errors.json").write_text(json.dumps([{**wrong_sv, "intent_prediction": {"name": "greet"}}]))
    scores = per_language_f1(results, nlu_dir=test_dir, overall=OVERALL)
    assert scores["nb"] == (1.0, sum(e.language == "nb" for e in split.test))
    assert scores["sv"][0] < 1.0 and scores[OVERALL][0] < 1.0 and scores[OVERALL][1] == len(split.test)
    assert scores["sv"][0] < scores[OVERALL][0]
