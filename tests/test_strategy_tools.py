"""The command-line tools around the strategy engine, and the benchmark's machinery
(run small here; the real size and its numbers come from `bot bench strategy`)."""

from __future__ import annotations

from pathlib import Path

from bot.bench_strategy import build_database, measure
from bot.cli import main


def test_strategy_show_explains_the_customer(db_url, capsys):
    assert main(["strategy", "show", "demo-coach", "--services", "service,tyre_change"]) == 0
    out = capsys.readouterr().out
    assert "strategy coach (rule coach_on_usage_data" in out
    assert "roof_box_winter" in out and "usage.habits" in out


def test_strategy_show_refuses_unknown_customers(db_url, capsys):
    assert main(["strategy", "show", "nobody"]) == 1
    assert "no customer 'nobody'" in capsys.readouterr().err


def test_strategy_rates_prints_a_table(db_url, capsys):
    assert main(["strategy", "rates", "--segment", "lang"]) == 0
    assert capsys.readouterr().out.startswith("offer")


def test_benchmark_database_has_every_strategy_and_measures(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    assert build_database(url, 400) == 406  # plus the six demo customers
    assert build_database(url, 400) == 406  # built once, then reused
    timings = measure(url, 50)
    assert len(timings["strategy"]) == len(timings["suggestions"]) == 50
    assert all(value > 0 for value in timings["suggestions"])
