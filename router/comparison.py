"""Comparing runs: the metric matrix with the best of each column marked, and the turns they get wrong."""
from router.conversation import Conversation
from router.evaluation import cases, key
from router.metrics import LOWER_IS_BETTER, name, row

BASELINE = "copy baseline"
BEST = " ★"
Labels = dict[tuple[object, int], str | None]


def matrix(runs: list[tuple[str, dict]]) -> tuple[list[str], list[list]]:
    """Headers and rows (the runs, then the copy baseline); the best run of each column marked ★."""
    if not runs:
        return ["config"], []
    flat = [row(m) for _, m in runs]
    columns = [c for c in flat[0] if c != "turns"]
    best = {c: (min if c in LOWER_IS_BETTER else max)((f[c] for f in flat if f[c] is not None), default=None)
            for c in columns}
    rows = [[title, f["turns"], *(cell(f[c], f[c] is not None and f[c] == best[c] and len(flat) > 1)
                                  for c in columns)]
            for (title, _), f in zip(runs, flat)]
    base = row(runs[0][1]["baseline"])
    rows.append([BASELINE, base["turns"], *(cell(base[c], False) for c in columns)])
    return ["config", "turns", *columns], rows


def cell(value: float | None, best: bool) -> str:
    """A figure with three decimals, marked when it is the best of its column; '-' when unknown."""
    text = "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
    return text + (BEST if best else "")


def wrong_turns(conversations: list[Conversation], runs: dict[str, Labels],
                only_disagreements: bool = False) -> list[list]:
    """Turns some run gets wrong (or, with `only_disagreements`, where the runs disagree)."""
    out = []
    for conv in conversations:
        for position, gold, _ in cases(conv):
            labels = [preds.get((key(conv), position), gold) for preds in runs.values()]
            keep = len(set(labels)) > 1 if only_disagreements else any(label != gold for label in labels)
            if keep:
                out.append([conv.id, position, conv.turns[position].content, name(gold),
                            *(name(label) for label in labels)])
    return out


def conversation_table(conv: Conversation, runs: dict[str, Labels]) -> list[list]:
    """Every turn of a conversation with its gold label and each run's label side by side."""
    gold = dict((position, label) for position, label, _ in cases(conv))
    return [[position, turn.role, turn.content,
             name(gold[position]) if position in gold else "",
             *(mark(preds, (key(conv), position), gold[position]) if position in gold else ""
               for preds in runs.values())]
            for position, turn in enumerate(conv.turns)]


def mark(preds: Labels, turn: tuple[object, int], gold: str | None) -> str:
    """A run's label of a turn, flagged ✗ when it differs from gold, '-' when not routed yet."""
    if turn not in preds:
        return "-"
    return name(preds[turn]) + ("" if preds[turn] == gold else " ✗")


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
        rows += [[scope, metric, *(cell(figures(c).get(metric, 0.0), False) if c else "-" for c in columns)]
                 for metric in names]
    return ["scope", "metric", *(title for title, _ in titled)], rows
