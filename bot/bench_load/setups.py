"""The systems a load test runs against, each started on free ports in its own folder:

- `embedded`: our default install (one Rasa, one action server, SQLite, in-process locks);
- `scale`: bot/scale.py (two Rasa instances and two action servers behind nginx, a fresh
  PostgreSQL database, Redis, the web server and two schedulers);
- `starter`: Rasa's own starter bot (`rasa init`), trained once and kept under var/bench/.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.bench_load import database
from bot.config import VAR_DIR
from bot.db.session import get_engine
from bot.runner import BIN, free_port, latest_model, stack_env, start_stack, wait_http
from bot.scale import Ports, start_scale

STARTER_DIR = VAR_DIR / "bench" / "starter"


@dataclass
class Running:
    """A system under load: where to send messages, and how to look inside and stop it."""

    name: str
    url: str
    token: str
    pids: Callable[[], dict[str, int]]
    stop: Callable[[], None]
    db_url: str | None = None          # the profile database (bookings), if ours
    tracker_url: str | None = None     # the tracker store, if ours
    known: int = 0                     # load-0 .. load-(known-1) are known customers
    kill: Callable[[str], None] | None = None
    cleanup: list[Callable[[], None]] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)  # the Rasa instances behind `url`, if several
    web_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)   # the stack's environment (its secrets), if ours

    def close(self) -> None:
        try:
            self.stop()
        finally:
            for step in self.cleanup:
                step()


def embedded(work: Path, customers: int) -> Running:
    """The default install: SQLite files in `work`, one Rasa, one action server."""
    db_url = f"sqlite:///{work / 'profile.db'}"
    known = database.build(db_url, customers)
    stack = start_stack(free_port(), free_port(), latest_model(), work,
                        extra_env={"DATABASE_URL": db_url, "BOT_ENV": "dev"}, timeout=600)
    names = ("actions", "rasa")
    return Running(
        "embedded", stack.rasa_url, stack.token,
        pids=lambda: {n: p.pid for n, p in zip(names, stack.processes, strict=False) if p.poll() is None},
        stop=stack.stop, db_url=db_url, tracker_url=stack.env["TRACKER_DATABASE_URL"], known=known,
    )


def fresh_postgres_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    """A new, empty database on the server of `admin_url`, and the function that drops it."""
    admin = create_engine(admin_url, future=True, isolation_level="AUTOCOMMIT")
    name = f"fjordbil_load_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def scale(work: Path, customers: int, postgres_admin_url: str, redis_url: str) -> Running:
    """bot/scale.py on free ports, with a fresh PostgreSQL database (dropped afterwards)."""
    db_url, drop = fresh_postgres_database(postgres_admin_url)
    try:
        known = database.build(db_url, customers)
        ports = Ports(rasa=free_port(), actions=free_port(), web=free_port(),
                      rasa_instances=(free_port(), free_port()), action_instances=(free_port(), free_port()))
        token = secrets.token_urlsafe(24)
        env = stack_env({"DATABASE_URL": db_url, "REDIS_URL": redis_url, "BOT_ENV": "dev",
                         "WEBCHAT_ORIGINS": f"http://127.0.0.1:{ports.web}"})
        stack = start_scale(latest_model(), work, env, token, ports, timeout=600)
    except Exception:
        drop()
        raise
    return Running(
        "scale", stack.rasa_url, token, pids=stack.pids, stop=stack.stop, db_url=db_url, tracker_url=db_url,
        known=known, kill=stack.kill, cleanup=[drop],
        instances=[f"http://127.0.0.1:{port}" for port in ports.rasa_instances], web_url=stack.web_url,
        env=stack.env,
    )


def starter(work: Path) -> Running:
    """Rasa's starter bot: `rasa init` once into var/bench/starter, then `rasa run` there."""
    if not list((STARTER_DIR / "models").glob("*.tar.gz")):
        shutil.rmtree(STARTER_DIR, ignore_errors=True)
        STARTER_DIR.mkdir(parents=True)  # `rasa init --init-dir` wants the folder to exist
        print("training Rasa's starter bot (rasa init, once) ...", flush=True)
        subprocess.run([str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(STARTER_DIR)],
                       cwd=STARTER_DIR.parent, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                       env=stack_env())
    token, port = secrets.token_urlsafe(24), free_port()
    log = (work / "starter-rasa.log").open("ab")
    proc = subprocess.Popen(
        [str(BIN / "rasa"), "run", "--enable-api", f"--auth-token={token}", "--port", str(port),
         "--model", str(latest_model(STARTER_DIR / "models"))],
        cwd=STARTER_DIR, env=stack_env(), stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/status?token={token}", 600, proc)
    except Exception:
        proc.kill()
        raise

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()

    return Running("starter", url, token, pids=lambda: {"rasa": proc.pid} if proc.poll() is None else {}, stop=stop)


SETUPS = ("embedded", "scale", "starter")

