"""`bot report`: compute the insights for a period and write them as one HTML file.

Only the arguments are defined at import time, so building the `bot` parser stays cheap;
matplotlib and the rest load when the report runs."""

from __future__ import annotations

import argparse
import time
from datetime import date, datetime
from pathlib import Path

from bot.config import PROJECT_ROOT

RESULTS_DIR = PROJECT_ROOT / "results"
DEFAULT_OUT = RESULTS_DIR / "report.html"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=30, help="the last N days, today included (default 30)")
    parser.add_argument("--from", dest="start", type=date.fromisoformat, help="first day (YYYY-MM-DD)")
    parser.add_argument("--to", dest="end", type=date.fromisoformat, help="last day (YYYY-MM-DD, default today)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the HTML file (default results/report.html)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR,
                        help="where the NLU evaluations are (default results/)")


def run(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from bot.config import timezone_name
    from bot.db.session import session_scope
    from bot.insights import metrics
    from bot.insights.report import headlines, write_report
    from bot.tracker_events import tracker_engine

    started = time.perf_counter()
    zone = ZoneInfo(timezone_name())
    period = metrics.period_from(args.days, args.start, args.end, datetime.now(zone).date())
    with session_scope() as session:
        data = metrics.compute(session, tracker_engine(), period, args.results, zone)
        path = write_report(data, args.out)
    print(f"report written to {path.resolve()} ({time.perf_counter() - started:.1f} s)")
    print(f"period {period.start} – {period.end}")
    for label, value in headlines(data):
        print(f"  {label}: {value}")
    return 0
