"""Invoices as the customer sees them: the one that matters most right now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Invoice


@dataclass(frozen=True)
class InvoiceView:
    number: str
    amount_nok: int
    due_on: date
    state: str  # "open" | "overdue" | "paid"


def relevant_invoice(session: Session, customer_id: int, today: date) -> InvoiceView | None:
    """An overdue invoice first, then the open one due soonest, else the last paid one."""
    invoices = (
        session.execute(select(Invoice).filter_by(customer_id=customer_id).order_by(Invoice.issued_on.desc()))
        .scalars()
        .all()
    )
    if not invoices:
        return None
    unpaid = sorted((i for i in invoices if i.status != "paid"), key=lambda i: i.due_on)
    if unpaid:
        first = unpaid[0]
        return InvoiceView(first.number, first.amount_nok, first.due_on,
                           "overdue" if first.due_on < today else "open")
    last = invoices[0]
    return InvoiceView(last.number, last.amount_nok, last.due_on, "paid")
