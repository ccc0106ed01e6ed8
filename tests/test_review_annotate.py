"""Labelling review items into data/nlu: always against a copy of the project's data, never the
real data/. Most tests skip the 20-second data validation; the ones about validation run it."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.training_data.loading import load_data

from bot.config import PROJECT_ROOT
from bot.db.models import ReviewItem
from bot.review.annotate import LabelError, label, mark_not_useful, parse_entity_option
from bot.review.nlu_files import ValidationFailed

SEEN = datetime(2026, 11, 23, 12, 0)


def copy_project(target: Path) -> Path:
    """domain.yml, config.yml and data/ of the project in `target`; returns the data dir."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("domain.yml", "config.yml"):
        shutil.copy(PROJECT_ROOT / name, target / name)
    shutil.copytree(PROJECT_ROOT / "data", target / "data")
    return target / "data"


def add_item(session, text: str, lang: str = "nb", predicted: str = "out_of_scope", sender: str = "s1",
             event_id: int | None = None) -> int:
    item = ReviewItem(sender_id=sender, event_id=event_id, text=text, dedupe_key=f"{lang}:{text}", lang=lang,
                      predicted_intent=predicted, confidence=0.31, reasons=["low_confidence"], occurrences=1,
                      first_seen=SEEN, last_seen=SEEN, status="new")
    session.add(item)
    session.flush()
    return item.id


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def examples(path: Path) -> list[str]:
    block = yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"][0]["examples"]
    return [line[2:] for line in block.splitlines()]


def test_a_label_is_written_as_valid_sorted_rasa_yaml_with_its_entities(session, data_dir):
    item = add_item(session, "kan dere ta dekkskift og bremsesjekk på Octavia, den bråker?")
    result = label(session, item, "book_service", [parse_entity_option("dekkskift=service_type")],
                   trainer="tina", data_dir=data_dir, validate=None)
    path = data_dir / "nlu" / "nb" / "book_service.yml"
    assert result.added and result.path == path
    written = examples(path)
    assert ('kan dere ta [dekkskift]{"entity": "service_type", "value": "tyre_change"} og bremsesjekk på '
            "Octavia, den bråker?") in written
    plain = [m.get("text") for m in load_data(str(path)).intent_examples]
    assert plain == sorted(plain, key=str.casefold) and len(plain) == len(set(plain))
    loaded = next(m for m in load_data(str(path)).intent_examples if m.get("text").startswith("kan dere ta dekkskift"))
    assert loaded.get("intent") == "book_service"
    assert [(e["entity"], e["value"], e["start"], e["end"]) for e in loaded.get("entities")] == \
        [("service_type", "tyre_change", 12, 21)]
    stored = session.get(ReviewItem, item)
    assert (stored.status, stored.label_intent, stored.labelled_by) == ("labelled", "book_service", "tina")
    assert stored.data_file == "data/nlu/nb/book_service.yml"
    assert stored.label_entities == [{"start": 12, "end": 21, "entity": "service_type", "value": "tyre_change"}]


def test_an_entity_the_data_does_not_know_is_written_as_value_and_entity(session, data_dir):
    item = add_item(session, "kan jeg betale med kredittkort på verkstedet?", predicted="ask_price")
    result = label(session, item, "ask_invoice", [{"text": "kredittkort", "entity": "payment_method"}],
                   data_dir=data_dir, validate=None)
    assert result.example == "kan jeg betale med [kredittkort](payment_method) på verkstedet?"
    assert result.example in examples(result.path)


def test_placeholders_become_fixed_synthetic_values_in_each_language(session, data_dir):
    nb = add_item(session, "hei, jeg er <name>, ring meg på <phone> om bilen <regnr>", predicted="greet")
    sv = add_item(session, "är bilen <regnr> klar? mejla <email>", lang="sv", predicted="greet")
    en = add_item(session, "is <regnr> ready? call <phone>", lang="en", predicted="greet")
    label(session, nb, "booking_status", data_dir=data_dir, validate=None)
    label(session, sv, "booking_status", data_dir=data_dir, validate=None)
    label(session, en, "booking_status", data_dir=data_dir, validate=None)
    assert "hei, jeg er Ola, ring meg på 912 34 567 om bilen AB 12345" in examples(
        data_dir / "nlu" / "nb" / "booking_status.yml")
    assert "är bilen ABC 123 klar? mejla anna@example.com" in examples(data_dir / "nlu" / "sv" / "booking_status.yml")
    assert "is AB 12345 ready? call +47 912 34 567" in examples(data_dir / "nlu" / "en" / "booking_status.yml")
    for lang in ("nb", "sv", "en"):
        assert "<" not in (data_dir / "nlu" / lang / "booking_status.yml").read_text(encoding="utf-8")


def test_a_duplicate_is_not_added_again_but_the_item_is_labelled(session, data_dir):
    path = data_dir / "nlu" / "nb" / "greet.yml"
    first = add_item(session, "god   morgen, dere!")
    second = add_item(session, "God morgen, dere!", sender="s2")
    assert label(session, first, "greet", data_dir=data_dir, validate=None).added
    before = path.read_text(encoding="utf-8")
    result = label(session, second, "greet", data_dir=data_dir, validate=None)
    assert not result.added and path.read_text(encoding="utf-8") == before
    assert session.get(ReviewItem, second).status == "labelled"
    assert [e.casefold() for e in examples(path)].count("god morgen, dere!") == 1


