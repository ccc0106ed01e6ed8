"""`bot bench load`: start each setup, load it step by step, check it, report.

Each setup is measured from a fresh start twice (`--start cold,warm`): **cold**, the first step
right after the server reports ready (a deploy under traffic); **warm**, after a short warm-up step
whose customers write the same needs in other words (the texts upper-cased, so no measured text is
in a cache because the warm-up sent it). The summary line compares the embedded default with
Rasa's starter bot, measured in the same run: held load ours / starter, cold and warm.
"""

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
    if step.cpu_ms_per_turn:
        print("        CPU per turn: " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in step.cpu_ms_per_turn.items()),
              flush=True)


WARM_UP_NOTE = "(warm-up, not counted)"
LOAD_GENERATOR = "locust (load generator)"
START_KINDS = ("cold", "warm")


def load_steps(running: setups.Running, args: argparse.Namespace, work: Path, config: dict[str, Any],
               killed_peaks: dict[str, float], warm: bool = False,
               kill: bool | None = None) -> tuple[list[measure.Step], list[dict[str, Any]]]:
    """With `warm`, a warm-up step first (other texts, not counted); then ascending steps until one
    fails, then `--refine` steps in between; an optional kill step (`kill`, default `--kill`)."""
    steps: list[measure.Step] = []
    entries: list[dict[str, Any]] = []

    def one(users: int, note: str = "", during: Any = None, measure_s: float | None = None,
            extra: dict[str, Any] | None = None) -> measure.Step:
        used = [int(e["sender"].split("-")[1]) for e in entries if e["sender"].startswith("load-")]
        step_config = {**config, **(extra or {}), "step": len(steps), "first_sender": max(used, default=-1) + 1}
        before = {name: measure.cpu_seconds(pid) for name, pid in running.pids().items()}
        log, window = measure.run_locust(running.url, users, step_config, work, measure_s or args.measure,
                                         during=during)
        after = {name: measure.cpu_seconds(pid) for name, pid in running.pids().items()}
        entries.extend(log)
        step = measure.step_numbers(running.name, users, log, window)
        step.note = note
        step.cpu_ms_per_turn = measure.cpu_per_turn({**before, LOAD_GENERATOR: 0.0},
                                                    {**after, LOAD_GENERATOR: measure.LOCUST_CPU_S[0]}, log)
        print_step(step)
        steps.append(step)
        return step

    if warm:
        one(getattr(args, "warm_users", 10), note=WARM_UP_NOTE, measure_s=getattr(args, "warm_s", 30),
            extra={"warm_up": True})

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
    if (args.kill if kill is None else kill) and running.kill is not None:
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
        name = f"{result['setup']} ({result.get('start', 'cold')})"
        line, = axis.plot(users, [s["p95_ms"] for s in steps], marker="o", label=f"{name} p95")
        axis.plot(users, [s["p50_ms"] for s in steps], marker=".", linestyle="--", color=line.get_color(),
                  label=f"{name} p50")
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


def held(steps: list[measure.Step]) -> int:
    """The largest load a setup held (p95 within the target, no errors), over the counted steps."""
    return max((s.users for s in steps if s.holds and not s.note), default=0)


def summary_line(results: list[dict[str, Any]], ours: str = "embedded", theirs: str = "starter") -> str:
    """`held load, embedded / starter: cold 25 / 100 (0.25x), warm 50 / 100 (0.50x)`."""
    parts = []
    for kind in START_KINDS:
        mine = [r["held_users"] for r in results if r["setup"] == ours and r.get("start", "cold") == kind]
        other = [r["held_users"] for r in results if r["setup"] == theirs and r.get("start", "cold") == kind]
        if mine and other:
            ratio = f"{mine[-1] / other[-1]:.2f}x" if other[-1] else "n/a"
            parts.append(f"{kind} {mine[-1]} / {other[-1]} ({ratio})")
    if not parts:
        return f"held load, {ours} / {theirs}: run both setups in one run to compare"
    return f"held load, {ours} / {theirs}: " + ", ".join(parts) + " (target: 2.00x from either start)"


def run(args: argparse.Namespace) -> int:
    think = [float(x) for x in args.think.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    correct = True
    starts = [s.strip() for s in getattr(args, "start", "cold").split(",") if s.strip()]
    unknown = [s for s in starts if s not in START_KINDS]
    if unknown or not starts:
        raise ValueError(f"--start takes {', '.join(START_KINDS)}, comma separated (not {', '.join(unknown)})")
    runs = [(name, start) for name in [s.strip() for s in args.setups.split(",") if s.strip()] for start in starts]
    for name, start_kind in runs:
        work = Path(tempfile.mkdtemp(prefix=f"load-{name}-{start_kind}-"))
        started = time.perf_counter()
        running = start(name, work, args)
        print(f"{name} ({start_kind}): started in {time.perf_counter() - started:.0f} s at {running.url}", flush=True)
        config = locust_config(running, think)
        try:
            killed: dict[str, float] = {}
            # The kill step once per setup, in its last start.
            steps, entries = load_steps(running, args, work, config, killed, warm=start_kind == "warm",
                                        kill=args.kill and start_kind == starts[-1])
            memory = {proc: measure.peak_rss_mb(pid) for proc, pid in running.pids().items()}
            memory.update({f"{proc} (until killed)": peak for proc, peak in killed.items()})
            if name == "scale":
                memory.update(service_memory())
            verdict = checks.check(entries, running.tracker_url, running.db_url)
        finally:
            running.close()
        memory[LOAD_GENERATOR] = measure.LOCUST_PEAK_MB[0]
        measure.LOCUST_PEAK_MB[0] = 0.0
        label = f"{name} ({start_kind})"
        held_users = held(steps)
        print(f"{label}: largest load held at p95 <= {measure.P95_TARGET_MS:.0f} ms with no errors: {held_users} "
              f"concurrent conversations", flush=True)
        print(f"{label}: peak memory (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in memory.items()), flush=True)
        if running.tracker_url or running.db_url:
            print(f"{label}: {verdict.summary()}", flush=True)
            for problem in verdict.problems[:20]:
                print(f"  - {problem}", flush=True)
            correct = correct and verdict.ok
        results.append({"setup": name, "start": start_kind, "held_users": held_users,
                        "steps": [s.as_dict() for s in steps],
                        "memory_mb": memory, "correct": verdict.ok if running.db_url else None,
                        "problems": verdict.problems[:100]})
    summary = out / "summary.json"
    if args.keep_others and summary.exists():  # the setups not run now keep their last results
        ran = {(r["setup"], r["start"]) for r in results}
        results = [r for r in json.loads(summary.read_text(encoding="utf-8"))
                   if (r["setup"], r.get("start", "cold")) not in ran] + results
    summary.write_text(json.dumps(results, indent=2), encoding="utf-8")
    plot(results, out / "latency.png", think)
    print(summary_line(results), flush=True)
    print(f"results: {out / 'summary.json'}, plot: {out / 'latency.png'}", flush=True)
    return 0 if correct else 1
