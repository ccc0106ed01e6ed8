"""Action server responses are validated as Rasa validates them, without checking the
constant schema against the metaschema on every call (connectors/speedups.py)."""

from __future__ import annotations

import jsonschema
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import connectors  # noqa: F401 - installs the speed-ups, as in the Rasa server
from connectors import speedups

GOOD = {"events": [{"event": "slot", "name": "language", "value": "nb"}], "responses": [{"text": "Hei"}]}
BAD = [{"events": "not a list"}, {"events": [{"name": "no event type"}]}, {"responses": ["not an object"]}]


def action() -> RemoteAction:
    return RemoteAction("action_greet", None)


def rasa_message(result: dict) -> str:
    """The message Rasa's own check gives (jsonschema.validate, then Rasa's hint)."""
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    except ValidationError as error:
        return error.message
    return ""


def test_the_running_server_uses_the_kept_validator():
    assert RemoteAction._validate_action_result is speedups.validate_action_result


def test_valid_responses_pass():
    assert action()._validate_action_result(GOOD) is True


@pytest.mark.parametrize("result", BAD)
def test_invalid_responses_are_refused_with_rasas_error(result):
    with pytest.raises(ValidationError) as refused:
        action()._validate_action_result(result)
    assert refused.value.message.startswith(rasa_message(result))
    assert "Failed to validate Action server response" in refused.value.message


def test_the_schema_is_checked_once_not_per_response(monkeypatch):
    speedups._response_validator.clear()
    checks = []
    cls = jsonschema.validators.validator_for(RemoteAction.action_response_format_spec())
    original = cls.check_schema
    monkeypatch.setattr(cls, "check_schema", classmethod(lambda c, s, *a, **k: (checks.append(1), original(s))[1]))
    for _ in range(50):
        action()._validate_action_result(GOOD)
    assert len(checks) == 1
