"""Intent names that several parts of the assistant reason about."""

from __future__ import annotations

# Intents that show, change or delete a customer's data or bookings: the NLU must be sure of
# them (connectors/nlu_fallback.py), and a held-back guess is asked back, not acted on.
GUARDED_INTENTS = ("show_my_data", "delete_my_data", "set_preferences", "cancel_booking", "reschedule_booking")
