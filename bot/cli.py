"""The `bot` command: database, demo data, running the assistant, benchmarks."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date

from bot.config import PROJECT_ROOT
from bot.db.session import session_scope


def _db(args: argparse.Namespace) -> int:
    from bot.db import migrate

    if args.action == "upgrade":
        migrate.upgrade(revision=args.revision or "head")
    elif args.action == "downgrade":
        migrate.downgrade(revision=args.revision or "-1")
    elif args.action == "revision":
        migrate.make_revision(args.message or "change")
    print(f"database {args.action}: done")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from bot.db.seed import seed_all

    with session_scope() as session:
        report = seed_all(session, today=date.today(), reset=args.reset)
    created = ", ".join(f"{count} {kind}" for kind, count in sorted(report.created.items())) or "nothing new"
    print(f"demo data: {created}")
    return 0


def _nlp(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.nlp import DEFAULT_PATH, build_blank_pipeline

    path = build_blank_pipeline(Path(args.path) if args.path else DEFAULT_PATH)
    print(f"spaCy pipeline ready at {path}")
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.scale:
        from bot.scale import Ports
        from bot.scale import run_forever as run_scale

        return run_scale(Ports(rasa=args.rasa_port, actions=args.action_port, web=args.web_port))
    from bot.runner import run_forever

    return run_forever(args.rasa_port, args.action_port, args.web_port)


def _rest(args: argparse.Namespace) -> int:
    from bot.signing import REST, rest_secret, sign

    secret = rest_secret()
    if secret is None:
        print("REST_SIGNING_SECRET is not set", file=sys.stderr)
        return 2
    print(sign(secret, REST, args.sender))
    return 0


def _web(args: argparse.Namespace) -> int:
    from bot.web.app import run

    return run(args.host, args.port)


def _strategy(args: argparse.Namespace) -> int:
    """Explain a customer's strategy and suggestions, or print offer acceptance rates."""
    from bot.db.models import Customer
    from bot.strategy import outcomes
    from bot.strategy.engine import suggest

    with session_scope() as session:
        if args.action == "rates":
            rates = outcomes.acceptance_rates(session, args.segment)
            print(f"{'offer':<22}{args.segment:<10}{'offered':>8}{'accepted':>9}{'declined':>9}{'rate':>7}")
            for r in rates:
                print(f"{r.offer_code:<22}{r.segment:<10}{r.offered:>8}{r.accepted:>9}{r.declined:>9}{r.rate:>7.0%}")
            return 0
        if not args.customer:
            print("bot strategy show needs a customer (id or demo key, e.g. demo-coach)", file=sys.stderr)
            return 2
        key = args.customer
        customer = session.get(Customer, int(key)) if key.isdigit() else (
            session.query(Customer).filter_by(demo_key=key).one_or_none()
        )
        if customer is None:
            print(f"no customer {key!r}", file=sys.stderr)
            return 1
        services = args.services.split(",") if args.services else None
        result = suggest(session, customer.id, date.today(), args.lang, services=services, asked=services is None)
        print(f"customer {customer.id}: strategy {result.strategy} (rule {result.choice.rule}; {result.choice.facts})")
        print(f"data the engine may use: {', '.join(sorted(result.choice.data_allowed))}")
        for s in result.items:
            used = ", ".join(f"{d['source']}.{d['fact']}" for d in s.data_used) or "no personal data"
            print(f"- {s.offer_code} ({s.price_nok} NOK, score {s.score}): {s.reason} [uses {used}]")
        if not result.items:
            print("- no suggestion")
    return 0


def _proactive(args: argparse.Namespace) -> int:
    from datetime import datetime

    from bot.proactive.scheduler import run_forever, run_pass

    if args.action == "run":
        return run_forever(args.interval)
    now = datetime.fromisoformat(args.now) if args.now else None
    report = run_pass(now=now, rasa_url=args.rasa_url)
    print(report.summary())
    return 0


def _desk(args: argparse.Namespace) -> int:
    import getpass
    import os

    from bot.handoff.agents import add_agent

    password = os.environ.get("DESK_PASSWORD") or getpass.getpass(f"password for {args.username}: ")
    try:
        with session_scope() as session:
            agent = add_agent(session, args.username, args.name or args.username, password, args.role)
            print(f"agent {agent.username} ({agent.role}) created")
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 2
    return 0


