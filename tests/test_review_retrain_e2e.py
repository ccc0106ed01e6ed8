"""Labelling writes Rasa YAML that a retrain learns: a message the current model gets wrong
is labelled into a copy of data/, an NLU-only model is trained on the copy, and the new
model classifies the same message as labelled.

Slow (training): marked e2e. To stay short the copy's DIET trains fewer epochs than
config.yml's; everything else is the project's pipeline.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import yaml

from bot.config import PROJECT_ROOT
from bot.review.annotate import label
from bot.runner import latest_model
from tests.test_review_annotate import add_item, copy_project

pytestmark = pytest.mark.e2e

MESSAGE = "motorlampa blinker, hva nå"  # the model in models/ (Dec 2026): out_of_scope, 0.38
INTENT = "ask_recommendation"
DIET_EPOCHS = 5


def fast_config(project: Path) -> Path:
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component["name"] == "SpacyNLP":
            component["model"] = str(PROJECT_ROOT / component["model"])
        if component["name"] == "DIETClassifier":
            component["epochs"] = DIET_EPOCHS
    path = project / "config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def parse(model: Path, text: str) -> dict:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    return asyncio.run(agent.parse_message(text))


def test_a_labelled_message_is_classified_right_after_retraining(session, tmp_path):
    from rasa.model_training import train_nlu

    before = parse(latest_model(), MESSAGE)["intent"]
    assert before["name"] != INTENT or before["confidence"] < 0.5, f"the current model already knows it: {before}"

    data_dir = copy_project(tmp_path / "project")
    item = add_item(session, MESSAGE, predicted=before["name"])
    result = label(session, item, INTENT, data_dir=data_dir, validate=None)
    assert result.added

    started = time.monotonic()
    model = train_nlu(str(fast_config(tmp_path / "project")), str(data_dir), str(tmp_path / "models"),
                      domain=str(tmp_path / "project" / "domain.yml"))
    trained_s = time.monotonic() - started
    after = parse(Path(model), MESSAGE)["intent"]
    print(f"NLU training on the labelled copy: {trained_s:.0f} s; before {before}, after {after}")
    assert after["name"] == INTENT and after["confidence"] >= 0.5
