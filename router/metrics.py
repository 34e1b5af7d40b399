"""The study's metrics (DESIGN.md §3) over routed turns, computed with scikit-learn; None where undefined."""
import warnings
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from router.events import MEASURED, Event, event_between

NONE = "none"


@dataclass(frozen=True)
class Judged:
    """One labelled user turn: gold label, gold previous label and the prediction."""

    conversation: str
    position: int
    source: str
    gold: str | None
    previous: str | None
    predicted: str | None
    valid: bool = True
    latency: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    candidates: tuple[str, ...] | None = None  # the tasks shown to the router; None: the whole catalog

    @property
    def retrieved(self) -> bool:
        """Whether the gold label was among the labels shown to the router (none always is)."""
        return self.gold is None or self.candidates is None or self.gold in self.candidates

    @property
    def gold_event(self) -> Event:
        """The gold event of the turn."""
        return event_between(self.previous, self.gold)

    @property
    def predicted_event(self) -> Event:
        """The predicted event, judged against the gold previous label."""
        return event_between(self.previous, self.predicted)


def name(label: str | None) -> str:
    """A label as a string, none for None."""
    return NONE if label is None else label


def binary(truth: list[bool], guess: list[bool]) -> dict:
    """Confusion matrix, accuracy, precision and recall of a yes/no case (None where there is no case)."""
    if not truth:
        return {"tp": 0, "fp": 0, "fn": 0, "tn": 0, "accuracy": None, "precision": None, "recall": None}
    # scikit-learn takes about a second to import: loaded when metrics are computed, not with the module
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_score, recall_score

    tn, fp, fn, tp = (int(v) for v in confusion_matrix(truth, guess, labels=[False, True]).ravel())
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "accuracy": float(accuracy_score(truth, guess)),
            "precision": defined(precision_score(truth, guess, labels=[False, True], zero_division=np.nan)),
            "recall": defined(recall_score(truth, guess, labels=[False, True], zero_division=np.nan))}


def defined(value: float) -> float | None:
    """A score as a float, None for NaN (scikit-learn's 0/0)."""
    return None if np.isnan(value) else float(value)


def cases_of(point: dict) -> dict[str, tuple[int, int]]:
    """(hits, cases) behind a point's accuracy, precision and recall, from its confusion matrix."""
    tp, fp, fn, tn = (point[k] for k in ("tp", "fp", "fn", "tn"))
    return {"accuracy": (tp + tn, tp + fp + fn + tn), "precision": (tp, tp + fp), "recall": (tp, tp + fn)}


def score(point: dict, metric: str) -> float | None:
    """A point's accuracy, precision or recall; None when it has no case (old runs stored 0.0 there)."""
    if "tp" not in point:  # runs before the counts of none stored only its precision and recall
        return point.get(metric)
    return point[metric] if cases_of(point)[metric][1] else None


def point(turns: list[Judged], event: Event) -> dict:
    """Metrics of one measurement point (start, switch or end)."""
    return binary([t.gold_event is event for t in turns], [t.predicted_event is event for t in turns])


def share(hits: list[bool]) -> float:
    """Share of true values, 0 for an empty list."""
    return float(np.mean(hits)) if hits else 0.0


def latency(turns: list[Judged]) -> dict:
    """p50, p95, mean and max latency in seconds."""
    values = np.array([t.latency for t in turns], dtype=float)
    if not len(values):
        return {"p50": 0.0, "p95": 0.0, "mean": 0.0, "max": 0.0}
    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)),
            "mean": float(values.mean()), "max": float(values.max())}


def tokens(turns: list[Judged]) -> dict:
    """Mean prompt, completion and total tokens per decision."""
    prompt = float(np.mean([t.prompt_tokens for t in turns])) if turns else 0.0
    completion = float(np.mean([t.completion_tokens for t in turns])) if turns else 0.0
    return {"prompt": prompt, "completion": completion, "per_decision": prompt + completion}


def recall_at_k(turns: list[Judged]) -> float:
    """Share of turns with a gold task whose task was a candidate (1.0 when there is none)."""
    tasks = [t.retrieved for t in turns if t.gold is not None]
    return share(tasks) if tasks else 1.0


def label_confusion(turns: list[Judged]) -> tuple[list[str], list[list[int]]]:
    """Labels (none first, then sorted) and the gold x predicted confusion matrix."""
    gold, guess = [name(t.gold) for t in turns], [name(t.predicted) for t in turns]
    labels = [NONE] + sorted(set(gold + guess) - {NONE})
    from sklearn.metrics import confusion_matrix

    with warnings.catch_warnings(action="ignore", category=UserWarning):  # one label: a 1x1 matrix
        matrix = confusion_matrix(gold, guess, labels=labels) if turns else np.zeros((1, 1), int)
    return labels, matrix.astype(int).tolist()


