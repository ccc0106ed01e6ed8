"""What Rasa 3.6 does on every turn that it need not do, taken out.

Rasa checks each action server response with `jsonschema.validate(response, schema)`, and
`validate` first checks the *schema* against JSON Schema's metaschema, every call: under
load (100 simulated customers) that was 46 % of the Rasa server's CPU. The schema is a
constant, so it is checked once and its validator kept; responses are validated exactly as
before, with the same error.

Loading a model, Rasa builds each TensorFlow model (DIET, TED) by training it one step on
one example, then overwrites every weight from the saved model. That step ran as a traced
graph: tracing the training function (gradients, optimizer) took 31 s for DIET and 12 s
for TED of the Rasa server's 53 s start. For prediction the weights are now built by one
eager pass of the training loss (no gradients, no optimizer) and then loaded, with a check
that every weight came from the saved model; predictions are identical and the start takes
about 13 s (as the README says). Prediction still runs as the traced graph it always was.
"""

from __future__ import annotations

import logging
from typing import Any

import tensorflow as tf
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

logger = logging.getLogger(__name__)
_response_validator: list[Any] = []
_rasa_load = RasaModel.load.__func__  # type: ignore[attr-defined]


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


def load_model(
    cls: type[RasaModel],
    model_file_name: str,
    model_data_example: RasaModelData,
    predict_data_example: RasaModelData | None = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    """`RasaModel.load` for prediction, with the weights built by one eager forward pass of
    the training loss instead of a traced training step; fine-tuning, and any model this
    cannot load exactly, take Rasa's own way."""
    if not finetune_mode:
        try:
            return _load_for_prediction(cls, model_file_name, model_data_example, predict_data_example,
                                        *args, **kwargs)
        except Exception:  # noqa: BLE001 - anything unexpected: Rasa's own (slower) way
            logger.warning("fast loading of %s failed; loading it the usual way", cls.__name__, exc_info=True)
    return _rasa_load(cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
                      *args, **kwargs)


def _load_for_prediction(
    cls: type[RasaModel],
    model_file_name: str,
    model_data_example: RasaModelData,
    predict_data_example: RasaModelData | None,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    model.compile(optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)),
                  run_eagerly=config.get(RUN_EAGERLY))
    # The training loss touches every layer, so every weight now exists in its saved size.
    batch, _ = RasaBatchDataGenerator(model_data_example, batch_size=1, shuffle=False)[0]
    model._training = True
    try:
        model.batch_loss(batch)
    finally:
        model._training = None
    status = model.load_weights(model_file_name)
    # Every weight of the model must come from the saved model (else: LoadIncomplete, and
    # Rasa's own way). The optimizer's saved state is left out on purpose: prediction never
    # uses it, and fine-tuning takes Rasa's way.
    try:
        status.assert_existing_objects_matched()
    except AssertionError as unmatched:
        raise LoadIncomplete(str(unmatched)[:500]) from None
    status.expect_partial()
    # Trace the prediction function now, not on a customer's first message.
    if predict_data_example:
        model.run_inference(predict_data_example)
    return model


class LoadIncomplete(RuntimeError):
    """A weight of the model was not in the saved model."""


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    if RasaModel.load.__func__ is not load_model:  # type: ignore[attr-defined]
        RasaModel.load = classmethod(load_model)  # type: ignore[method-assign,assignment]
