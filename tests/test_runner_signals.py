"""`bot run` stops on SIGTERM, SIGINT and SIGHUP, also when it was started in the background by
a script, where SIGINT arrives ignored (POSIX) and Python would never see it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

PROGRAM = """
import sys, time
from bot.runner import interrupt_on_termination
interrupt_on_termination()
print("ready", flush=True)
try:
    time.sleep(60)
except KeyboardInterrupt as stop:
    print("stopping:", stop, flush=True)
    sys.exit(0)
sys.exit(3)
"""


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # as `cmd &` in a non-interactive shell leaves it


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_each_stop_signal_ends_the_main_loop_even_when_sigint_came_ignored(signum):
    proc = subprocess.Popen([sys.executable, "-c", PROGRAM], stdout=subprocess.PIPE, text=True,
                            preexec_fn=ignore_sigint)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        started = time.monotonic()
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == 0
        assert f"signal {int(signum)}" in proc.stdout.read()
        assert time.monotonic() - started < 30
    finally:
        proc.kill()
        proc.wait()