def by_event(turns: list[Judged]) -> dict:
    """Turn count and turn accuracy per gold event type."""
    groups = defaultdict(list)
    for t in turns:
        groups[t.gold_event.value].append(t.predicted == t.gold)
    return {e.value: {"turns": len(groups[e.value]), "turn_accuracy": share(groups[e.value])}
            for e in Event}


def summarize(turns: list[Judged]) -> dict:
    """Every metric of a set of judged turns, as a JSON-ready dict (no per-source breakdown)."""
    selection = [t.predicted == t.gold for t in turns if t.gold_event in (Event.START, Event.SWITCH)]
    labels, matrix = label_confusion(turns)
    invalid = sum(not t.valid for t in turns)
    none = binary([t.gold is None for t in turns], [t.predicted is None for t in turns])
    return {"turns": len(turns),
            "turn_accuracy": share([t.predicted == t.gold for t in turns]),
            "task_selection": share(selection),
            "recall_at_k": recall_at_k(turns),
            "invalid": invalid,
            "invalid_rate": invalid / len(turns) if turns else 0.0,
            "points": {e.value: point(turns, e) for e in MEASURED},
            "none": none,
            "latency": latency(turns),
            "tokens": tokens(turns),
            "labels": labels,
            "label_confusion": matrix,
            "by_event": by_event(turns)}


def metrics(turns: list[Judged]) -> dict:
    """Every metric, with the same metrics per conversation source under `by_source`."""
    sources = defaultdict(list)
    for t in turns:
        sources[t.source].append(t)
    return {**summarize(turns), "by_source": {s: summarize(ts) for s, ts in sorted(sources.items())}}


def copy_baseline(turns: list[Judged]) -> list[Judged]:
    """The same turns predicted by the copy baseline: the gold previous label, instantly."""
    return [Judged(t.conversation, t.position, t.source, t.gold, t.previous, t.previous)
            for t in turns]


def report(turns: list[Judged], failed: int = 0, retries: int = 0) -> dict:
    """Metrics of a run with the copy baseline's under `baseline`, its failed turns and retried requests."""
    return {**metrics(turns), "failed": failed, "retries": retries,
            "baseline": metrics(copy_baseline(turns))}


COSTS = ("p50_s", "p95_s", "mean_s", "max_s", "tokens", "cost_1k")  # what a decision costs: none for the baseline
LOWER_IS_BETTER = ("invalid", "failed", *COSTS)
POINTS = {f"{e}_{short}": (e, metric) for e in ("start", "switch", "end")  # column: (point, metric)
          for short, metric in (("acc", "accuracy"), ("p", "precision"), ("r", "recall"))}
POINTS |= {"none_p": (NONE, "precision"), "none_r": (NONE, "recall")}


def measured(m: dict) -> dict[str, dict]:
    """The confusion matrix and scores of each measurement point and of none, by name."""
    return {**m["points"], NONE: m[NONE]}


def counts(m: dict) -> dict[str, str]:
    """'hits/cases' of each point metric column of `row` whose confusion matrix is stored."""
    points = measured(m)
    return {column: "{}/{}".format(*cases_of(points[e])[metric]) for column, (e, metric) in POINTS.items()
            if "tp" in points[e]}


def row(m: dict) -> dict:
    """The headline figures of a metrics dict, flat, for a table."""
    points = measured(m)
    return {"turns": m["turns"], "turn_accuracy": m["turn_accuracy"],
            "task_selection": m["task_selection"],
            "recall_at_k": m.get("recall_at_k", 1.0),  # runs before the candidate stage saw every task
            **{column: score(points[e], metric) for column, (e, metric) in POINTS.items()},
            "invalid": m["invalid"], "p50_s": m["latency"]["p50"], "p95_s": m["latency"]["p95"],
            "mean_s": m["latency"]["mean"], "max_s": m["latency"]["max"],
            "failed": m.get("failed", 0), "tokens": m.get("tokens", {}).get("per_decision", 0.0),
            "cost_1k": m.get("cost_per_1k")}


def text_table(runs: list[tuple[str, dict]]) -> str:
    """Headline metrics as a text table: one row per metric, one column per (name, metrics)."""
    from tabulate import tabulate

    flat = [row(m) for _, m in runs]
    return tabulate([[metric, *("n/a" if f[metric] is None else f[metric] for f in flat)] for metric in flat[0]],
                    headers=["metric", *(title for title, _ in runs)], floatfmt=".3f")
