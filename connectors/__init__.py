"""Rasa channels, NLU components and the tracker store; importing them installs the log filter,
the speed-ups (connectors/speedups.py), the graph runner without dask (connectors/graph_runner.py)
and TED's memory of predictions per dialogue state (connectors/policy_cache.py) in the Rasa server."""

from bot.logfilter import install as _install_log_filter

_install_log_filter()

from connectors.speedups import install as _install_speedups  # noqa: E402 - after the log filter

_install_speedups()

from connectors.policy_cache import install as _install_policy_cache  # noqa: E402

_install_policy_cache()

from connectors.graph_runner import install as _install_graph_runner  # noqa: E402

_install_graph_runner()
