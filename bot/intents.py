"""Intent names that several parts of the assistant reason about."""

from __future__ import annotations

# Intents that show, change or delete a customer's data or bookings. A guess of one of them that
# the NLU holds back is asked back ("Do you mean ...?"), not acted on (actions/conversation.py).
PERSONAL_DATA_INTENTS = ("show_my_data", "delete_my_data", "set_preferences", "cancel_booking", "reschedule_booking")
# The NLU must be sure of these (connectors/nlu_fallback.py): the personal-data intents, and the
# yes and no that confirm a booking, a cancellation or an erasure ("kanskje" is not a yes).
GUARDED_INTENTS = (*PERSONAL_DATA_INTENTS, "affirm", "deny")
