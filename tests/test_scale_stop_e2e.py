"""`bot run --scale` as systemd, Docker or Kubernetes stop it: SIGTERM ends every child (two
Rasa instances, two action servers, nginx, the web server, two schedulers) within 10 s and
frees every port. The scale setup's behaviour under load is in test_load_scale_e2e.py."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from bot.bench_load.options import DEFAULT_POSTGRES, DEFAULT_REDIS
from bot.bench_load.setups import fresh_postgres_database
from bot.config import PROJECT_ROOT
from bot.runner import BIN, wait_http
from bot.scale import Ports
from tests.servers import free_port
from tests.test_load_scale_e2e import missing_service
from tests.test_sessions_e2e import STOP_WITHIN_S, alive, descendants, kill_tree, listening

pytestmark = pytest.mark.e2e
START_WITHIN_S = 600   # two Rasa instances loading the model at once, on a busy machine


@pytest.fixture
def scale_run(tmp_path) -> Iterator[tuple[subprocess.Popen, list[int]]]:
    reason = missing_service()
    if reason:
        pytest.skip(reason)
    ports = Ports(rasa=free_port(), actions=free_port(), web=free_port())
    instances = [*ports.rasa_instances, *ports.action_instances]
    taken = [port for port in instances if listening(port)]
    assert not taken, f"the scale setup's instance ports {taken} are taken by something else"
    db_url, drop = fresh_postgres_database(DEFAULT_POSTGRES)
    token = "scale-stop-e2e-token"
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": DEFAULT_REDIS, "BOT_ENV": "dev", "RASA_TOKEN": token,
           "WEBCHAT_ORIGINS": f"http://127.0.0.1:{ports.web}"}
    log = tmp_path / "bot-run-scale.log"
    process = subprocess.Popen(
        [str(BIN / "bot"), "run", "--scale", "--rasa-port", str(ports.rasa), "--action-port", str(ports.actions),
         "--web-port", str(ports.web)],
        cwd=PROJECT_ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{ports.rasa}/status?token={token}", START_WITHIN_S, process)
        wait_http(f"http://127.0.0.1:{ports.web}/health", 120, process)
        # The schedulers start last; `bot run --scale` says how to use it once all are running.
        deadline = time.monotonic() + 120
        while "Stop with Ctrl-C" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text(errors="replace")[-2000:]
            time.sleep(0.5)
        yield process, [ports.rasa, ports.actions, ports.web, *instances]
    finally:
        kill_tree(process)
        drop()


def test_sigterm_to_bot_run_scale_stops_every_child_within_10_s_and_frees_every_port(scale_run):
    process, ports = scale_run
    children = descendants(process.pid)
    # 2 action servers, nginx (master and workers), 2 Rasa instances, the web server, 2 schedulers
    assert len(children) >= 8 and all(listening(port) for port in ports), (children, ports)
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    took = time.monotonic() - started
    left = [pid for pid in children if alive(pid)]
    assert not left and took <= STOP_WITHIN_S, (left, took)
    assert process.returncode == 0
    assert not [port for port in ports if listening(port)]
