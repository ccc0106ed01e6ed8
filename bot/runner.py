"""Start and stop the Rasa server and the action server as child processes.

Used by `bot run`, the end-to-end tests and the benchmarks, so all three run the
assistant the same way. No Rasa import: Rasa runs in its own processes.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import PROJECT_ROOT, VAR_DIR, webchat_origins
from bot.endpoints import endpoints, scale_tracker_url, write_endpoints
from bot.signing import kept_secret, webchat_secret

BIN = Path(sys.executable).parent
# `bot web` runs from its own environment (a current aiohttp; `make install` builds it), else from this one.
WEB_BIN = PROJECT_ROOT / ".venv-web" / "bin"
# Largest request body Rasa's HTTP server takes (Sanic's REQUEST_MAX_SIZE): a REST message is
# at most 20,000 characters, a Telegram update far less.
REQUEST_MAX_BYTES = 1_000_000
# Parsed once per language before a Rasa server is called ready: its first parse costs about
# 300 ms more than the next ones (measured on this machine), which a customer should not wait.
WARM_UP_TEXTS = ("hei, har dere ledig time i morgen?", "hej, jag vill boka en tid", "hello, when are you open?")

log = logging.getLogger(__name__)


@dataclass
class Stack:
    """A running Rasa server and action server."""

    rasa_port: int
    action_port: int
    token: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    web_port: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    model: Path | None = None
    endpoints: Path | None = None

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def stop_process(self, index: int) -> None:
        """Stop one process (0: action server, 1: Rasa, 2: web), as a crash or an operator would."""
        proc = self.processes[index]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def restart_action_server(self, timeout: float = 240) -> float:
        """Stop (if running) and start the action server again; returns the start-up seconds."""
        self.stop_process(0)
        self.processes[0] = start_action_server(self.action_port, self.env, self.logs[0])
        return wait_http(f"{self.action_url}/health", timeout, self.processes[0])

    def restart_rasa(self, timeout: float = 300) -> float:
        """Stop and start the Rasa server on the same tracker store; returns the start-up seconds."""
        assert self.model is not None and self.endpoints is not None
        self.stop_process(1)
        self.processes[1] = start_rasa_server(
            self.rasa_port, self.model, self.endpoints, self.token, self.env, self.logs[1])
        return wait_rasa_ready(self.rasa_url, self.token, timeout, self.processes[1])

    def stop(self) -> None:
        stop_processes(self.processes)


STOP_GRACE_S = 7.0   # SIGTERM, then this long for all of them together, then SIGKILL: gone within 10 s


def stop_processes(processes: list[subprocess.Popen], grace: float = STOP_GRACE_S) -> None:
    """SIGTERM every process (the last started first); kill what is still there after `grace` seconds."""
    for proc in reversed(processes):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def interrupt_on_termination() -> None:
    """Make SIGTERM, SIGINT and SIGHUP (systemd, Docker, Kubernetes, Ctrl-C, a closed terminal)
    end `bot run`: a KeyboardInterrupt in the main thread, whose `finally` stops every child. SIGINT
    is handled too because a process started in the background by a script inherits it ignored
    (POSIX), and Python then never turns it into a KeyboardInterrupt. A second signal while
    stopping is ignored, so the stop itself is not cut short."""
    def interrupt(signum: int, _frame: object) -> None:
        for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(number, signal.SIG_IGN)
        raise KeyboardInterrupt(f"signal {signum}")

    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, interrupt)


def stack_endpoints(path: Path, action_port: int, tracker_url: str, redis_url: str | None = None) -> Path:
    """An endpoints file for this stack: its action server, its own tracker database and,
    with `redis_url`, the Redis lock store."""
    return write_endpoints(path, endpoints(f"http://127.0.0.1:{action_port}/webhook", tracker_url, redis_url))


def run_endpoints(path: Path, action_port: int, env: dict[str, str] | None = None) -> Path:
    """`bot run`'s endpoints: the project's file with the action server on `action_port`, and
    PostgreSQL and Redis when the environment names them (`DATABASE_URL`, `REDIS_URL`)."""
    env = dict(os.environ) if env is None else env
    return write_endpoints(path, endpoints(
        f"http://127.0.0.1:{action_port}/webhook", scale_tracker_url(env), env.get("REDIS_URL") or None,
    ))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stack_env(extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every process of the stack: the request size limit of Rasa's Sanic
    server, and the action server's shared secret (random per run when not configured), so
    Rasa and the action server always agree on it and it is never missing."""
    env = {**os.environ, **(extra_env or {})}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Rasa reports usage and errors to Rasa's servers unless told not to: nothing leaves the machine.
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("SANIC_REQUEST_MAX_SIZE", str(REQUEST_MAX_BYTES))
    # glibc gives each thread that allocates its own arena (up to 8 per core), and TensorFlow's
    # and Sanic's threads keep freed memory in theirs: with two arenas the Rasa server peaked
    # at 1,012 MB instead of 1,070 MB under 250 customers, at the same CPU per turn (bot bench load).
    env.setdefault("MALLOC_ARENA_MAX", "2")
    if not env.get("ACTION_SERVER_TOKEN"):
        env["ACTION_SERVER_TOKEN"] = secrets.token_urlsafe(24)
    if not env.get("WEBCHAT_SECRET"):
        env["WEBCHAT_SECRET"] = secrets.token_urlsafe(32)   # web chat sessions (bot/signing.py)
    return env


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> float:
    """Wait until `url` answers 200; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not come up within {timeout:.0f}s")


def parse_text(rasa_url: str, token: str, text: str, timeout: float = 60) -> dict:
    """Rasa's reading of `text` (/model/parse: no conversation is created)."""
    request = urllib.request.Request(f"{rasa_url}/model/parse?token={token}", method="POST",
                                     data=json.dumps({"text": text}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def warm_up_rasa(rasa_url: str, token: str, timeout: float = 30) -> float:
    """Parse WARM_UP_TEXTS; returns the seconds it took. A failed warm-up is only logged: it
    costs the first customer time, nothing else."""
    started = time.monotonic()
    for text in WARM_UP_TEXTS:
        try:
            parse_text(rasa_url, token, text, timeout)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            log.warning("warm-up parse failed: %s", type(error).__name__)
            break
    return time.monotonic() - started


def wait_rasa_ready(rasa_url: str, token: str, timeout: float, proc: subprocess.Popen | None = None) -> float:
    """Wait until the Rasa server at `rasa_url` has its model loaded, then warm it up; returns
    the seconds both took. What starts a Rasa server calls it ready only after this."""
    return wait_http(f"{rasa_url}/status?token={token}", timeout, proc) + warm_up_rasa(rasa_url, token)


def start_action_server(port: int, env: dict[str, str], log: Path, host: str = "127.0.0.1") -> subprocess.Popen:
    """`rasa run actions` plus the shared-secret check and the bind address (actions/server.py)."""
    return subprocess.Popen(
        [sys.executable, "-m", "actions.server", "--actions", "actions", "--port", str(port), "--host", host],
        cwd=PROJECT_ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )


def start_rasa_server(
    port: int, model: Path, endpoints: Path, token: str, env: dict[str, str], log: Path,
    credentials: Path = PROJECT_ROOT / "credentials.yml",
) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(BIN / "rasa"), "run", "--enable-api", f"--auth-token={token}",
            "--port", str(port), "--model", str(model), "--endpoints", str(endpoints),
            "--credentials", str(credentials), "--cors", *webchat_origins(env),
        ],
        cwd=PROJECT_ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )


