"""The scale setup on one machine: two Rasa instances and two action servers behind nginx,
sharing PostgreSQL (profiles and conversations) and Redis (Rasa's lock store, the web chat's
socket.io messages), with the web server (chat page and desk) and two proactive schedulers
of which the database lock lets one work at a time.

`make run-scale` (`bot run --scale`) starts it in the foreground; `bot bench load` and the
tests start it on free ports. This is the same shape as Rasa's Helm chart on Kubernetes
(see the README): the Rasa and action-server Deployments, their Services in place of
nginx, and managed PostgreSQL and Redis. No Rasa import: everything runs as processes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import PROJECT_ROOT
from bot.endpoints import endpoints, write_endpoints
from bot.runner import (
    BIN,
    start_action_server,
    start_rasa_server,
    start_web,
    stop_processes,
    wait_http,
    wait_rasa_ready,
)
from bot.tracker_events import create_table, tracker_engine

NGINX = "/usr/sbin/nginx"
# How long a Rasa instance that died keeps a conversation's lock in Redis (Rasa's default
# is 60 s): messages of a conversation that was mid-turn on it wait at most this long.
LOCK_LIFETIME_S = 20


@dataclass
class Ports:
    """Where each part listens: the two public ports are nginx's."""

    rasa: int = 5005
    actions: int = 5055
    web: int = 8080
    rasa_instances: tuple[int, ...] = (5015, 5025)
    action_instances: tuple[int, ...] = (5065, 5075)


@dataclass
class ScaleStack:
    """The running processes of the scale setup, by name."""

    ports: Ports
    token: str
    env: dict[str, str]
    workdir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.rasa}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.web}"

    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.processes.items() if proc.poll() is None}

    def kill(self, name: str) -> None:
        """SIGKILL one process, as a crashed machine would lose it."""
        proc = self.processes[name]
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        stop_processes(list(self.processes.values()))


def nginx_config(ports: Ports, workdir: Path) -> str:
    """Round robin (least connections) over the Rasa instances and over the action servers;
    a socket.io session stays on one instance; a request that could not be sent to one
    instance is sent to the other (a POST that reached an instance is never sent twice)."""
    rasa = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in ports.rasa_instances)
    actions = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in ports.action_instances)
    temp = workdir / "nginx-temp"
    proxy = """proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_read_timeout 300s;
      proxy_next_upstream error timeout http_502 http_503;"""
    return f"""# Written by bot/scale.py for this run.
worker_processes 1;
pid {workdir / "nginx.pid"};
error_log {workdir / "nginx-error.log"} warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_max_body_size 1m;
  client_body_buffer_size 1m;
  client_body_temp_path {temp / "body"};
  proxy_temp_path {temp / "proxy"};
  fastcgi_temp_path {temp / "fastcgi"};
  uwsgi_temp_path {temp / "uwsgi"};
  scgi_temp_path {temp / "scgi"};
  map $http_upgrade $connection_upgrade {{ default upgrade; "" close; }}
  upstream rasa {{
    least_conn;
{rasa}
    keepalive 64;
  }}
  upstream rasa_sockets {{
    hash $remote_addr consistent;
{rasa}
  }}
  upstream actions {{
    least_conn;
{actions}
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{ports.rasa};
    location /socket.io/ {{
      proxy_pass http://rasa_sockets;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      {proxy}
    }}
    location / {{
      proxy_pass http://rasa;
      proxy_set_header Connection "";
      {proxy}
    }}
  }}
  server {{
    listen 127.0.0.1:{ports.actions};
    location / {{
      proxy_pass http://actions;
      proxy_set_header Connection "";
      {proxy}
    }}
  }}
}}
"""


def require_nginx() -> str:
    path = shutil.which("nginx") or (NGINX if Path(NGINX).exists() else None)
    if path is None:
        raise RuntimeError("the scale setup needs nginx (Debian: apt-get install nginx; `make run-scale` does it)")
    return path


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of `url` when it does not exist yet."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()


