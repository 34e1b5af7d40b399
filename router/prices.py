"""Prices of served models (per million input and output tokens) and what 1,000 decisions cost."""
import json
from dataclasses import dataclass
from pathlib import Path

from router.errors import InputError


class PriceError(InputError):
    """A price table that cannot be read."""


@dataclass(frozen=True)
class Price:
    """Price per million prompt (input) and completion (output) tokens."""

    input: float
    output: float


def load_prices(path: Path | None) -> dict[str, Price]:
    """The price table of a JSON file {model: {"input": per million, "output": per million}} ({} without one)."""
    if path is None:
        return {}
    try:
        table = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise PriceError(f"cannot read the price table: {e}", file=str(path)) from e
    if not isinstance(table, dict):
        raise PriceError("expected an object {model: {input, output}}", file=str(path))
    return {model: price(entry, str(path), model) for model, entry in table.items()}


def price(entry, file: str, model: str) -> Price:
    """One model's price, checked: two non-negative numbers."""
    values = []
    for side in ("input", "output"):
        value = entry.get(side) if isinstance(entry, dict) else None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise PriceError("expected a non-negative number (price per million tokens)",
                             file=file, field=f"{model}.{side}")
        values.append(float(value))
    return Price(*values)


def cost_per_1k(metrics: dict, price: Price) -> float:
    """What 1,000 decisions cost at the run's mean tokens per decision."""
    tokens = metrics.get("tokens", {})
    return 1000 * (tokens.get("prompt", 0.0) * price.input + tokens.get("completion", 0.0) * price.output) / 1e6


def priced(metrics: dict, model: str | None, prices: dict[str, Price]) -> dict:
    """`metrics` with `cost_per_1k` when the price table knows `model`."""
    if model not in prices:
        return metrics
    return {**metrics, "cost_per_1k": cost_per_1k(metrics, prices[model])}
