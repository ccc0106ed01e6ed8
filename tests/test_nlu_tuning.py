"""bot.nlu_tuning: the fallback rule, the threshold search on held-out predictions, and
writing the result into config.yml; and bot.nlu_heldout's scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlu_heldout import Item, Prediction, score
from bot.nlu_tuning import Ranked, Thresholds, evaluate, rejects, tune, write_thresholds

LOOSE = Thresholds(0.3, 0.0, 0.3, 0.0)


def test_guarded_intents_need_both_the_guarded_threshold_and_the_margin() -> None:
    t = Thresholds(0.4, 0.05, 0.8, 0.4)
    assert not rejects("booking_status", 0.6, 0.3, t)
    assert rejects("booking_status", 0.39, 0.0, t)
    assert rejects("booking_status", 0.5, 0.46, t)
    assert rejects("show_my_data", 0.79, 0.0, t)
    assert rejects("show_my_data", 0.85, 0.5, t)
    assert not rejects("show_my_data", 0.85, 0.4, t)


def items() -> list[Ranked]:
    """In-domain answers are confident; off-topic ones are not, except one taken as show_my_data
    at 0.62 with a small margin, which only a guarded bar stops."""
    inside = [Ranked("booking_status", "nb", "booking_status", 0.9, 0.05) for _ in range(20)]
    inside += [Ranked("show_my_data", "en", "show_my_data", 0.95, 0.02) for _ in range(10)]
    inside += [Ranked("ask_price", "sv", "ask_price", 0.55, 0.2) for _ in range(10)]
    outside = [Ranked("out_of_scope", "en", "booking_status", 0.35, 0.05) for _ in range(10)]
    outside += [Ranked("out_of_scope", "nb", "out_of_scope", 0.8, 0.1) for _ in range(9)]
    outside += [Ranked("out_of_scope", "sv", "show_my_data", 0.62, 0.4)]
    return inside + outside


def test_the_search_keeps_confident_answers_and_rejects_the_unsure_ones() -> None:
    chosen, outcome = tune(items())
    assert 0.35 < chosen.threshold <= 0.55       # below 0.55 (ask_price) and above 0.35 (off-topic guesses)
    assert outcome.f1 == pytest.approx(1.0)
    assert outcome.wrong_guarded == 0 and outcome.false_accepts == 0.0
    assert chosen.guarded_threshold > 0.62 or chosen.guarded_margin > 0.22
    assert outcome.guarded_recall == 1.0
    loose = evaluate(items(), LOOSE)
    assert loose.false_accepts == pytest.approx(11 / 20) and loose.wrong_guarded == 1


def test_the_margin_stops_a_guess_the_threshold_cannot() -> None:
    # The off-topic guess (0.62) is more confident than the right answers (0.6), but much closer to
    # its runner-up: only the guarded margin tells them apart.
    data = [Ranked("show_my_data", "nb", "show_my_data", 0.6, 0.2) for _ in range(10)]
    data += [Ranked("out_of_scope", "nb", "show_my_data", 0.62, 0.3)]
    data += [Ranked("booking_status", "nb", "booking_status", 0.9, 0.0) for _ in range(10)]
    data += [Ranked("out_of_scope", "sv", "out_of_scope", 0.9, 0.0) for _ in range(19)]
    chosen, outcome = tune(data)
    assert outcome.guarded_recall == 1.0 and outcome.wrong_guarded == 0
    assert 0.32 < chosen.guarded_margin <= 0.4


def test_a_wrong_guarded_accept_weighs_more_than_a_right_one() -> None:
    # Nothing separates two off-topic guesses from the right answers but the confidence: stopping
    # them costs one right answer (0.6); one wrong accept costs more, so the bar goes up ...
    data = [Ranked("show_my_data", "nb", "show_my_data", 0.6, 0.3)]
    data += [Ranked("show_my_data", "nb", "show_my_data", 0.9, 0.1) for _ in range(5)]
    data += [Ranked("out_of_scope", "nb", "show_my_data", 0.62, 0.25) for _ in range(2)]
    data += [Ranked("booking_status", "nb", "booking_status", 0.9, 0.0) for _ in range(10)]
    data += [Ranked("out_of_scope", "sv", "out_of_scope", 0.9, 0.0) for _ in range(40)]
    chosen, outcome = tune(data)
    assert outcome.wrong_guarded == 0 and outcome.right_guarded == 5
    assert 0.62 < chosen.guarded_threshold <= 0.9
    # ... but not when stopping one wrong guess would cost four right answers.
    data = [Ranked("show_my_data", "nb", "show_my_data", 0.6, 0.3) for _ in range(4)]
    data += [Ranked("show_my_data", "nb", "show_my_data", 0.9, 0.1) for _ in range(5)]
    data += [Ranked("out_of_scope", "nb", "show_my_data", 0.62, 0.25)]
    data += [Ranked("booking_status", "nb", "booking_status", 0.9, 0.0) for _ in range(10)]
    data += [Ranked("out_of_scope", "sv", "out_of_scope", 0.9, 0.0) for _ in range(40)]
    chosen, outcome = tune(data)
    assert outcome.wrong_guarded == 1 and outcome.right_guarded == 9 and chosen.guarded_threshold <= 0.6


def test_writing_changes_only_the_four_numbers_of_the_fallback_entry(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    original = """pipeline:
  - name: DIETClassifier
    epochs: 40
  - name: connectors.nlu_fallback.GuardedFallbackClassifier
    # tuned: by hand
    threshold: 0.4
    ambiguity_threshold: 0.05
    guarded_threshold: 0.7
    guarded_margin: 0.3

