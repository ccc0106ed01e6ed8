"""`bot bench load`: start each setup, load it step by step, check it, report."""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.bench_load import checks, database, measure, setups


def start(name: str, work: Path, args: argparse.Namespace) -> setups.Running:
    if name == "embedded":
        return setups.embedded(work, args.known)
    if name == "scale":
        return setups.scale(work, args.known, args.postgres, args.redis)
    if name == "starter":
        return setups.starter(work)
    raise ValueError(f"unknown setup {name!r}: choose from {', '.join(setups.SETUPS)}")


def locust_config(running: setups.Running, think: list[float]) -> dict[str, Any]:
    """What the simulated customers of this setup say and how they tell an error (locustfile.py)."""
    return {"bot": "starter" if running.name == "starter" else "fjordbil", "think": think,
            "known": max(1, running.known), "known_share": 0.75 if running.known else 0.0,
            "apologies": database.apologies(), "handoff_texts": database.handoff_texts(), "seed": 7}


def print_step(step: measure.Step) -> None:
    mark = "holds" if step.holds else "FAILS"
    print(f"  {step.users:>4} users  {step.turns:>5} turns  {step.turns_per_s:>6.1f} turns/s  p50 {step.p50_ms:>6.0f}  "
          f"p95 {step.p95_ms:>6.0f}  p99 {step.p99_ms:>6.0f} ms  errors {step.errors:>3} ({step.error_rate:.1%})  "
          f"retried {step.retried:>3}  {mark} {step.note}", flush=True)


def load_steps(running: setups.Running, args: argparse.Namespace, work: Path, config: dict[str, Any],
               killed_peaks: dict[str, float]) -> tuple[list[measure.Step], list[dict[str, Any]]]:
    """Ascending steps until one fails, then `--refine` steps in between; an optional kill step."""
    steps: list[measure.Step] = []
    entries: list[dict[str, Any]] = []

    def one(users: int, note: str = "", during: Any = None) -> measure.Step:
        used = [int(e["sender"].split("-")[1]) for e in entries if e["sender"].startswith("load-")]
        step_config = {**config, "step": len(steps), "first_sender": max(used, default=-1) + 1}
        log, window = measure.run_locust(running.url, users, step_config, work, args.measure, during=during)
        entries.extend(log)
        step = measure.step_numbers(running.name, users, log, window)
        step.note = note
        print_step(step)
        steps.append(step)
        return step

    best, failed = 0, 0
    for users in sorted(int(u) for u in args.users.split(",")):
        if one(users).holds:
            best = users
        else:
            failed = users
            break
    for _ in range(args.refine if failed else 0):
        middle = (best + failed) // 2
        if middle in (best, failed) or failed - best < 10:
            break
        if one(middle).holds:
            best = middle
        else:
            failed = middle
    if args.kill and running.kill is not None:
        victim = "rasa-2"

        def kill(_: float) -> None:
            pid = running.pids().get(victim)
            if pid is not None:
                killed_peaks[victim] = measure.peak_rss_mb(pid)
            print(f"  killing {victim} (SIGKILL) mid-step", flush=True)
            running.kill(victim)

        one(best or min(int(u) for u in args.users.split(",")), note=f"({victim} killed mid-step)", during=kill)
    return steps, entries


def service_memory() -> dict[str, float]:
    """Peak memory of the shared services (Redis reports its peak; PostgreSQL's backends now)."""
    found: dict[str, float] = {}
    try:
        info = subprocess.run(["redis-cli", "info", "memory"], capture_output=True, text=True, timeout=5).stdout
        for line in info.splitlines():
            if line.startswith("used_memory_peak:"):
                found["redis (peak)"] = round(int(line.split(":")[1]) / 2**20, 1)
        ps = subprocess.run(["ps", "-C", "postgres", "-o", "rss="], capture_output=True, text=True, timeout=5).stdout
        found["postgresql (all processes, at the end)"] = round(sum(int(x) for x in ps.split()) / 1024, 1)
    except (OSError, ValueError, subprocess.SubprocessError):
        pass
    return found


def plot(results: list[dict[str, Any]], path: Path, think: list[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4.5))
    for result in results:
        steps = sorted((s for s in result["steps"] if not s["note"]), key=lambda s: s["users"])
        users = [s["users"] for s in steps]
        line, = axis.plot(users, [s["p95_ms"] for s in steps], marker="o", label=f"{result['setup']} p95")
        axis.plot(users, [s["p50_ms"] for s in steps], marker=".", linestyle="--", color=line.get_color(),
                  label=f"{result['setup']} p50")
    axis.axhline(measure.P95_TARGET_MS, color="grey", linewidth=1, linestyle=":", label="p95 target 500 ms")
    axis.set_xlabel("concurrent conversations (simulated customers)")
    axis.set_ylabel("turn latency (ms)")
    axis.set_yscale("log")
    axis.set_title(f"Latency against load (REST, {think[0]:g}-{think[1]:g} s between messages)")
    axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def run(args: argparse.Namespace) -> int:
    think = [float(x) for x in args.think.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    correct = True
    for name in [s.strip() for s in args.setups.split(",") if s.strip()]:
        work = Path(tempfile.mkdtemp(prefix=f"load-{name}-"))
        started = time.perf_counter()
        running = start(name, work, args)
        print(f"{name}: started in {time.perf_counter() - started:.0f} s at {running.url}", flush=True)
        config = locust_config(running, think)
        try:
            killed: dict[str, float] = {}
            steps, entries = load_steps(running, args, work, config, killed)
            memory = {proc: measure.peak_rss_mb(pid) for proc, pid in running.pids().items()}
            memory.update({f"{proc} (until killed)": peak for proc, peak in killed.items()})
            if name == "scale":
                memory.update(service_memory())
            verdict = checks.check(entries, running.tracker_url, running.db_url)
        finally:
            running.close()
        memory["locust (load generator)"] = measure.LOCUST_PEAK_MB[0]
        measure.LOCUST_PEAK_MB[0] = 0.0
        held = max((s.users for s in steps if s.holds and not s.note), default=0)
        print(f"{name}: largest load held at p95 <= {measure.P95_TARGET_MS:.0f} ms with no errors: {held} "
              f"concurrent conversations", flush=True)
        print(f"{name}: peak memory (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in memory.items()), flush=True)
        if running.tracker_url or running.db_url:
            print(f"{name}: {verdict.summary()}", flush=True)
            for problem in verdict.problems[:20]:
                print(f"  - {problem}", flush=True)
            correct = correct and verdict.ok
        results.append({"setup": name, "held_users": held, "steps": [s.as_dict() for s in steps],
                        "memory_mb": memory, "correct": verdict.ok if running.db_url else None,
                        "problems": verdict.problems[:100]})
    summary = out / "summary.json"
    if args.keep_others and summary.exists():  # the setups not run now keep their last results
        ran = {r["setup"] for r in results}
        results = [r for r in json.loads(summary.read_text(encoding="utf-8")) if r["setup"] not in ran] + results
    summary.write_text(json.dumps(results, indent=2), encoding="utf-8")
    plot(results, out / "latency.png", think)
    print(f"results: {out / 'summary.json'}, plot: {out / 'latency.png'}", flush=True)
    return 0 if correct else 1
