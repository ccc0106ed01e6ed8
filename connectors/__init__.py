"""Rasa channels and NLU components; importing them installs the log filter in the Rasa server."""

from bot.logfilter import install as _install_log_filter

_install_log_filter()