def _telegram(args: argparse.Namespace) -> int:
    import asyncio

    from bot.telegram_api import make_bot, poll, set_webhook, settings_from_env

    token, secret, base_url = settings_from_env()
    if not token or not secret:
        print("set TELEGRAM_TOKEN and TELEGRAM_WEBHOOK_SECRET first (see .env.example)", file=sys.stderr)
        return 2
    bot = make_bot(token, base_url)
    if args.action == "set-webhook":
        if not args.url:
            print("bot telegram set-webhook needs the public https:// URL of the Rasa server", file=sys.stderr)
            return 2
        try:
            url = asyncio.run(set_webhook(bot, args.url, secret))
        except ValueError as error:
            print(str(error), file=sys.stderr)
            return 2
        print(f"Telegram will post updates to {url}")
        return 0
    print(f"polling Telegram and forwarding updates to {args.rasa_url} (Ctrl-C stops)")
    try:
        forwarded = asyncio.run(poll(bot, args.rasa_url, secret, once=args.once))
    except KeyboardInterrupt:
        return 0
    print(f"forwarded {forwarded} updates")
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.what == "proactive":
        from bot.bench_proactive import run as run_proactive_bench

        return run_proactive_bench(args)
    if args.what == "strategy":
        from bot.bench_strategy import run

        return run(args)
    if args.what == "load":
        from bot.bench_load.run import run as run_load

        return run_load(args)
    if args.what == "long":
        from bot.bench_long import run as run_long

        return run_long(args)
    if args.what == "nlu":
        from bot.bench_nlu import run as run_nlu

        return run_nlu(args)
    from bot.bench import run_bench

    return run_bench(args)


def _train(args: argparse.Namespace) -> int:
    from bot.training import main as train_main

    return train_main(args)


def _nlu(args: argparse.Namespace) -> int:
    from bot.nlu_tuning import run

    return run(args)


