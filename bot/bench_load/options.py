"""The options of `bot bench load` (kept apart so `bot --help` loads nothing heavy)."""

from __future__ import annotations

import argparse

from bot.config import PROJECT_ROOT

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/2"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--setups", default="embedded,scale,starter",
                        help="load: which of embedded, scale, starter (Rasa's `rasa init` bot), comma separated")
    parser.add_argument("--users", default="25,50,100,150,200,300",
                        help="load: simulated customers per step, ascending; stops at the first step that fails")
    parser.add_argument("--measure", type=float, default=60, help="load: seconds measured per step (after ramp-up)")
    parser.add_argument("--think", default="2,8", help="load: seconds a customer pauses between messages (min,max)")
    parser.add_argument("--refine", type=int, default=1, help="load: extra steps between the last pass and first fail")
    parser.add_argument("--kill", action="store_true",
                        help="load: scale setup: one more step at the largest load held, killing a Rasa instance")
    parser.add_argument("--start", default="cold,warm",
                        help="load: measure each setup from a fresh start: cold (the first step right after start), "
                             "warm (after a warm-up step with other texts), or both")
    parser.add_argument("--warm-users", type=int, default=10, help="load: customers of the warm-up step")
    parser.add_argument("--warm-s", type=float, default=30, help="load: seconds of the warm-up step")
    parser.add_argument("--known", type=int, default=10000, help="load: known customers (load-0 ...) in the database")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="load: PostgreSQL server (admin URL)")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="load: Redis for the scale setup")
    parser.add_argument("--keep-others", action="store_true",
                        help="load: keep the results of setups not run now in --out (one setup at a time)")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "results" / "load"), help="load: where results go")
