"""The metrics' names as a reader says them, and what each one measures (the Compare tab's legend)."""
from ui.escaping import safe

METRICS = {
    "turns": ("turns", "user messages scored"),
    "turn_accuracy": ("turn accuracy", "share of messages after which the active task is the right one"),
    "task_selection": ("task selection", "share of right tasks at the messages where a task starts or switches"),
    "start_acc": ("start accuracy", "share of messages rightly judged as a start or not"),
    "start_p": ("start precision", "share of predicted starts that are starts"),
    "start_r": ("start recall", "share of real starts caught"),
    "switch_acc": ("switch accuracy", "share of messages rightly judged as a switch or not"),
    "switch_p": ("switch precision", "share of predicted switches that are switches"),
    "switch_r": ("switch recall", "share of real switches caught"),
    "end_acc": ("end accuracy", "share of messages rightly judged as an end or not"),
    "end_p": ("end precision", "share of predicted ends that are ends"),
    "end_r": ("end recall", "share of real ends caught"),
    "none_p": ("no-task precision", "share of predicted 'no task' that are right"),
    "none_r": ("no-task recall", "share of messages without a task recognised as such"),
    "recall_at_k": ("candidate recall", "share of messages whose right task was among the retrieved candidates "
                                        "(1 when the whole catalog was shown)"),
    "invalid": ("invalid outputs", "answers naming no task of the catalog (the current task is kept)"),
    "p50_s": ("median latency (s)", "seconds per decision, half of them faster"),
    "p95_s": ("95th pct latency (s)", "seconds per decision, 95% of them faster"),
    "mean_s": ("mean latency (s)", "average seconds per decision"),
    "max_s": ("slowest (s)", "seconds of the slowest decision"),
    "failed": ("failed turns", "messages the backend could not route (left out of the figures)"),
    "tokens": ("tokens per decision", "prompt and answer tokens per routed message"),
    "cost_1k": ("cost per 1,000 decisions",
                "from the prices in ROUTER_PRICES; '–' when unpriced or for the copy baseline"),
}


def spoken(column: str) -> str:
    """A column's reader-facing name; unknown columns as they are."""
    return METRICS[column][0] if column in METRICS else column


BASELINE_MD = ("- **copy baseline**: a router that never changes its mind, keeping the previous message's "
               "right task; a run worth having beats it")
NA_MD = ("- **n/a**: a figure with no case, e.g. switch precision when no switch was predicted; "
         "the counts beside a figure are its hits and cases, e.g. 0.800 (4/5)")
LEGEND_MD = "\n".join([*(f"- **{safe(name)}**: {safe(meaning)}" for name, meaning in METRICS.values()),
                       BASELINE_MD, NA_MD])