def _report(args: argparse.Namespace) -> int:
    from bot.insights.command import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot", description="Fjordbil assistant tools")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="migrate the profile database (DATABASE_URL)")
    db.add_argument("action", choices=["upgrade", "downgrade", "revision"])
    db.add_argument("--revision", help="target revision (default: head / one step down)")
    db.add_argument("-m", "--message", help="message of a new revision")
    db.set_defaults(func=_db)

    seed = sub.add_parser("seed-demo", help="load business data and the demo customers")
    seed.add_argument("--reset", action="store_true", help="recreate the demo customers")
    seed.set_defaults(func=_seed)

    nlp = sub.add_parser("nlp", help="build the local spaCy pipeline config.yml uses")
    nlp.add_argument("action", choices=["build"])
    nlp.add_argument("--path", help="where to write it (default var/spacy/nb)")
    nlp.set_defaults(func=_nlp)

    run = sub.add_parser("run", help="start the Rasa server, the action server and the web chat")
    run.add_argument("--rasa-port", type=int, default=5005)
    run.add_argument("--action-port", type=int, default=5055)
    run.add_argument("--web-port", type=int, default=8080)
    run.add_argument("--scale", action="store_true",
                     help="two Rasa instances and two action servers behind nginx, PostgreSQL (DATABASE_URL) "
                          "and Redis (REDIS_URL): what `make run-scale` starts")
    run.set_defaults(func=_run)

    web = sub.add_parser("web", help="the web server: chat page at /chat (Rasa at RASA_URL)")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8080)
    web.set_defaults(func=_web)

    rest = sub.add_parser("rest", help="sign: the X-Sender-Signature a REST client sends for a sender id")
    rest.add_argument("action", choices=["sign"])
    rest.add_argument("sender")
    rest.set_defaults(func=_rest)

    strategy = sub.add_parser("strategy", help="explain a customer's strategy and suggestions; offer rates")
    strategy.add_argument("action", choices=["show", "rates"])
    strategy.add_argument("customer", nargs="?", help="show: customer id or demo key")
    strategy.add_argument("--lang", default="nb", choices=["nb", "sv", "en"])
    strategy.add_argument("--services", help="show: a booking in progress, e.g. service,tyre_change")
    strategy.add_argument("--segment", default="strategy", choices=["strategy", "channel", "lang"])
    strategy.set_defaults(func=_strategy)

    proactive = sub.add_parser("proactive", help="bot-initiated messages: one pass (once) or the loop (run)")
    proactive.add_argument("action", choices=["once", "run"])
    proactive.add_argument("--rasa-url", help="Rasa server (default RASA_URL or http://127.0.0.1:5005)")
    proactive.add_argument("--interval", type=float, help="run: seconds between passes (default: setting)")
    proactive.add_argument("--now", help="once: pretend it is this local time (ISO), for demos and tests")
    proactive.set_defaults(func=_proactive)

    desk = sub.add_parser("desk", help="agent desk accounts")
    desk.add_argument("action", choices=["add-agent"])
    desk.add_argument("username")
    desk.add_argument("--name", help="name the customer sees on replies")
    desk.add_argument("--role", default="agent", choices=["agent", "trainer"])
    desk.set_defaults(func=_desk)

    telegram = sub.add_parser("telegram", help="set the Telegram webhook, or poll Telegram in development")
    telegram.add_argument("action", choices=["set-webhook", "poll"])
    telegram.add_argument("url", nargs="?", help="set-webhook: public https:// URL of the Rasa server")
    telegram.add_argument("--rasa-url", default="http://127.0.0.1:5005", help="poll: the local Rasa server")
    telegram.add_argument("--once", action="store_true", help="poll: one round of updates, then stop")
    telegram.set_defaults(func=_telegram)

    bench = sub.add_parser(
        "bench", help="turns: training, start-up and per-turn latency; strategy: suggestions per customer; "
                      "load: concurrent conversations held (locust); long: turn time against conversation length; "
                      "nlu: held-out intent F1, off-topic false accepts and parse latency, ours against the baseline"
    )
    bench.add_argument("what", choices=["turns", "strategy", "proactive", "load", "long", "nlu"])
    bench.add_argument("--customers", type=int, default=100_000, help="strategy: customers in the database")
    bench.add_argument("--calls", type=int, default=2000, help="strategy: customers measured")
    bench.add_argument("--database-url", help="strategy: use this database (default: var/bench/*.db)")
    bench.add_argument("--turns", type=int, default=500, help="REST turns per measurement")
    bench.add_argument("--concurrency", type=int, default=20, help="concurrent conversations")
    bench.add_argument("--skip-train", action="store_true", help="use the latest model in models/")
    from bot.bench_load.options import add_arguments as load_arguments

    load_arguments(bench)
    from bot.bench_long import add_arguments as long_arguments

    long_arguments(bench)
    from bot.bench_nlu import add_arguments as nlu_arguments

    nlu_arguments(bench)
    bench.set_defaults(func=_bench)

    from bot.review.cli import add_review_parser

    # `bot review pull|list`; more review actions: review_actions.add_parser(...) (see bot/review/cli.py)
    review_actions = add_review_parser(sub)
    from bot.review.annotate_cli import add_annotate_actions

    add_annotate_actions(review_actions)  # `bot review label|story`

    report = sub.add_parser("report", help="insights as an HTML report with charts (results/report.html)")
    from bot.insights.command import add_arguments as report_arguments

    report_arguments(report)
    report.set_defaults(func=_report)

    train = sub.add_parser(
        "train", help="validate, score a candidate on held-out data; train and activate only if intent F1 holds"
    )
    train.add_argument("--margin", type=float, default=0.02, help="largest allowed drop of intent F1 (default 0.02)")
    train.add_argument("--language-margin", type=float, help="largest allowed drop in one language (default: margin)")
    train.add_argument("--oos-margin", type=float, default=0.02,
                       help="largest allowed rise of the out-of-scope false-accept rate, overall or in one language")
    train.add_argument("--epochs", type=int, help="override DIET/TED epochs (quick runs, tests)")
    train.add_argument("--skip-conversation-tests", action="store_true")
    train.add_argument("--rasa-url", help="running Rasa server to hot-load into (default RASA_URL or :5005)")
    train.add_argument("--dry-run", action="store_true", help="validate, score and compare only; change nothing")
    train.add_argument("--record-baseline", action="store_true",
                       help="score today's data and record it as the current model's baseline; train nothing")
    train.add_argument("--rescore", action="store_true", help="retrain the candidate even if its inputs are unchanged")
    train.add_argument("--root", help="project folder with data/, config.yml, domain.yml (default: this one)")
    train.add_argument("--models", help="models folder (default: ROOT/models)")
    train.set_defaults(func=_train)

    nlu = sub.add_parser("nlu", help="tune: choose the fallback thresholds on held-out data and write config.yml")
    nlu.add_argument("action", choices=["tune"])
    nlu.add_argument("--config", default=str(PROJECT_ROOT / "config.yml"), help="the config to tune (and write)")
    nlu.add_argument("--dry-run", action="store_true", help="print the thresholds, leave config.yml as it is")
    nlu.set_defaults(func=_nlu)

    from bot.privacy.commands import add_parsers as add_privacy_parsers

    add_privacy_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from bot.logfilter import install as install_log_filter

    install_log_filter()
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
