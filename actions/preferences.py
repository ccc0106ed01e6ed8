"""Customer control in chat: contact channels, reminders, data sharing and the automatic
service agreement. Each change is explained in one sentence; the agreement needs a yes."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SafeAction, customer_id, entity_values, language, latest_intent, latest_text, now
from actions.identity import ask_identity_first
from actions.privacy import answer_erasure
from actions.proactive import answer_proactive
from actions.suggestions import offer_name, tapped_suggestion
from bot import i18n
from bot.booking import setting
from bot.db.models import Preferences
from bot.db.session import session_scope
from bot.preferences import CHANNELS, Change, apply_change, channel_name, parse_changes
from bot.strategy import derive_strategy, outcomes

# The sentence that explains each change, by (kind, value).
EXPLANATIONS = {
    ("reminders", True): "utter_pref_reminders_on",
    ("reminders", False): "utter_pref_reminders_off",
    ("sharing", "usage"): "utter_pref_sharing_usage",
    ("sharing", "history"): "utter_pref_sharing_history",
    ("sharing", "contact"): "utter_pref_sharing_contact",
    ("auto_service", True): "utter_pref_auto_on",
    ("auto_service", False): "utter_pref_auto_off",
}


def apply_and_explain(
    dispatcher: CollectingDispatcher, cid: int, change: Change, lang: str
) -> list[EventType]:
    """Store the change, say what it means for the customer, and refresh the strategy slot."""
    with session_scope() as session:
        prefs = apply_change(
            session, cid, change, now(), default_agreement=setting(session, "default_agreement", {})  # type: ignore[arg-type]
        )
        strategy = derive_strategy(prefs)
    events: list[EventType] = [SlotSet("strategy", strategy)]
    if change.kind == "channel":
        dispatcher.utter_message(response="utter_preference_channel_set", channel=channel_name(change.value, lang))
    elif change.kind == "channel_off":
        dispatcher.utter_message(response="utter_pref_channel_off", channel=channel_name(change.value, lang))
    elif change.kind == "language":
        events.append(SlotSet("language", change.value))
        dispatcher.utter_message(response=f"utter_pref_language_{change.value}")
    else:
        dispatcher.utter_message(response=EXPLANATIONS[(change.kind, change.value)])
    return events


class ActionSetPreferences(SafeAction):
    def name(self) -> str:
        return "action_set_preferences"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        cid = customer_id(tracker)
        if cid is None:
            return ask_identity_first(self.name())
        lang = language(tracker)
        channels = [c for c in entity_values(tracker, "channel") if c in CHANNELS]
        with session_scope() as session:
            prefs = session.get(Preferences, cid)
            sharing = prefs.data_sharing if prefs else "contact"
            auto_now = bool(prefs and prefs.auto_service)
        changes = parse_changes(latest_text(tracker), lang, channels, sharing)
        if not changes:
            dispatcher.utter_message(response="utter_ask_which_preference")
            return []
        events: list[EventType] = []
        for change in changes:
            if change.kind == "auto_service":
                if bool(change.value) == auto_now:
                    already = "utter_pref_auto_already_on" if auto_now else "utter_pref_auto_already_off"
                    dispatcher.utter_message(response=already)
                    continue
                # A standing agreement lets us act for the customer: ask before changing it.
                dispatcher.utter_message(
                    response="utter_confirm_auto_on" if change.value else "utter_confirm_auto_off",
                    buttons=_yes_no_buttons(lang),
                )
                events.append(SlotSet("pending_preference", change.encode()))
                continue
            events += apply_and_explain(dispatcher, cid, change, lang)
        return events


def _yes_no_buttons(lang: str) -> list[dict[str, str]]:
    yes, no = i18n.yes_no(True, lang).capitalize(), i18n.yes_no(False, lang).capitalize()
    return [{"title": yes, "payload": "/affirm"}, {"title": no, "payload": "/deny"}]


class ActionYesNo(SafeAction):
    """A yes or no outside a form: confirms a pending change, answers a tapped suggestion,
    or else asks what the customer would like."""

    def name(self) -> str:
        return "action_yes_no"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        yes = latest_intent(tracker) == "affirm"
        cid, lang = customer_id(tracker), language(tracker)
        erasure = answer_erasure(dispatcher, tracker, yes)
        if erasure is not None:
            return erasure
        answered = answer_proactive(dispatcher, tracker, yes)
        if answered is not None:
            return answered
        pending = Change.decode(tracker.get_slot("pending_preference"))
        if pending is not None and cid is not None:
            events: list[EventType] = [SlotSet("pending_preference", None)]
            if not yes:
                dispatcher.utter_message(response="utter_pref_unchanged")
                return events
            return events + apply_and_explain(dispatcher, cid, pending, lang)
        tapped = tapped_suggestion(tracker)
        if tapped is not None and cid is not None:
            with session_scope() as session:
                row = outcomes.decide(session, tapped, cid, yes, now())
                name = offer_name(session, row.offer_code, lang) if row else None
            if name:
                dispatcher.utter_message(response="utter_suggestion_noted", offer=i18n.in_sentence(name))
        dispatcher.utter_message(response="utter_anything_else")
        return []
