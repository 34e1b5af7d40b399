"""What the Compare tab does, as functions of the services and plain values (no gradio here)."""
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product

import pandas as pd

from data.runs import config_of
from data.samples import import_demo
from data.sgd import import_sgd
from router.comparison import CARRIED, WRONG, breakdown, conversation_table, event_errors, matrix, summary, wrong_turns
from router.metrics import row
from router.embedded import EMBEDDED
from router.evaluation import Progress, RunConfig
from router.prices import load_prices, priced
from router.settings import Settings
from router.uploads import DATASET_TYPES, check_upload
from services import Services
from ui.compare_figures import invalid_bars, label_heatmap, latency_boxes, point_heatmaps
from ui.errors import Refused
from ui.escaping import hover_md, safe
from ui.files import write_file
from ui.metric_names import spoken
from ui.strategy_words import run_words

RUN_HEADERS = ["✓", "id", "dataset", "run", "status", "turns", "turn accuracy", "created at", "details"]
QUEUE_HEADERS = ["id", "dataset", "run", "status", "routed", "failed", "turn accuracy",
                 "tokens per decision", "error"]
WRONG_HEADERS = ["conversation", "message", "user", "gold"]  # then each run's label
VIEW_HEADERS = ["message", "role", "text", "gold"]
EVENT_HEADERS = ["conversation", "message", "user", "error", "gold", "router was on", "predicted", "cause",
                 "continue score", "switch score", "end score", "margin"]
DIGITS = 3  # of the figures in the run tables
WRONG_STYLE = "background-color: #fde2e2; color: #9b1c1c"  # a prediction that differs from gold
SELECTED_STYLE = "background-color: #dcfce7; font-weight: 600"  # a past run selected for Delete and Export


@dataclass
class ComparePage:
    """The Compare tab's page state: the runs on show (their ids, done ones only)."""

    runs: list[int] = field(default_factory=list)


@dataclass
class Comparison:
    """Everything the Compare tab shows about a set of finished runs."""

    runs: list[int]
    summary_md: str
    table: pd.DataFrame
    points: object
    titles: list[str]
    labels: object
    latency: object
    invalid: object
    events: pd.DataFrame
    causes_md: str
    wrong: pd.DataFrame
    conversations: list[str]
    sources: pd.DataFrame


def run_title(run: dict) -> str:
    """'#id' and the run in words, e.g. '#3 embedded model + shipped adapter, calibrated scoring, live'."""
    return f"#{run['id']} {run_words(config_of(run))}"


def run_details(run: dict) -> str:
    """'#id backend/model+adapter · strategy · protocol', the technical name."""
    return f"#{run['id']} {config_of(run).title}"


def run_choices(services: Services, dataset: str | None) -> list[tuple[str, int]]:
    """(title, id) of the runs of `dataset`, newest first."""
    return [(run_title(r), r["id"]) for r in services.runs.listing(dataset)] if dataset else []


def past_runs(services: Services, dataset: str | None, selected: list[int] | None = None) -> list[list]:
    """Rows of the past-runs table, the selected runs marked ✓."""
    return [["✓" if r["id"] in (selected or []) else "", r["id"], r["dataset"], run_words(config_of(r)), r["status"],
             (r["metrics"] or {}).get("turns"), rounded((r["metrics"] or {}).get("turn_accuracy")), r["created_at"],
             run_details(r)]
            for r in (services.runs.listing(dataset) if dataset else [])]


def rounded(value: float | None) -> float | None:
    """A figure rounded for a table; None stays unknown."""
    return None if value is None else round(value, DIGITS)


def configs(settings: Settings, dataset: str | None, models: str, backend: str, adapter: str,
            strategies: list[str] | None, protocol: str, limit: float | None) -> list[RunConfig]:
    """Every model x strategy configuration asked for (a blank model line is the embedded one).

    A blank adapter is the default router's (`Settings.adapter_for`), as on the command line.
    """
    if not dataset:
        raise Refused("Choose or import a dataset first.", "dataset")
    if not strategies:
        raise Refused("Choose at least one strategy.", "strategies")
    names = [m.strip() or None for m in (models or "").splitlines()] or [None]
    return [RunConfig(dataset, strategy, backend, model, settings.adapter_for(backend, model, adapter), protocol,
                      int(limit) if limit else None)
            for model, strategy in product(dict.fromkeys(names), strategies)]


def import_file(services: Services, file: str | None, name: str | None) -> tuple[str, str]:
    """Import a JSONL upload as a dataset; return its name and what was done."""
    if not file:
        raise Refused("Choose a JSONL file first.", "upload_file")
    checked = check_upload(file, DATASET_TYPES, services.settings.max_upload_mb)
    name = (name or "").strip() or checked.stem
    count = services.datasets.import_jsonl(name, checked, services.tasks.catalog())
    return name, f"Imported {int(count)} conversations into '{safe(name)}'."


