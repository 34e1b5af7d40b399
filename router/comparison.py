"""Comparing runs: the metric matrix with the best of each column marked, and the turns they get wrong."""
from router.conversation import Conversation
from router.evaluation import cases, key
from router.events import MEASURED, Event, event_between
from router.metrics import COSTS, LOWER_IS_BETTER, NONE, counts, name, row

BASELINE = "copy baseline"
BEST = " ★"
WRONG = " ✗"
UNDEFINED = "n/a"  # a metric with no case, e.g. switch precision when no switch was predicted
NOT_MEASURED = "–"  # a cost of the copy baseline (it calls no model) or of an unpriced model; no score
Labels = dict[tuple[object, int], str | None]


def matrix(runs: list[tuple[str, dict]]) -> tuple[list[str], list[list]]:
    """Headers and rows (the runs, then the copy baseline); a unique best run of a column marked ★."""
    if not runs:
        return ["config"], []
    flat = [row(m) for _, m in runs]
    base = {**row(runs[0][1]["baseline"]), **dict.fromkeys(COSTS)}
    columns = [c for c in flat[0] if c != "turns"]
    best = {c: unique_best([f[c] for f in flat], base[c], c in LOWER_IS_BETTER) for c in columns}
    shown = [(title, f, counts(m)) for (title, m), f in zip(runs, flat)]
    shown.append((BASELINE, base, counts(runs[0][1]["baseline"])))
    rows = [[title, f["turns"], *(cell(f[c], c, k == best[c], n.get(c)) for c in columns)]
            for k, (title, f, n) in enumerate(shown)]
    return ["config", "turns", *columns], rows


def unique_best(values: list, baseline, lower_is_better: bool) -> int | None:
    """Index of the one best of two or more values; a quality figure must also beat the baseline.

    Costs (latency, tokens, ...) are not held to the baseline, which answers instantly for free.
    """
    known = [v for v in values if v is not None]
    if len(values) < 2 or not known:
        return None
    top = (min if lower_is_better else max)(known)
    beaten = lower_is_better or baseline is None or top > baseline
    return values.index(top) if known.count(top) == 1 and beaten else None


def summary(title: str, m: dict) -> str:
    """One plain sentence: turn accuracy against the copy baseline, and the share of switches missed."""
    run, base = m["turn_accuracy"], m["baseline"]["turn_accuracy"]
    text = f"{title}: turn accuracy {run:.2f} vs copy baseline {base:.2f} ({points(run - base)})"
    switch = m["points"]["switch"]
    switches = switch["tp"] + switch["fn"]
    return text + (f"; misses {switch['fn'] / switches:.0%} of switches" if switches else "")


def points(delta: float) -> str:
    """A difference of two shares in percentage points, signed."""
    return f"{round(100 * delta):+d} points"


def message_number(conv: Conversation, position: int) -> int:
    """The number of the user message at `position`, from 1, as the Chat counts them."""
    return conv.user_indices().index(position) + 1


def cell(value: float | None, column: str, best: bool = False, cases: str | None = None) -> str:
    """A figure with three decimals and its count of cases, marked when it is the best of its column.

    None is 'n/a' for a metric with no case and '–' for a cost not paid (or not priced).
    """
    if value is None:
        return NOT_MEASURED if column in COSTS else UNDEFINED
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    return text + (f" ({cases})" if cases else "") + (BEST if best else "")


def wrong_turns(conversations: list[Conversation], runs: dict[str, Labels],
                only_disagreements: bool = False) -> list[list]:
    """Turns some run gets wrong (or, with `only_disagreements`, where the runs disagree)."""
    out = []
    for conv in conversations:
        for position, gold, _ in cases(conv):
            labels = [preds.get((key(conv), position), gold) for preds in runs.values()]
            keep = len(set(labels)) > 1 if only_disagreements else any(label != gold for label in labels)
            if keep:
                out.append([conv.id, message_number(conv, position), conv.turns[position].content, name(gold),
                            *(flagged(label, gold) for label in labels)])
    return out


def conversation_table(conv: Conversation, runs: dict[str, Labels]) -> list[list]:
    """Every turn of a conversation with its gold label and each run's label side by side."""
    gold = dict((position, label) for position, label, _ in cases(conv))
    return [[message_number(conv, position) if turn.role == "user" else "", turn.role, turn.content,
             name(gold[position]) if position in gold else "",
             *(mark(preds, (key(conv), position), gold[position]) if position in gold else ""
               for preds in runs.values())]
            for position, turn in enumerate(conv.turns)]