def test_a_text_that_is_an_example_of_another_intent_is_refused(session, data_dir):
    item = add_item(session, "Hei  hei")  # "hei hei" is a greet example already
    before = (data_dir / "nlu" / "nb" / "goodbye.yml").read_text(encoding="utf-8")
    with pytest.raises(LabelError, match="already an example of greet"):
        label(session, item, "goodbye", data_dir=data_dir, validate=None)
    assert (data_dir / "nlu" / "nb" / "goodbye.yml").read_text(encoding="utf-8") == before
    assert session.get(ReviewItem, item).status == "new"


def test_intents_and_entities_outside_the_domain_are_refused(session, data_dir):
    item = add_item(session, "kan dere vaske bilen?")
    with pytest.raises(LabelError, match="unknown intent 'wash_car'"):
        label(session, item, "wash_car", data_dir=data_dir, validate=None)
    with pytest.raises(LabelError, match="unknown intent 'EXTERNAL_proactive'"):
        label(session, item, "EXTERNAL_proactive", data_dir=data_dir, validate=None)
    with pytest.raises(LabelError, match="unknown entity 'car_part'"):
        label(session, item, "book_service", [{"text": "vaske", "entity": "car_part"}], data_dir=data_dir,
              validate=None)
    with pytest.raises(LabelError, match="not a word or phrase"):
        label(session, item, "book_service", [{"text": "polere", "entity": "service_type"}], data_dir=data_dir,
              validate=None)
    with pytest.raises(LabelError, match="whole words"):
        label(session, item, "book_service", [{"start": 9, "end": 12, "entity": "service_type"}],
              data_dir=data_dir, validate=None)
    annotated = add_item(session, "kan dere [vaske](service_type) bilen?", sender="s9")
    with pytest.raises(LabelError, match="annotation syntax"):
        label(session, annotated, "book_service", data_dir=data_dir, validate=None)
    assert session.get(ReviewItem, item).status == "new"


def test_an_intent_missing_in_a_language_gets_a_new_file_in_the_same_layout(session, data_dir):
    missing = data_dir / "nlu" / "sv" / "ask_price.yml"
    missing.unlink()
    item = add_item(session, "vad kostar en hjulinställning?", lang="sv")
    label(session, item, "ask_price", data_dir=data_dir, validate=None)
    assert missing.read_text(encoding="utf-8") == (
        'version: "3.1"\nnlu:\n- intent: ask_price\n  examples: |\n    - vad kostar en hjulinställning?\n')
    assert [m.get("intent") for m in load_data(str(missing)).intent_examples] == ["ask_price"]


def test_a_failing_validation_gives_the_file_back_its_old_content(session, data_dir):
    path = data_dir / "nlu" / "nb" / "complain.yml"
    before = path.read_bytes()
    item = add_item(session, "dette var dårlig gjort av dere")

    def refuse(root: Path) -> None:
        assert root == data_dir.parent.resolve()
        raise ValidationFailed("the validator said no")

    with pytest.raises(ValidationFailed, match="the validator said no"):
        label(session, item, "complain", data_dir=data_dir, validate=refuse)
    assert path.read_bytes() == before
    assert session.get(ReviewItem, item).status == "new"


def test_the_real_validator_passes_a_label_and_its_failure_restores_the_file(session, data_dir):
    ok = add_item(session, "bilen min lager en rar lyd, kan dere se på den neste uke?")
    result = label(session, ok, "book_service", data_dir=data_dir)  # runs .ci/validate_data.py
    assert result.added and "bilen min lager en rar lyd, kan dere se på den neste uke?" in examples(result.path)

    # A story that uses an action the domain does not know: the project's validation fails.
    (data_dir / "broken.yml").write_text(
        'version: "3.1"\nstories:\n- story: broken on purpose\n  steps:\n  - intent: greet\n'
        "  - action: action_that_does_not_exist\n", encoding="utf-8")
    path = data_dir / "nlu" / "nb" / "thank.yml"
    before = path.read_bytes()
    failing = add_item(session, "tusen hjertelig takk for god hjelp i dag", sender="s3")
    with pytest.raises(ValidationFailed, match="action_that_does_not_exist"):
        label(session, failing, "thank", data_dir=data_dir)
    assert path.read_bytes() == before
    assert session.get(ReviewItem, failing).status == "new"


def test_not_useful_takes_an_item_out_of_the_inbox_but_not_a_labelled_one(session, data_dir):
    useless = add_item(session, "asdfgh")
    mark_not_useful(session, useless, trainer="tina")
    assert (session.get(ReviewItem, useless).status, session.get(ReviewItem, useless).labelled_by) == \
        ("not_useful", "tina")
    labelled = add_item(session, "hei dere i verkstedet", sender="s4")
    label(session, labelled, "greet", data_dir=data_dir, validate=None)
    with pytest.raises(LabelError, match="already an example"):
        mark_not_useful(session, labelled)
    with pytest.raises(LabelError, match="already labelled 'greet'"):
        label(session, labelled, "goodbye", data_dir=data_dir, validate=None)
