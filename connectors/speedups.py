"""What Rasa 3.6 does on every turn that it need not do, taken out.

Rasa checks each action server response with `jsonschema.validate(response, schema)`, and
`validate` first checks the *schema* against JSON Schema's metaschema, every call: under
load (100 simulated customers) that was 46 % of the Rasa server's CPU. The schema is a
constant, so it is checked once and its validator kept; responses are validated exactly as
before, with the same error.
"""

from __future__ import annotations

from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_response_validator: list[Any] = []


def response_validator() -> Any:
    """The validator of action server responses (the schema checked the first time only)."""
    if not _response_validator:
        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        _response_validator.append(cls(schema))
    return _response_validator[0]


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result`, with the kept validator."""
    error = best_match(response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
