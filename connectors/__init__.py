"""Rasa channels, NLU components and the tracker store; importing them installs the log filter
and the speed-ups (connectors/speedups.py) in the Rasa server."""

from bot.logfilter import install as _install_log_filter

_install_log_filter()

from connectors.speedups import install as _install_speedups  # noqa: E402 - after the log filter

_install_speedups()