def mark(preds: Labels, turn: tuple[object, int], gold: str | None) -> str:
    """A run's label of a turn, flagged ✗ when it differs from gold, '-' when not routed yet."""
    return flagged(preds[turn], gold) if turn in preds else "-"


def flagged(label: str | None, gold: str | None) -> str:
    """A label's name, flagged ✗ when it differs from gold."""
    return name(label) + ("" if label == gold else WRONG)


HEADLINE = ("turns", "turn_accuracy", "task_selection", "start_r", "switch_r", "end_r", "none_r")
OVERALL = "all sources"


def figures(m: dict) -> dict:
    """Headline figures of a metrics dict and the turn accuracy at each gold event type."""
    flat = row(m)
    return {**{k: flat[k] for k in HEADLINE},
            **{f"{e}: turn_accuracy": v["turn_accuracy"] for e, v in m["by_event"].items() if v["turns"]}}


def scoped(m: dict, scope: str) -> dict | None:
    """The metrics of one data source, or of all of them."""
    return m if scope == OVERALL else m.get("by_source", {}).get(scope)


def breakdown(runs: list[tuple[str, dict]]) -> tuple[list[str], list[list]]:
    """Figures overall, per data source and per event type: the runs side by side, then the copy baseline."""
    if not runs:
        return ["scope", "metric"], []
    titled = [*runs, (BASELINE, runs[0][1]["baseline"])]
    rows = []
    for scope in (OVERALL, *runs[0][1].get("by_source", {})):
        columns = [scoped(m, scope) for _, m in titled]
        names = figures(columns[0])
        rows += [[scope, metric, *(cell(figures(c).get(metric), metric) if c else UNDEFINED for c in columns)]
                 for metric in names]
    return ["scope", "metric", *(title for title, _ in titled)], rows


CHOOSING = (Event.START, Event.SWITCH)  # the events that pick a task, which may be the wrong one
Prediction = dict  # a stored prediction: its label, the task it was given (previous) and its scores (or None)


def event_errors(conversations: list[Conversation], predictions: dict[tuple[object, int], Prediction]) -> list[list]:
    """The run's wrong and missed starts, switches and ends, and its starts and switches to the wrong task.

    Each with its turn, message, labels, the task it was on, cause, scores and margin. Events are
    judged against the gold previous label, so live a router still on a task it wrongly chose
    earlier makes a wrong switch at each message: the cause says so ('earlier error').
    """
    out = []
    for conv in conversations:
        for position, gold, previous in cases(conv):
            p = predictions.get((key(conv), position))
            what = p and misjudged(previous, gold, p["label"])
            if what:
                scores = event_scores(p["scores"], p["previous"])
                out.append([conv.id, message_number(conv, position), conv.turns[position].content, what,
                            name(gold), name(p["previous"]), name(p["label"]), cause(p["previous"], previous),
                            *(figure(v) for v in (*scores, margin(*scores)))])
    return out


CARRIED, HERE = "earlier error", "this message"  # the causes of an event error


def cause(given: str | None, previous: str | None) -> str:
    """Whether the router was already on a wrong task (an earlier error carried on) or erred at this message."""
    return HERE if given == previous else CARRIED


def misjudged(previous: str | None, gold: str | None, predicted: str | None) -> str:
    """'missed switch', 'wrong end', ... of a turn's gold and predicted labels from `previous`; '' when right.

    The right start or switch to another task than gold's is a 'wrong task'.
    """
    want, got = event_between(previous, gold), event_between(previous, predicted)
    if want is got:
        return "wrong task" if want in CHOOSING and gold != predicted else ""
    return ", ".join([f"missed {want.value}"] * (want in MEASURED) + [f"wrong {got.value}"] * (got in MEASURED))


def event_scores(scores: dict[str, float] | None, given: str | None) -> tuple[float | None, ...]:
    """Scores of continuing the task the router was given, of the best switch and of ending (None: not scored)."""
    if not scores:
        return None, None, None
    switch = max((v for label, v in scores.items() if label not in (name(given), NONE)), default=None)
    return scores.get(name(given)), switch, scores.get(NONE) if given is not None else None


def margin(stay: float | None, switch: float | None, end: float | None) -> float | None:
    """How far the best leaving event's score is above continuing's (None without scores)."""
    leaving = [v for v in (switch, end) if v is not None]
    return max(leaving) - stay if leaving and stay is not None else None


def figure(value: float | None) -> str:
    """A score with three decimals, '–' when there is none."""
    return NOT_MEASURED if value is None else f"{value:.3f}"
