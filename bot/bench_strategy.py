"""`bot bench strategy`: strategy choice and suggestions for one customer, with a large
customer base in the database (default 100,000 customers). Prints p50/p95/p99 in ms.

The database is built once per size under var/bench/ (or taken from --database-url) with
customers of all four strategies, cars, service history, telemetry and earlier offers.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text

from bot.config import PROJECT_ROOT
from bot.db import migrate
from bot.db.models import Customer, Preferences, ServiceJob, Suggestion, Vehicle, VehicleReading
from bot.db.seed import seed_all
from bot.db.session import session_scope
from bot.strategy.engine import clear_caches, suggest
from bot.strategy.facts import load_facts

TODAY = date(2026, 11, 23)
SHARING = ("contact", "history", "usage", "usage")
OFFER_CODES = ("loaner_again", "care_half_price", "polish_half_price", "roof_box_winter")
BATCH = 10_000


def _rows(start_id: int, count: int, rng: random.Random) -> dict[str, list[dict[str, object]]]:
    rows: dict[str, list[dict[str, object]]] = {k: [] for k in ("c", "p", "v", "j", "r", "s")}
    for cid in range(start_id, start_id + count):
        sharing = SHARING[cid % 4]
        auto = cid % 4 == 3
        rows["c"].append({"id": cid, "first_name": "Bench", "last_name": str(cid), "phone": f"+47{40000000 + cid}",
                          "email": f"bench{cid}@example.invalid", "created_at": datetime(2026, 1, 1)})
        rows["p"].append({"customer_id": cid, "language": ("nb", "sv", "en")[cid % 3], "preferred_channel": "webchat",
                          "contact_channels": ["webchat"], "reminders": cid % 2 == 0, "data_sharing": sharing,
                          "auto_service": auto, "agreement": {"pickup": True, "loaner": True} if auto else {}})
        mileage = rng.randint(5_000, 250_000)
        rows["v"].append({"id": cid, "customer_id": cid, "registration": f"BN{cid:07d}", "make": "Volvo",
                          "model": "XC60", "year": rng.randint(2008, 2025), "body_type": "suv", "mileage_km": mileage,
                          "last_service_date": TODAY - timedelta(days=rng.randint(30, 500)),
                          "last_service_km": max(0, mileage - 12_000), "service_interval_km": 15_000,
                          "service_interval_months": 12, "tyre_season": "summer", "home_region": "Oslo",
                          "habits": {"mountain_trips": "biweekly_winter"} if rng.random() < 0.3 else {}})
        for back in (rng.randint(200, 400), rng.randint(20, 190)):
            rows["j"].append({"customer_id": cid, "vehicle_id": cid, "done_on": TODAY - timedelta(days=back),
                              "items": ["service"] if back > 190 else ["tyre_change"], "price_nok": 3490,
                              "mileage_km": mileage - back * 30, "loaner_taken": rng.random() < 0.4})
        if sharing == "usage":
            for back in (30, 1):
                rows["r"].append({"vehicle_id": cid, "read_at": datetime.combine(TODAY, datetime.min.time())
                                  - timedelta(days=back), "mileage_km": mileage - back * 40})
        status = rng.choice(("offered", "accepted", "declined", "declined"))
        rows["s"].append({"customer_id": cid, "offer_code": rng.choice(OFFER_CODES), "context": "booking:old",
                          "strategy": ("respond", "curated", "coach", "auto")[cid % 4], "channel": "webchat",
                          "lang": "nb", "reason": "r", "data_used": [], "price_nok": 0, "status": status,
                          "offered_at": datetime(2026, 6, 1)})
    return rows


def build_database(url: str, customers: int, seed: int = 7) -> int:
    """Migrate, seed the business and demo data, and add `customers` generated customers."""
    migrate.upgrade(url)
    with session_scope(url) as session:
        seed_all(session, today=TODAY)
        existing = session.execute(select(func.count()).select_from(Customer)).scalar_one()
        start = int(session.execute(select(func.max(Customer.id))).scalar_one() or 0) + 1
    missing = customers - (existing - 6)
    rng = random.Random(seed)
    tables = (("c", Customer), ("p", Preferences), ("v", Vehicle), ("j", ServiceJob),
              ("r", VehicleReading), ("s", Suggestion))
    while missing > 0:
        count = min(BATCH, missing)
        rows = _rows(start, count, rng)
        with session_scope(url) as session:
            for key, model in tables:
                if rows[key]:
                    session.execute(insert(model.__table__), rows[key])
        start, missing = start + count, missing - count
    with session_scope(url) as session:
        session.execute(text("ANALYZE"))  # planner statistics, as autovacuum would keep them
        return int(session.execute(select(func.count()).select_from(Customer)).scalar_one())


def _percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return f"p50 {statistics.median(ordered):.2f} ms, p95 {pick(0.95):.2f} ms, p99 {pick(0.99):.2f} ms"


def measure(url: str, calls: int, seed: int = 11) -> dict[str, list[float]]:
    """Time, per call and with a fresh session as an action has: strategy + facts alone, and
    the full ranked suggestions for a booking of service and tyre change."""
    with session_scope(url) as session:
        top = int(session.execute(select(func.max(Customer.id))).scalar_one())
    rng = random.Random(seed)
    clear_caches()
    with session_scope(url) as session:  # warm up: connection pool, offer cache, rates cache
        suggest(session, 1, TODAY, "nb", services=["service"])
    timings: dict[str, list[float]] = {"strategy": [], "suggestions": []}
    for n in range(calls):
        cid = rng.randint(1, top)
        started = time.perf_counter()
        with session_scope(url) as session:
            load_facts(session, cid, TODAY)
        timings["strategy"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        with session_scope(url) as session:
            suggest(session, cid, TODAY, "nb", services=["service", "tyre_change"], context=f"booking:bench{n}")
        timings["suggestions"].append((time.perf_counter() - started) * 1000)
    return timings


def bench_url(customers: int) -> str:
    """The benchmark database for this size, under var/bench/ (built once, then reused)."""
    folder = PROJECT_ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(folder) / f'strategy-{customers}.db'}"


def run(args: argparse.Namespace) -> int:
    url = args.database_url or bench_url(args.customers)
    started = time.perf_counter()
    total = build_database(url, args.customers)
    print(f"database: {total} customers ({time.perf_counter() - started:.1f} s to build or check)", flush=True)
    timings = measure(url, args.calls)
    for name, values in timings.items():
        print(f"{name} for one customer ({len(values)} calls): {_percentiles(values)}")
    p95 = sorted(timings["suggestions"])[int(0.95 * len(timings["suggestions"]))]
    print(f"target p95 < 5 ms for suggestions: {'met' if p95 < 5 else 'MISSED'} ({p95:.2f} ms)")
    return 0
