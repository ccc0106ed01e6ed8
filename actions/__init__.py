"""The Rasa action server: thin adapters between the tracker and the core in `bot/`."""

from bot.logfilter import install as _install_log_filter

_install_log_filter()