def start_scale(
    model: Path, workdir: Path, env: dict[str, str], token: str, ports: Ports | None = None,
    schedulers: int = 2, timeout: float = 300,
) -> ScaleStack:
    """Start everything (the database must be migrated): action servers, nginx, the Rasa
    instances (in parallel), the web server and the schedulers; wait until each answers."""
    ports = ports or Ports()
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**env, "TICKET_LOCK_LIFETIME": env.get("TICKET_LOCK_LIFETIME") or str(LOCK_LIFETIME_S)}
    env.setdefault("TRACKER_DATABASE_URL", env["DATABASE_URL"])
    # Rasa instances starting together would race to create the tracker table.
    create_table(tracker_engine(env["TRACKER_DATABASE_URL"]))
    stack = ScaleStack(ports, token, env, workdir)
    logs = workdir / "logs"
    logs.mkdir(exist_ok=True)
    try:
        for number, port in enumerate(ports.action_instances, 1):
            stack.processes[f"actions-{number}"] = start_action_server(port, env, logs / f"actions-{number}.log")
        config = workdir / "nginx.conf"
        config.write_text(nginx_config(ports, workdir), encoding="utf-8")
        (workdir / "nginx-temp").mkdir(exist_ok=True)
        stack.processes["nginx"] = subprocess.Popen(
            [require_nginx(), "-c", str(config), "-p", str(workdir), "-g", "daemon off;"],
            stdout=(logs / "nginx.log").open("ab"), stderr=subprocess.STDOUT,
        )
        for number, port in enumerate(ports.action_instances, 1):
            wait_http(f"http://127.0.0.1:{port}/health", timeout, stack.processes[f"actions-{number}"])
        rasa_endpoints = write_endpoints(workdir / "endpoints.yml", endpoints(
            f"http://127.0.0.1:{ports.actions}/webhook", env["TRACKER_DATABASE_URL"], env.get("REDIS_URL"),
        ))
        for number, port in enumerate(ports.rasa_instances, 1):
            stack.processes[f"rasa-{number}"] = start_rasa_server(
                port, model, rasa_endpoints, token, env, logs / f"rasa-{number}.log")
        for number, port in enumerate(ports.rasa_instances, 1):
            wait_rasa_ready(f"http://127.0.0.1:{port}", token, timeout, stack.processes[f"rasa-{number}"])
        wait_http(f"{stack.rasa_url}/status?token={token}", 30, stack.processes["nginx"])
        stack.processes["web"] = start_web(ports.web, ports.rasa, token, env, logs / "web.log")
        wait_http(f"{stack.web_url}/health", 60, stack.processes["web"])
        for number in range(1, schedulers + 1):
            stack.processes[f"scheduler-{number}"] = subprocess.Popen(
                [str(BIN / "bot"), "proactive", "run"], cwd=PROJECT_ROOT,
                env={**env, "RASA_URL": stack.rasa_url, "RASA_TOKEN": token},
                stdout=(logs / f"scheduler-{number}.log").open("ab"), stderr=subprocess.STDOUT,
            )
    except BaseException:   # a failure, or SIGTERM/Ctrl-C while starting: nothing is left running
        stack.stop()
        raise
    return stack


def scale_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment `bot run --scale` needs, with clear errors for what is missing."""
    env = dict(os.environ if env is None else env)
    url = env.get("DATABASE_URL", "")
    if not url.startswith(("postgresql://", "postgres://", "postgresql+")):
        raise RuntimeError("the scale setup needs DATABASE_URL=postgresql://... (make run-scale sets a local one)")
    if not env.get("REDIS_URL", "").startswith(("redis://", "rediss://")):
        raise RuntimeError("the scale setup needs REDIS_URL=redis://... (make run-scale sets a local one)")
    return env


def how_to_use(stack: ScaleStack) -> str:
    ports = stack.ports
    return f"""
Fjordbil assistant, scale setup: {len(ports.rasa_instances)} Rasa instances and {len(ports.action_instances)} \
action servers behind nginx, PostgreSQL, Redis.
  Rasa (through nginx):   {stack.rasa_url}   instances: {", ".join(str(p) for p in ports.rasa_instances)}
  Action servers (nginx): http://127.0.0.1:{ports.actions}   instances: \
{", ".join(str(p) for p in ports.action_instances)}
  Web chat and desk:      http://localhost:{ports.web}/chat   http://localhost:{ports.web}/desk
  RASA_TOKEN for this run: {stack.token}
  Logs: {stack.workdir / "logs"}
Stop with Ctrl-C.
"""


def wait_while_running(stack: ScaleStack) -> int:
    """Block until Ctrl-C or until a process of the setup ends."""
    try:
        while all(proc.poll() is None for proc in stack.processes.values()):
            time.sleep(1)
        ended = [name for name, proc in stack.processes.items() if proc.poll() is not None]
        print(f"stopped: {', '.join(ended)} ended; see {stack.workdir / 'logs'}", flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()


def run_forever(ports: Ports | None = None) -> int:
    """`bot run --scale` (`make run-scale`): migrate and seed PostgreSQL, start everything, wait."""
    import secrets
    from datetime import date

    from bot.config import VAR_DIR
    from bot.db import migrate
    from bot.db.seed import seed_all
    from bot.db.session import session_scope
    from bot.runner import action_server_token, interrupt_on_termination, latest_model, stack_env
    from bot.signing import webchat_secret

    try:
        env = scale_environment()
        require_nginx()
        secret = webchat_secret()
    except RuntimeError as error:
        print(error, flush=True)
        return 2
    url = env["DATABASE_URL"]
    ensure_database(url)
    migrate.upgrade(url)
    with session_scope(url) as session:
        seed_all(session, today=date.today())
    token = env.get("RASA_TOKEN") or secrets.token_urlsafe(24)
    env = stack_env({**env, "ACTION_SERVER_TOKEN": action_server_token(), "WEBCHAT_SECRET": secret})
    interrupt_on_termination()
    try:
        stack = start_scale(latest_model(), VAR_DIR / "scale", env, token, ports)
    except KeyboardInterrupt:
        return 0   # start_scale stopped what it had started
    print(how_to_use(stack), flush=True)
    return wait_while_running(stack)
