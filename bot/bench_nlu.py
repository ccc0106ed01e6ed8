"""`bot bench nlu`: our NLU pipeline against today's (the baseline config), side by side in one run.

For each setup: an NLU-only model is trained on data/nlu (`rasa train nlu`), served by a Rasa
server of its own, and every held-out message (tests/nlu_heldout) is parsed over HTTP one at a
time, as a turn would be. Printed per setup, overall and per language: in-domain weighted
intent F1, the out-of-scope false-accept rate (and the part of it above 0.7 confidence), parse
latency p50/p95 and the server's memory. `--model NAME=PATH` adds an already trained model
(e.g. the model `make run` used before a change) as one more column. Results go to
results/nlu-bench/summary.json and the predictions next to it. Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.bench_load.measure import peak_rss_mb
from bot.config import PROJECT_ROOT, VAR_DIR
from bot.nlu_heldout import HELDOUT_DIR, Item, Prediction, Scores, heldout_items, ordered_keys, score
from bot.runner import BIN, free_port, parse_text, stack_env, start_rasa_server, stop_processes, wait_http
from bot.training import run_logged

BASELINE_CONFIG = PROJECT_ROOT / "tests" / "bench" / "nlu-baseline-config.yml"


@dataclass
class Result:
    name: str
    predictions: list[Prediction]
    latencies_ms: list[float]
    rss_mb: float
    start_s: float
    train_s: float | None = None
    scores: Scores = field(default_factory=Scores)


def train_nlu(config: Path, nlu: Path, out: Path, name: str, logs: Path) -> tuple[Path, float]:
    """An NLU-only model of `config` on `nlu`; returns it and the seconds it took."""
    started = time.monotonic()
    run_logged([str(BIN / "rasa"), "train", "nlu", "--config", str(config), "--nlu", str(nlu),
                "--domain", str(PROJECT_ROOT / "domain.yml"), "--out", str(out), "--fixed-model-name", name],
               PROJECT_ROOT, logs / f"{name}-train.log")
    return out / f"{name}.tar.gz", time.monotonic() - started


def parse(url: str, token: str, text: str) -> tuple[dict, float]:
    started = time.perf_counter()
    answer = parse_text(url, token, text)
    return answer, (time.perf_counter() - started) * 1000


def parse_all(model: Path, items: list[Item], work: Path, name: str, warm: int = 20) -> Result:
    """Serve `model` and parse every item once (after `warm` unmeasured parses)."""
    work.mkdir(parents=True, exist_ok=True)
    endpoints = work / "endpoints.yml"
    endpoints.write_text("# in-memory tracker store: only /model/parse is used\n", encoding="utf-8")
    token, port = secrets.token_urlsafe(16), free_port()
    proc = start_rasa_server(port, model, endpoints, token, stack_env(), work / f"{name}-rasa.log")
    url = f"http://127.0.0.1:{port}"
    try:
        start_s = wait_http(f"{url}/status?token={token}", 600, proc)
        for item in items[:warm]:
            parse(url, token, item.text)
        predictions, latencies = [], []
        for item in items:
            answer, ms = parse(url, token, item.text)
            intent = answer.get("intent") or {}
            ranking = tuple((str(r.get("name")), float(r.get("confidence") or 0.0))
                            for r in answer.get("intent_ranking") or [])
            predictions.append(Prediction(item, str(intent.get("name")), float(intent.get("confidence") or 0.0),
                                          ranking))
            latencies.append(ms)
        rss = peak_rss_mb(proc.pid)
    finally:
        stop_processes([proc])
    return Result(name, predictions, latencies, rss, start_s)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def table(results: list[Result]) -> str:
    keys = ordered_keys(k for r in results for k in [*r.scores.f1, *r.scores.false_accepts])
    width = max(12, *(len(r.name) + 2 for r in results))
    lines = [f"{'':34}" + "".join(f"{r.name:>{width}}" for r in results)]

    def row(label: str, values: list[str]) -> None:
        lines.append(f"{label:34}" + "".join(f"{v:>{width}}" for v in values))

    for key in keys:
        row(f"in-domain intent F1 ({key})", [f"{r.scores.f1.get(key, float('nan')):.3f}" for r in results])
    for key in keys:
        row(f"out-of-scope false accepts ({key})",
            [f"{100 * r.scores.false_accepts.get(key, float('nan')):.1f} %" for r in results])
    row("  of them above 0.7 confidence", [f"{100 * r.scores.confident_false_accepts.get('all', 0):.1f} %"
                                           for r in results])
    row("parse latency p50", [f"{statistics.median(r.latencies_ms):.1f} ms" for r in results])
    row("parse latency p95", [f"{percentile(r.latencies_ms, 95):.1f} ms" for r in results])
    row("Rasa server peak memory", [f"{r.rss_mb:.0f} MB" for r in results])
    row("Rasa server start", [f"{r.start_s:.1f} s" for r in results])
    row("NLU training", [f"{r.train_s:.0f} s" if r.train_s is not None else "-" for r in results])
    counts = results[0].scores
    per_language = ", ".join(f"{k} {counts.in_domain.get(k, 0)}+{counts.out_of_scope.get(k, 0)}"
                             for k in keys if k != "all")
    lines.append(f"held-out messages: {counts.in_domain.get('all', 0)} in-domain, "
                 f"{counts.out_of_scope.get('all', 0)} out-of-scope ({per_language})")
    return "\n".join(lines)


def write_results(results: list[Result], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    summary = {}
    for r in results:
        summary[r.name] = {
            **r.scores.as_dict(),
            "latency_ms": {"p50": round(statistics.median(r.latencies_ms), 2),
                           "p95": round(percentile(r.latencies_ms, 95), 2)},
            "rss_mb": r.rss_mb, "start_s": round(r.start_s, 1),
            "train_s": None if r.train_s is None else round(r.train_s, 1),
        }
        (out / f"{r.name}-predictions.json").write_text(json.dumps(
            [{"text": p.item.text, "lang": p.item.lang, "intent": p.item.intent, "predicted": p.intent,
              "confidence": round(p.confidence, 4)} for p in r.predictions], indent=1, ensure_ascii=False),
            encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    items = heldout_items(Path(args.heldout))
    if args.no_train and not args.model:
        print("--no-train needs at least one --model NAME=PATH")
        return 2
    if not items:
        print(f"no held-out messages under {args.heldout}")
        return 2
    work = VAR_DIR / "bench" / "nlu"
    logs = work / "logs"
    setups: list[tuple[str, Path | None, Path | None]] = [] if args.no_train else [
        ("ours", Path(args.config), None), ("baseline", Path(args.baseline_config), None)]
    for spec in args.model or []:
        name, _, path = spec.partition("=")
        setups.append((name, None, Path(path)))
    results = []
    for name, config, model in setups:
        train_s = None
        if model is None:
            assert config is not None
            print(f"{name}: training an NLU model of {config} on {args.nlu} ...", flush=True)
            model, train_s = train_nlu(config, Path(args.nlu), work / "models", name, logs)
        print(f"{name}: parsing {len(items)} held-out messages ...", flush=True)
        result = parse_all(model, items, work, name)
        result.train_s, result.scores = train_s, score(result.predictions)
        results.append(result)
    print(table(results))
    out = Path(args.nlu_out)
    write_results(results, out)
    print(f"results: {out / 'summary.json'} (and the predictions of each setup next to it)")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=str(PROJECT_ROOT / "config.yml"), help="nlu: our pipeline")
    parser.add_argument("--baseline-config", default=str(BASELINE_CONFIG),
                        help="nlu: the pipeline to compare with (default: the one before dense features)")
    parser.add_argument("--nlu", default=str(PROJECT_ROOT / "data" / "nlu"), help="nlu: training examples")
    parser.add_argument("--heldout", default=str(HELDOUT_DIR), help="nlu: held-out messages (never trained on)")
    parser.add_argument("--model", action="append", metavar="NAME=PATH",
                        help="nlu: also score this trained model (repeatable)")
    parser.add_argument("--no-train", action="store_true",
                        help="nlu: score only the --model models (e.g. to measure latency again on an idle machine)")
    parser.add_argument("--nlu-out", default=str(PROJECT_ROOT / "results" / "nlu-bench"), help="nlu: results folder")