def start_web(port: int, rasa_port: int, token: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """The web server on `port` (chat page; the desk later), talking to Rasa on `rasa_port`."""
    web_env = {
        **env, "RASA_URL": f"http://127.0.0.1:{rasa_port}", "RASA_TOKEN": token,
        "RASA_PUBLIC_URL": env.get("RASA_PUBLIC_URL", f"http://127.0.0.1:{rasa_port}"),
        # The desk's labelling validates data with Rasa: from the environment that has it.
        "BOT_RASA_PYTHON": env.get("BOT_RASA_PYTHON", sys.executable),
    }
    return subprocess.Popen(
        [str(web_command()), "web", "--port", str(port)],
        cwd=PROJECT_ROOT, env=web_env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )


def web_command() -> Path:
    """The `bot` of the web server's own environment (.venv-web) when it is built, else this one's."""
    own = WEB_BIN / "bot"
    return own if own.exists() else BIN / "bot"


def start_stack(
    rasa_port: int, action_port: int, model: Path, workdir: Path,
    token: str | None = None, extra_env: dict[str, str] | None = None, timeout: float = 240,
    web_port: int | None = None,
) -> Stack:
    """Start both servers (and the web server when `web_port` is given), wait until they
    answer, and return them."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = stack_env(extra_env)
    # The action server (erasure) and tools read this stack's own tracker store.
    env.setdefault("TRACKER_DATABASE_URL", f"sqlite:///{workdir / 'tracker.db'}")
    if web_port:
        env.setdefault("WEBCHAT_ORIGINS", f"http://127.0.0.1:{web_port},http://localhost:{web_port}")
    endpoints_file = stack_endpoints(workdir / "endpoints.yml", action_port, env["TRACKER_DATABASE_URL"],
                                     env.get("REDIS_URL") or None)
    stack = Stack(rasa_port, action_port, token or secrets.token_urlsafe(24), web_port=web_port, env=env,
                  model=model, endpoints=endpoints_file)
    action_log, rasa_log = workdir / "actions.log", workdir / "rasa.log"
    stack.logs = [action_log, rasa_log]
    try:
        # Both start at once (Rasa calls the action server only when a message comes).
        stack.processes.append(start_action_server(action_port, env, action_log))
        stack.processes.append(start_rasa_server(rasa_port, model, endpoints_file, stack.token, env, rasa_log))
        wait_http(f"http://127.0.0.1:{action_port}/health", timeout, stack.processes[0])
        wait_http(f"{stack.rasa_url}/", timeout, stack.processes[1])
        wait_rasa_ready(stack.rasa_url, stack.token, timeout, stack.processes[1])
        if web_port:
            web_log = workdir / "web.log"
            stack.logs.append(web_log)
            stack.processes.append(start_web(web_port, rasa_port, stack.token, env, web_log))
            wait_http(f"{stack.web_url}/health", timeout, stack.processes[-1])
    except Exception:
        stack.stop()
        raise
    return stack


def latest_model(models_dir: Path = PROJECT_ROOT / "models") -> Path:
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise FileNotFoundError(f"no trained model in {models_dir}: run `make model`")
    return models[-1]


def action_server_token(path: Path = VAR_DIR / "action-server.token") -> str:
    """`ACTION_SERVER_TOKEN`, else one generated once and kept in var/ (mode 600), so `make shell`
    and a restarted `bot run` use the same secret as the running action server."""
    configured = os.environ.get("ACTION_SERVER_TOKEN", "").strip()
    return configured or kept_secret(path, 24)


def run_forever(rasa_port: int = 5005, action_port: int = 5055, web_port: int = 8080) -> int:
    """`bot run`: start the assistant in the foreground until Ctrl-C."""
    token = os.environ.get("RASA_TOKEN") or secrets.token_urlsafe(24)
    VAR_DIR.mkdir(exist_ok=True)
    try:
        env = stack_env({"ACTION_SERVER_TOKEN": action_server_token(), "WEBCHAT_SECRET": webchat_secret()})
    except RuntimeError as error:
        print(error, flush=True)
        return 2
    endpoints_file = run_endpoints(VAR_DIR / "endpoints.run.yml", action_port)
    action_log = VAR_DIR / "actions.log"
    interrupt_on_termination()
    procs: list[subprocess.Popen] = []
    try:
        procs.append(start_action_server(action_port, env, action_log))
        wait_http(f"http://127.0.0.1:{action_port}/health", 120, procs[0])
        procs.append(
            subprocess.Popen(
                [
                    str(BIN / "rasa"), "run", "--enable-api", f"--auth-token={token}",
                    "--port", str(rasa_port), "--model", str(latest_model()),
                    "--endpoints", str(endpoints_file), "--credentials", "credentials.yml",
                    "--cors", *webchat_origins(env), "--interface", os.environ.get("RASA_INTERFACE", "127.0.0.1"),
                ],
                cwd=PROJECT_ROOT, env=env,
            )
        )
        wait_rasa_ready(f"http://127.0.0.1:{rasa_port}", token, 300, procs[1])
        procs.append(start_web(web_port, rasa_port, token, env, VAR_DIR / "web.log"))
        wait_http(f"http://127.0.0.1:{web_port}/health", 60, procs[2])
        procs.append(subprocess.Popen(
            [str(BIN / "bot"), "proactive", "run"], cwd=PROJECT_ROOT,
            env={**env, "RASA_URL": f"http://127.0.0.1:{rasa_port}", "RASA_TOKEN": token},
            stdout=(VAR_DIR / "proactive.log").open("ab"), stderr=subprocess.STDOUT,
        ))
        print(how_to_talk(rasa_port, action_port, token, action_log, web_port, env["ACTION_SERVER_TOKEN"]), flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_processes(procs)


def how_to_talk(rasa_port: int, action_port: int, token: str, action_log: Path, web_port: int = 8080,
                action_token: str = "") -> str:
    return f"""
Fjordbil assistant is running.
  Web chat:                           http://localhost:{web_port}/chat   (demo: /chat?session=demo-curated)
  Proactive scheduler log:            {VAR_DIR / "proactive.log"}
  Rasa server (HTTP API, token auth): http://localhost:{rasa_port}
  Action server:                      http://127.0.0.1:{action_port}   (X-Action-Token header required)
  RASA_TOKEN for this run:            {token}
  Action server log (dev one-time codes): {action_log}

Talk to it:
  REST:  curl -s -XPOST http://localhost:{rasa_port}/webhooks/rest/webhook \\
           -H 'Content-Type: application/json' \\
           -d '{{"sender": "demo-respond", "message": "Hei, jeg vil bestille service og dekkskift neste tirsdag"}}'
  Shell: make shell ID=demo-sv
         (in another terminal, while this runs: its own Rasa, this action server)
Demo customers: demo-respond, demo-curated, demo-coach, demo-auto, demo-sv, demo-en.
Stop with Ctrl-C.
"""