def import_sgd_folder(services: Services, folder: str | None, name: str | None, limit: float | None,
                      taken: str, size: float | None, seed: float | None,
                      progress: Progress | None = None) -> tuple[str, str]:
    """Import Schema-Guided Dialogue files as a dataset; return its name and what was done."""
    name = (name or "").strip() or "sgd"
    count = import_sgd(services.datasets, name, (folder or "").strip(), int(limit) if limit else None,
                       int(size or 10), int(seed or 0), progress, taken)
    return name, f"Imported {int(count)} SGD dialogues into '{safe(name)}'."


def import_demo_set(services: Services, name: str | None) -> tuple[str, str]:
    """Import the demo dataset; return its name and what was done."""
    name = (name or "").strip() or "demo"
    count = import_demo(services.datasets, name)
    return name, f"Imported {int(count)} demo conversations into '{safe(name)}'."


def launch(services: Services, dataset: str | None, models: str, backend: str, adapter: str,
           strategies: list[str] | None, protocol: str, limit: float | None,
           steps: Callable[[RunConfig], Progress | None] = lambda config: None) -> list[int]:
    """Evaluate every model x strategy asked for on `dataset`, in turn; the new runs' ids.

    `steps(config)` gives the progress callback of each run.
    """
    done = []
    for config in configs(services.settings, dataset, models, backend, adapter, strategies, protocol, limit):
        router = services.routers.router(config.strategy, config.backend, config.model, config.adapter)
        done.append(services.runs.execute(config, router, services.tasks.catalog(), steps(config)))
    return done


def queued_runs(services: Services) -> list[list]:
    """Rows of the run queue table: status, progress and, once done, the headline figures."""
    rows = []
    for r in services.queue.listing():
        m = r["metrics"] or {}
        rows.append([r["id"], r["dataset"], run_words(config_of(r)), r["status"],
                     f"{r['routed'] or 0}/{r['total'] or '?'}", m.get("failed"),
                     rounded(m.get("turn_accuracy")), rounded(m.get("tokens", {}).get("per_decision")),
                     r["error"] or ""])
    return rows


def enqueue(services: Services, dataset: str | None, models: str, backend: str, adapter: str,
            strategies: list[str] | None, protocol: str, limit: float | None,
            concurrency: float | None) -> str:
    """Queue every model x strategy asked for on `dataset` for the background worker; what was done."""
    queued = [services.queue.submit(c, int(concurrency) if concurrency else None)
              for c in configs(services.settings, dataset, models, backend, adapter, strategies, protocol, limit)]
    return f"Queued {len(queued)} run(s); they go on while the page is closed."


def finished(services: Services, run_ids: list[int] | None) -> list[dict]:
    """The runs among `run_ids` that have metrics, in that order."""
    chosen = services.runs.many(list(run_ids or []))
    return [r for r in chosen if r["metrics"]]


def predicted(services: Services, runs: list[dict]) -> dict[str, dict]:
    """Each run's predicted labels by turn, under its title."""
    return {run_title(r): services.runs.labels(r["id"]) for r in runs}


def drilled(services: Services, labels: dict) -> list:
    """The conversations the runs routed."""
    return [services.datasets.load(pk) for pk in sorted({pk for p in labels.values() for pk, _ in p})]


def compare(services: Services, run_ids: list[int] | None, only_disagreements: bool) -> Comparison:
    """The metric table, figures and drill-down of the finished runs among `run_ids`."""
    runs = finished(services, run_ids)
    titled = titled_metrics(services, runs)
    labels = predicted(services, runs)
    wrong = wrong_turns(drilled(services, labels), labels, only_disagreements)
    by_source = breakdown(titled)
    errors = errors_table(services, runs[0] if runs else None)
    sentences_md = "  \n".join(hover_md(summary(t, m), run_details(r)) for r, (t, m) in zip(runs, titled))
    return Comparison(
        [r["id"] for r in runs], sentences_md,
        by_metric(*matrix(titled)), point_heatmaps(titled), [t for t, _ in titled],
        label_heatmap(*titled[0]) if titled else None,
        latency_boxes({run_title(r): [p["latency"] for p in services.runs.predictions(r["id"])]
                       for r in runs}),
        invalid_bars(titled, [run_details(r) for r in runs]), errors, causes_md(errors),
        pd.DataFrame(wrong, columns=[*WRONG_HEADERS, *labels]),
        list(dict.fromkeys(w[0] for w in wrong)), pd.DataFrame(by_source[1], columns=by_source[0]))


def by_metric(headers: list[str], rows: list[list]) -> pd.DataFrame:
    """The metric matrix turned: one row per metric, named in words; one column per run, the copy baseline last."""
    return pd.DataFrame({"metric": [spoken(h) for h in headers[1:]], **{r[0]: r[1:] for r in rows}}, dtype=object)


def titled_metrics(services: Services, runs: list[dict]) -> list[tuple[str, dict]]:
    """Each run's title and metrics, priced from ROUTER_PRICES."""
    prices = load_prices(services.settings.prices_path)
    return [(run_title(r), priced(r["metrics"], r["model"] or EMBEDDED, prices)) for r in runs]


def metrics_csv(services: Services, run_ids: list[int]) -> str:
    """The metrics of the finished runs among `run_ids` as CSV: one row per run, columns as a reader says them."""
    flat = [(title, row(m)) for title, m in titled_metrics(services, finished(services, run_ids))]
    columns = list(flat[0][1]) if flat else []
    table = pd.DataFrame([[title, *f.values()] for title, f in flat], columns=["run", *columns])
    return table.rename(columns=spoken).to_csv(index=False)


