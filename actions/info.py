"""Answers from the business's data: prices, opening hours, location, invoices, payment."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SafeAction, customer_id, entity_values, language, latest_text, now
from actions.identity import ask_identity_first
from actions.time_choice import services_for_time
from bot import catalog, i18n
from bot.billing import relevant_invoice
from bot.booking import services_by_code
from bot.db.session import session_scope

PAYING = re.compile(r"\b(?:betal\w*|pay\w*|paid)\b", re.IGNORECASE)


class ActionPrice(SafeAction):
    def name(self) -> str:
        return "action_price"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        with session_scope() as session:
            codes = catalog.recognise_services(
                session, entity_values(tracker, "service_type"), latest_text(tracker)
            )
            # "hva koster det?" while booking or moving: the price of those jobs.
            codes = codes or services_for_time(session, tracker)
            services = services_by_code(session, codes)
            if not services:
                dispatcher.utter_message(response="utter_price_list", price_list=catalog.price_list(session, lang))
                return []
            for service in services:
                dispatcher.utter_message(
                    response="utter_price",
                    service=i18n.sentence_start(catalog.service_name(service, lang)),
                    price=i18n.format_price(service.price_nok, lang),
                    duration=i18n.format_duration(service.duration_min, lang),
                )
        return []


class ActionOpeningHours(SafeAction):
    def name(self) -> str:
        return "action_opening_hours"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        with session_scope() as session:
            hours = catalog.opening_hours(session, language(tracker))
        dispatcher.utter_message(response="utter_opening_hours", hours=hours)
        return []


class ActionLocation(SafeAction):
    def name(self) -> str:
        return "action_location"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        with session_scope() as session:
            info = catalog.location(session, language(tracker))
        dispatcher.utter_message(
            response="utter_location", name=info.name, address=info.address, directions=info.directions
        )
        return []


class ActionInvoice(SafeAction):
    """"Can I pay with Vipps?" needs no identity; "send me the invoice" does."""

    def name(self) -> str:
        return "action_invoice"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        cid = customer_id(tracker)
        # "kan jeg betale med Vipps?" asks how to pay; "vis meg fakturaen min" (where "faktura" is
        # also a payment method) asks for the customer's own invoice.
        methods = entity_values(tracker, "payment_method")
        paying = bool(PAYING.search(latest_text(tracker)))
        asks_payment = bool(methods) and (paying or any(m != "invoice" for m in methods))
        if cid is None and asks_payment:
            with session_scope() as session:
                dispatcher.utter_message(
                    response="utter_payment_options", payment_options=catalog.payment_options(session, lang)
                )
            return []
        if cid is None:
            return ask_identity_first(self.name())
        with session_scope() as session:
            invoice = relevant_invoice(session, cid, now().date())
            options = catalog.payment_options(session, lang)
        if invoice is None:
            dispatcher.utter_message(response="utter_no_invoice")
            if asks_payment:
                dispatcher.utter_message(response="utter_payment_options", payment_options=options)
            return []
        amount = i18n.format_price(invoice.amount_nok, lang)
        if invoice.state == "paid":
            dispatcher.utter_message(response="utter_invoice_paid", number=invoice.number, amount=amount)
        else:
            dispatcher.utter_message(
                response="utter_invoice_overdue" if invoice.state == "overdue" else "utter_invoice_open",
                number=invoice.number, amount=amount,
                due=i18n.format_date(invoice.due_on, lang), payment_options=options,
            )
        return []
