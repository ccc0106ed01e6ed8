"""Suggestions in chat: offer one with a tap to accept or decline, record the answer, and
say why it was suggested. The offers, reasons and prices come from bot/strategy."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SafeAction, channel, customer_id, entity_values, language, now
from bot import i18n
from bot.db.models import Offer, Suggestion
from bot.db.session import session_scope
from bot.strategy import outcomes
from bot.strategy.engine import Suggestion as Proposed


def answer_buttons(lang: str, suggestion_id: int) -> list[dict[str, str]]:
    yes, no = i18n.offer_buttons(lang)
    return [
        {"title": yes, "payload": '/affirm{"suggestion":"' + str(suggestion_id) + '"}'},
        {"title": no, "payload": '/deny{"suggestion":"' + str(suggestion_id) + '"}'},
    ]


def store_offer(
    session: Any, tracker: Tracker, cid: int, proposed: Proposed, context: str, strategy: str
) -> Suggestion:
    return outcomes.record_offered(
        session, cid, proposed.offer_code, context,
        strategy=strategy, channel=channel(tracker), lang=language(tracker),
        reason=proposed.reason, data_used=list(proposed.data_used), price_nok=proposed.price_nok, now=now(),
    )


def offer_name(session: Any, offer_code: str, lang: str) -> str:
    offer = session.get(Offer, offer_code)
    return ((offer.names or {}).get(lang) if offer else None) or offer_code


def tapped_suggestion(tracker: Tracker) -> int | None:
    """The suggestion id carried by a tapped button, if any."""
    for value in entity_values(tracker, "suggestion"):
        try:
            return int(value)
        except ValueError:
            continue
    return None


class ActionExplainSuggestion(SafeAction):
    """ "Why did you suggest that?": the stored reason and the data it was based on."""

    def name(self) -> str:
        return "action_explain_suggestion"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        cid, lang = customer_id(tracker), language(tracker)
        row = None
        if cid is not None:
            with session_scope() as session:
                row = outcomes.last_offered(session, cid)
                if row is not None:
                    name = i18n.in_sentence(offer_name(session, row.offer_code, lang))
                    reason, data = row.reason, i18n.data_used_text(list(row.data_used or []), lang)
        if row is None:
            dispatcher.utter_message(response="utter_no_suggestion_to_explain")
            return []
        dispatcher.utter_message(response="utter_explain_suggestion", offer=name, reason=reason, data=data)
        return []
