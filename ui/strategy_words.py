"""The routing strategies in words, for people reading the pages."""

STRATEGY_TITLES = {"constrained": "plain scoring", "constrained_calibrated": "calibrated scoring",
                   "constrained_lexical": "calibrated scoring + word match", "zero_shot": "zero-shot answer",
                   "few_shot_cot": "worked examples, then answer", "react": "think-act steps"}


def strategy_title(strategy: str) -> str:
    """A strategy's name in words (its id when it has none, e.g. a saved label)."""
    return STRATEGY_TITLES.get(strategy, strategy)
