"""The action server, started as `python -m actions.server` (what `rasa run actions` does,
plus what rasa_sdk 3.6 lacks): it listens on 127.0.0.1 unless told otherwise, and when
`ACTION_SERVER_TOKEN` is set it refuses every request that does not carry the token in the
`X-Action-Token` header (Rasa sends it: `action_endpoint.headers` in endpoints.yml).

Bodies larger than `ACTION_SERVER_MAX_BYTES` (default 32 MB: Rasa sends the whole tracker
with every call, so a long conversation is big) are refused with 413 by Sanic itself.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app, create_argument_parser, create_ssl_context
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Action-Token"
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
OPEN_PATHS = frozenset({"/health"})  # the runner's readiness probe; says nothing but "ok"


def token_guard(token: str):  # type: ignore[no-untyped-def]
    """A request middleware: 401 unless the shared secret is in the header."""
    expected = token.encode()

    async def check(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get(TOKEN_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return response.json({"error": "missing or wrong action server token"}, status=401)
        return None

    return check


async def http_error(request: Request, exception: SanicException) -> HTTPResponse:
    """Sanic's own errors keep their status (rasa_sdk turns every exception into a 500,
    so a too-large body or an unknown path would look like a crash)."""
    return response.json({"error": str(exception)}, status=getattr(exception, "status_code", 500) or 500)


def build_app(actions: str, cors: list[str] | str | None, token: str | None, max_bytes: int) -> Sanic:
    app = create_app(actions, cors_origins=cors)
    app.config.REQUEST_MAX_SIZE = max_bytes
    app.error_handler.add(SanicException, http_error)
    if token:
        app.register_middleware(token_guard(token), "request")
    else:
        log.warning("ACTION_SERVER_TOKEN is not set: the action server accepts any caller that reaches it")
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    return app


def parser() -> argparse.ArgumentParser:
    args = create_argument_parser()
    args.add_argument("--host", default=os.environ.get("ACTION_SERVER_HOST", "127.0.0.1"),
                      help="address to listen on (default 127.0.0.1: only Rasa on this machine)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel, args.logging_config_file
    )
    utils.update_sanic_log_level()
    max_bytes = int(os.environ.get("ACTION_SERVER_MAX_BYTES") or DEFAULT_MAX_BYTES)
    app = build_app(args.actions or "actions", args.cors, os.environ.get("ACTION_SERVER_TOKEN") or None, max_bytes)
    ssl_context = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    log.info("action server on %s://%s:%s", "https" if ssl_context else "http", args.host, args.port)
    app.run(args.host, args.port, ssl=ssl_context, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