def highlighted(table: pd.DataFrame):
    """The table with its wrong predictions (flagged ✗) highlighted, for display."""
    return table.style.map(lambda value: WRONG_STYLE if str(value).endswith(WRONG) else "")


def looked_into(services: Services, run_ids: list[int] | None,
                title: str | None) -> tuple[object, pd.DataFrame, str]:
    """The label confusion matrix, event errors and their causes of the shown run titled `title` (None if not shown)."""
    run = next((r for r in finished(services, run_ids) if run_title(r) == title), None)
    errors = errors_table(services, run)
    return (label_heatmap(title, run["metrics"]) if run else None), errors, causes_md(errors)


def causes_md(errors: pd.DataFrame) -> str:
    """How many of the event errors came from an earlier wrong task carried on, and what that means, as Markdown."""
    if errors.empty:
        return ""
    carried = (errors["cause"] == CARRIED).sum()
    return (f"**{int(carried)} of {len(errors)}** event errors came while the router was already on a wrong task "
            f"(cause '{safe(CARRIED)}': a wrong start or switch earlier, carried on; each such message counts as a "
            f"wrong switch), **{int(len(errors) - carried)}** at the message itself. Many earlier errors: look "
            f"first at the rows at the message itself that chose a task ('wrong task', 'wrong start', 'wrong switch').")


def errors_table(services: Services, run: dict | None) -> pd.DataFrame:
    """The event errors of `run` (router.comparison.event_errors), with the scores of continue, switch and end."""
    stored = services.runs.predictions(run["id"]) if run else []
    predictions = {(p["conversation_id"], p["position"]): {**p, "scores": json.loads(p["scores"] or "null")}
                   for p in stored if p["error"] is None}
    return pd.DataFrame(event_errors(drilled(services, {"run": predictions}), predictions), columns=EVENT_HEADERS)


def conversation_view(services: Services, run_ids: list[int] | None,
                      conversation: str | None) -> pd.DataFrame:
    """Every turn of one routed conversation with gold and each run's label."""
    labels = predicted(services, finished(services, run_ids))
    conv = next((c for c in drilled(services, labels) if c.id == conversation), None)
    rows = conversation_table(conv, labels) if conv else []
    return pd.DataFrame(rows, columns=[*VIEW_HEADERS, *labels])


def delete(services: Services, run_ids: list[int] | None) -> str:
    """Delete the selected runs; say which."""
    if not run_ids:
        raise Refused("Select the runs to delete: click them in Past runs.", "past_runs")
    names = named(services, run_ids)
    for run in run_ids:
        services.runs.delete(run)
    return f"Deleted {names}."


EXPORTS = {  # kind: file name, suffix, the text of the runs
    "csv": ("predictions", "csv", lambda services, ids: services.runs.export_csv(ids)),
    "json": ("runs", "json", lambda services, ids: services.runs.export_json(ids)),
    "metrics": ("metrics", "csv", metrics_csv)}


def export(services: Services, run_ids: list[int] | None, kind: str) -> str:
    """Write the runs' predictions (csv), the runs (json) or their metrics table (metrics) to a new file."""
    if not run_ids:
        raise Refused("Select the runs to export: click them in Past runs.", "past_runs")
    what, suffix, text = EXPORTS[kind]
    return write_file("runs-", f"{what}-{'-'.join(str(int(r)) for r in run_ids)}.{suffix}", text(services, run_ids))


def to_compare(selected: list[int] | None) -> list[int]:
    """The selected runs, as the runs to compare."""
    if not selected:
        raise Refused("Select the runs to compare: click them in Past runs.", "past_runs")
    return list(selected)


NONE_SELECTED = "Selected: none. Click past runs to select them (a second click unselects one)."


def named(services: Services, run_ids: list[int]) -> str:
    """The runs' titles, escaped, in one line."""
    return "; ".join(safe(run_title(r)) for r in services.runs.many(list(run_ids)))


def toggled(selected: list[int] | None, run_id: int) -> list[int]:
    """The selection with `run_id` added, or taken out if it was in."""
    chosen = list(selected or [])
    return [r for r in chosen if r != run_id] if run_id in chosen else [*chosen, run_id]


def marked(rows: list[list]):
    """The past-runs rows as a table, the selected ones (✓) highlighted, for display."""
    table = pd.DataFrame(rows, columns=RUN_HEADERS, dtype=object)  # a missing figure stays None, not NaN
    styled = table.style.format(precision=DIGITS, na_rep="")
    return styled.apply(lambda row: [SELECTED_STYLE if row.iloc[0] else ""] * len(row), axis=1)


def selection(services: Services, dataset: str | None, selected: list[int]) -> tuple[list[int], object, str]:
    """The selected runs, the past-runs table that marks them ✓ and highlights them, and the line that names them."""
    line = f"Selected: {named(services, selected)}." if selected else NONE_SELECTED
    return selected, marked(past_runs(services, dataset, selected)), line