policies:
  - name: RulePolicy
    core_fallback_threshold: 0.3
"""
    config.write_text(original)
    write_thresholds(config, Thresholds(0.45, 0.025, 0.8, 0.35), "F1 0.9 on 10 examples")
    text = config.read_text()
    assert "threshold: 0.45\n" in text and "ambiguity_threshold: 0.025\n" in text
    assert "guarded_threshold: 0.8\n" in text and "guarded_margin: 0.35\n" in text
    assert "# tuned: F1 0.9 on 10 examples" in text
    assert "core_fallback_threshold: 0.3" in text and "epochs: 40" in text
    assert len(text.splitlines()) == len(original.splitlines())


def test_writing_refuses_a_config_without_the_fallback_values(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("pipeline:\n  - name: connectors.nlu_fallback.GuardedFallbackClassifier\n    threshold: 0.4\n")
    with pytest.raises(ValueError, match="ambiguity_threshold"):
        write_thresholds(config, LOOSE, "x")


def test_heldout_scores_count_rejected_in_domain_messages_as_errors_and_fallbacks_as_no_false_accept() -> None:
    predictions = [
        Prediction(Item("er bilen klar", "booking_status", "nb"), "booking_status", 0.9),
        Prediction(Item("hva koster det", "ask_price", "nb"), "nlu_fallback", 0.4),
        Prediction(Item("spill musikk", "out_of_scope", "nb"), "nlu_fallback", 0.4),
        Prediction(Item("play music", "out_of_scope", "en"), "show_my_data", 0.8),
        Prediction(Item("what's the weather", "out_of_scope", "en"), "out_of_scope", 0.9),
    ]
    scores = score(predictions)
    assert scores.f1["nb"] == pytest.approx(0.5) and scores.in_domain["all"] == 2
    assert scores.false_accepts == {"all": pytest.approx(1 / 3, abs=1e-4), "nb": 0.0, "en": 0.5}
    assert scores.confident_false_accepts["en"] == 0.5


def test_the_benchmark_table_shows_both_setups_side_by_side(tmp_path: Path) -> None:
    import json

    from bot.bench_nlu import Result, table, write_results

    items = [Item("er bilen klar", "booking_status", "nb"), Item("spill musikk", "out_of_scope", "nb")]
    ours = Result("ours", [Prediction(items[0], "booking_status", 0.9), Prediction(items[1], "out_of_scope", 0.8)],
                  [10.0, 20.0], 900.0, 9.5, 100.0)
    base = Result("baseline", [Prediction(items[0], "nlu_fallback", 0.3), Prediction(items[1], "booking_status", 0.9)],
                  [5.0, 6.0], 850.0, 9.0, 90.0)
    for r in (ours, base):
        r.scores = score(r.predictions)
    text = table([ours, base])
    assert "ours" in text.splitlines()[0] and "baseline" in text.splitlines()[0]
    fa = next(line for line in text.splitlines() if line.startswith("out-of-scope false accepts (all)"))
    assert fa.split()[-4:] == ["0.0", "%", "100.0", "%"]
    write_results([ours, base], tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["baseline"]["false_accepts"]["nb"] == 1.0 and summary["ours"]["f1"]["nb"] == 1.0
