"""The connected-strategies engine: which strategy serves a customer, and what to suggest.

- choice:     respond / curated / coach / auto from consent and agreements (rules.yaml)
- facts:      what the engine may know about a customer, by consent
- conditions: the conditions catalog offers can state
- engine:     ranked, explained suggestions
- outcomes:   every offer made and its outcome; acceptance rates for insights
- advice:     seasonal and car-specific advice on request
"""

from bot.strategy.choice import (
    STRATEGIES,
    ConsentFacts,
    StrategyChoice,
    choose_strategy,
    derive_strategy,
)

__all__ = ["STRATEGIES", "ConsentFacts", "StrategyChoice", "choose_strategy", "derive_strategy"]
