"""A conversation from the tracker store saved as a test story: masked with synthetic values,
the trainer's label instead of the model's guess, and valid for Rasa (the project's data
validation passes with the story in the data)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot import tracker_events as te
from bot.review.annotate import label
from bot.review.nlu_files import run_validator
from bot.review.stories import StoryError, save_story
from tests.review_tracker import SENDER, UNCLEAR_MASKED, make_tracker, unclear_event_id
from tests.test_review_annotate import add_item, copy_project


def test_a_saved_story_is_masked_uses_the_label_and_passes_validation(session, tmp_path: Path):
    url, _ = make_tracker(tmp_path / "tracker.db")
    data_dir = copy_project(tmp_path / "project")
    item = add_item(session, UNCLEAR_MASKED, predicted="nlu_fallback", sender=SENDER, event_id=unclear_event_id(url))
    label(session, item, "book_service", data_dir=data_dir, validate=None)

    out_dir = data_dir / "review_stories"
    path = save_story(session, te.engine_for(url), SENDER, "nb booking then brakes", out_dir, root=data_dir.parent)
    text = path.read_text(encoding="utf-8")
    assert path.name == "nb_booking_then_brakes.yml"
    assert "Kari" not in text and "912 11 222" not in text and "<" not in text
    steps = yaml.safe_load(text)["stories"][0]["steps"]
    assert steps[0] == {"user": 'hei, jeg vil bestille [dekkskift]{"entity": "service_type", "value": "tyre_change"} '
                                "på tirsdag\n", "intent": "book_service"}
    assert {"user": "jeg heter Ola, ring meg på 912 34 567 om bremsene som hviner\n",
            "intent": "book_service"} in steps
    assert {"intent": "inform", "entities": [{"slot_choice": "2026-11-24T10:00:00"}]} in steps
    assert {"slot_was_set": [{"requested_slot": "booking_time"}]} in steps
    assert {"active_loop": None} in steps and {"intent": "EXTERNAL_handback"} in steps
    actions = [s["action"] for s in steps if "action" in s]
    assert actions == ["booking_form", "booking_form", "action_book_service", "action_fallback", "action_handoff",
                       "action_handback"]
    assert not any("hallo? er det noen der" in str(s) for s in steps)  # said while a person had it
    assert not any("customer_name" in str(s) or "language" in str(s) for s in steps)

    run_validator(data_dir.parent)  # raises ValidationFailed with the validator's message

    with pytest.raises(StoryError, match="exists already"):
        save_story(session, te.engine_for(url), SENDER, "nb booking then brakes", out_dir, root=data_dir.parent)
    with pytest.raises(StoryError, match="no customer message"):
        save_story(session, te.engine_for(url), "nobody", None, out_dir, root=data_dir.parent)
