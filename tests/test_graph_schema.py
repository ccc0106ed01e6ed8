"""The model's graph, with our patches installed as the Rasa server installs them, passes Rasa's
own schema validation: what `rasa train` checks before it trains anything. A patched method whose
signature Rasa cannot read (connectors/policy_cache.py once had one) fails here in seconds, not
after a fresh clone's `make model`."""

from __future__ import annotations

from rasa.engine.recipes.recipe import Recipe
from rasa.engine.validation import validate
from rasa.shared.data import TrainingType
from rasa.shared.importers.importer import TrainingDataImporter

import connectors  # noqa: F401 - installs the speed-ups and TED's memory, as in the Rasa server
from bot.config import PROJECT_ROOT


def test_the_models_graph_passes_rasas_schema_validation_with_our_patches():
    importer = TrainingDataImporter.load_from_config(
        str(PROJECT_ROOT / "config.yml"), str(PROJECT_ROOT / "domain.yml"), [str(PROJECT_ROOT / "data")])
    config = importer.get_config()
    recipe = Recipe.recipe_for_name(config.get("recipe"))
    for training_type in (TrainingType.BOTH, TrainingType.NLU, TrainingType.CORE):
        validate(recipe.graph_config_for_recipe(config, {}, training_type=training_type))
