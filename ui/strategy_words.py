"""The routing strategies and runs in words, for people reading the pages."""
from pathlib import Path

from router.embedded import SHIPPED_ADAPTER
from router.evaluation import RunConfig
from ui.escaping import safe

STRATEGY_TITLES = {"constrained": "plain scoring", "constrained_calibrated": "calibrated scoring",
                   "constrained_lexical": "calibrated scoring + word match", "zero_shot": "zero-shot answer",
                   "few_shot_cot": "worked examples, then answer", "react": "think-act steps"}
STRATEGY_LINES = {  # what each strategy does, in one line
    "constrained": "the model scores every task and 'no task'; the most probable wins, never an invalid answer",
    "constrained_calibrated": "plain scoring corrected for the model's bias towards some tasks, "
                              "measured on a content-free message",
    "constrained_lexical": "calibrated scoring, then tasks whose words match the message weigh more (the default)",
    "zero_shot": "the model names the task in free text; an answer naming no task is invalid",
    "few_shot_cot": "worked examples with their reasoning, then the model reasons and names the task",
    "react": "the model thinks and acts in steps until it names the task"}
PROTOCOL_WORDS = {"free": "live", "gold": "given the right previous task"}


def strategy_title(strategy: str) -> str:
    """A strategy's name in words (its id when it has none, e.g. a saved label)."""
    return STRATEGY_TITLES.get(strategy, strategy)


def strategies_md(strategies: list[str]) -> str:
    """One line per strategy: its id, its name in words and what it does."""
    return "\n".join(f"- **{safe(s)}** ({safe(strategy_title(s))}): {safe(STRATEGY_LINES.get(s, ''))}"
                     for s in strategies)


def model_words(config: RunConfig) -> str:
    """The model of a run in words: the embedded one or a named one and where it runs, and its adapter."""
    model = "embedded model" if config.model is None else f"{config.model} ({config.backend})"
    if not config.adapter:
        return model
    shipped = Path(config.adapter).resolve() == SHIPPED_ADAPTER
    return f"{model} + {'shipped adapter' if shipped else f'adapter {Path(config.adapter).name}'}"


def run_words(config: RunConfig) -> str:
    """A run's configuration in words, e.g. 'embedded model + shipped adapter, calibrated scoring, live'."""
    return f"{model_words(config)}, {strategy_title(config.strategy)}, " \
           f"{PROTOCOL_WORDS.get(config.protocol, config.protocol)}"
