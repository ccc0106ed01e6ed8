"""Privacy rights: what we store about a customer (collect, summary, JSON export) and erasure.

No Rasa import: the actions, the `bot` command and the agent desk all call these functions.
"""

from bot.privacy.collect import FORMAT, collect, export_json, linked_senders
from bot.privacy.erase import ErasureReport, erase, erase_customer, finish_pending
from bot.privacy.summary import summary_text

__all__ = [
    "FORMAT", "ErasureReport", "collect", "erase", "erase_customer", "export_json", "finish_pending",
    "linked_senders", "summary_text",
]
