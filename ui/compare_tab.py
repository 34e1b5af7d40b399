"""Compare tab: evaluate model x strategy configurations on a labelled dataset and compare the runs."""
import tempfile
from itertools import product
from pathlib import Path

import gradio as gr
import pandas as pd
from gradio.context import Context

from data.samples import import_demo
from data.sgd import SERVICES, import_sgd
from router.backends import backend_names
from router.comparison import breakdown, conversation_table, matrix, wrong_turns
from router.evaluation import PROTOCOLS, RunConfig
from router.strategies import DEFAULT_STRATEGY, STRATEGIES
from router.uploads import DATASET_TYPES, check_upload
from ui.compare_figures import invalid_frame, label_heatmap, latency_boxes, point_heatmaps
from ui.errors import shown
from ui.escaping import safe
from ui.services import Services
from ui.tuned_models import tuned_model_picker

RUN_HEADERS = ["id", "dataset", "config", "status", "turns", "turn_accuracy", "created_at"]


def run_title(run: dict, services: Services) -> str:
    """'#id backend/model · strategy · protocol'."""
    return f"#{run['id']} {services.runs.config(run['id']).title}"


def past_runs(services: Services, dataset: str | None) -> list[list]:
    """Rows of the past-runs table."""
    return [[r["id"], r["dataset"], services.runs.config(r["id"]).title, r["status"],
             (r["metrics"] or {}).get("turns"), (r["metrics"] or {}).get("turn_accuracy"),
             r["created_at"]] for r in services.runs.listing(dataset)]


def configs(dataset: str, models: str, backend: str, adapter: str, strategies: list[str],
            protocol: str, limit: float | None) -> list[RunConfig]:
    """Every model x strategy configuration asked for (a blank model line is the embedded one)."""
    names = [m.strip() or None for m in (models or "").splitlines()] or [None]
    return [RunConfig(dataset, strategy, backend, model, (adapter or "").strip() or None, protocol,
                      int(limit) if limit else None)
            for model, strategy in product(dict.fromkeys(names), strategies)]


def write_file(prefix: str, name: str, text: str) -> str:
    """Write `text` to a new temporary file and return its path."""
    path = Path(tempfile.mkdtemp(prefix=prefix)) / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def create_compare_tab(services: Services):
    """Build the Compare tab and bind its events."""
    datasets, runs = services.datasets, services.runs

    def dataset_choice(selected: str | None = None):
        names = datasets.names()
        return gr.update(choices=names, value=selected or (names[-1] if names else None))

    def run_choice(dataset: str | None, selected: list[int] | None = None):
        listed = runs.listing(dataset) if dataset else []
        choices = [(run_title(r, services), r["id"]) for r in listed]
        return gr.update(choices=choices, value=selected or []), past_runs(services, dataset)

    def done_runs(run_ids: list[int]) -> list[dict]:
        chosen = [runs.get(r) for r in run_ids or []]
        return [r for r in chosen if r["metrics"]]

    @shown
    def upload(file, name):
        if not file:
            raise gr.Error("Choose a JSONL file first.")
        checked = check_upload(file, DATASET_TYPES, services.settings.max_upload_mb)
        name = (name or "").strip() or checked.stem
        count = datasets.import_jsonl(name, checked, services.tasks.catalog())
        gr.Info(f"Imported {int(count)} conversations into '{safe(name)}'.")
        return dataset_choice(name)

    @shown
    def sgd(folder, name, limit, taken, size, seed, progress=gr.Progress()):
        name = (name or "").strip() or "sgd"
        count = import_sgd(datasets, name, (folder or "").strip(), int(limit) if limit else None,
                           int(size or 10), int(seed or 0),
                           lambda done, total: progress((done, total), desc="reading dialogues"),
                           taken or SERVICES[0])
        gr.Info(f"Imported {int(count)} SGD dialogues into '{safe(name)}'.")
        return dataset_choice(name)

    @shown
    def demo(name):
        name = (name or "").strip() or "demo"
        gr.Info(f"Imported {int(import_demo(datasets, name))} demo conversations into '{safe(name)}'.")
        return dataset_choice(name)

    @shown
    def launch(dataset, models, backend, adapter, strategies, protocol, limit,
               progress=gr.Progress()):
        if not dataset:
            raise gr.Error("Choose or import a dataset first.")
        if not strategies:
            raise gr.Error("Choose at least one strategy.")
        done = []
        for config in configs(dataset, models, backend, adapter, strategies, protocol, limit):
            router = services.routers.router(config.strategy, config.backend, config.model,
                                             config.adapter)
            step = lambda n, total, t=config.title: progress((n, total), desc=f"{t}: routed turns")
            done.append(runs.execute(config, router, services.tasks.catalog(), step))
        gr.Info(f"Finished {len(done)} run(s).")
        return run_choice(dataset, done)

    @shown
    def show(run_ids, only_disagreements):
        chosen = done_runs(run_ids)
        titled = [(run_title(r, services), r["metrics"]) for r in chosen]
        headers, rows = matrix(titled)
        labels = {title: runs.labels(r["id"]) for (title, _), r in zip(titled, chosen)}
        wrong = wrong_turns(drilled(labels), labels, only_disagreements)
        titles = [t for t, _ in titled]
        by_source = breakdown(titled)
        return (pd.DataFrame(rows, columns=headers), point_heatmaps(titled),
                gr.update(choices=titles, value=titles[0] if titles else None),
                label_heatmap(*titled[0]) if titled else None,
                latency_boxes({title: [p["latency"] for p in runs.predictions(r["id"])]
                               for (title, _), r in zip(titled, chosen)}),
                invalid_frame(titled),
                pd.DataFrame(wrong, columns=["conversation", "turn", "user", "gold", *labels]),
                gr.update(choices=list(dict.fromkeys(w[0] for w in wrong)), value=None),
                pd.DataFrame(by_source[1], columns=by_source[0]))

    def drilled(labels: dict) -> list:
        pks = sorted({pk for preds in labels.values() for pk, _ in preds})
        return [datasets.load(pk) for pk in pks]

    @shown
    def show_labels(run_ids, title):
        chosen = {run_title(r, services): r["metrics"] for r in done_runs(run_ids)}
        return label_heatmap(title, chosen[title]) if title in chosen else None

    @shown
    def show_conversation(run_ids, conversation):
        labels = {run_title(r, services): runs.labels(r["id"]) for r in done_runs(run_ids)}
        conv = next((c for c in drilled(labels) if c.id == conversation), None)
        rows = conversation_table(conv, labels) if conv else []
        return pd.DataFrame(rows, columns=["turn", "role", "message", "gold", *labels])

    @shown
    def delete(dataset, run_ids):
        if not run_ids:
            raise gr.Error("Choose the runs to delete.")
        for run in run_ids:
            runs.delete(run)
        gr.Info(f"Deleted {len(run_ids)} run(s).")
        return run_choice(dataset)

    @shown
    def export(run_ids, kind):
        if not run_ids:
            raise gr.Error("Choose the runs to export.")
        text = runs.export_csv(run_ids) if kind == "csv" else runs.export_json(run_ids)
        return write_file("runs-", f"runs-{'-'.join(str(int(r)) for r in run_ids)}.{kind}", text)

    with gr.Tab("Compare", id="compare") as tab:
        gr.Markdown("Evaluate model x strategy configurations on a labelled dataset "
                    "(DESIGN.md §3 metrics, with the copy baseline), then compare the runs.")
        with gr.Row():
            dataset = gr.Dropdown(label="Dataset", choices=[], allow_custom_value=True, scale=3)
            refresh_btn = gr.Button("Refresh", scale=1)
        with gr.Accordion("Import a dataset", open=False):
            with gr.Row():
                with gr.Column():
                    upload_file = gr.File(label="JSONL conversations (all or nothing)",
                                          file_types=[".jsonl"], type="filepath")
                    upload_name = gr.Textbox(label="Dataset name (default: file name)")
                    upload_btn = gr.Button("Import JSONL")
                with gr.Column():
                    sgd_folder = gr.Textbox(label="Schema-Guided Dialogue folder",
                                            placeholder="/work/shared/sgd/dev")
                    sgd_name = gr.Textbox(label="Dataset name", value="sgd")
                    with gr.Row():
                        sgd_limit = gr.Number(label="Dialogues (0 = all)", value=50, precision=0)
                        sgd_services = gr.Dropdown(list(SERVICES), value=SERVICES[0], label="Services",
                                                   info="mixed: single- and multi-service dialogues in "
                                                        "turn; all: file order")
                        sgd_size = gr.Number(label="Tasks per catalog", value=10, precision=0)
                        sgd_seed = gr.Number(label="Seed", value=0, precision=0)
                    sgd_btn = gr.Button("Import SGD")
                with gr.Column():
                    demo_name = gr.Textbox(label="Dataset name", value="demo")
                    demo_btn = gr.Button("Import the demo dataset")
        with gr.Row():
            models = gr.Textbox(label="Models, one per line (blank: the embedded model)", lines=2)
            backend = gr.Dropdown(label="Backend", choices=backend_names(), value="local")
            adapter = gr.Textbox(services.settings.default_adapter or "",
                                 label="PEFT adapter folder (optional, local only)")
            tuned_model_picker(services, models, adapter)
        with gr.Row():
            strategies = gr.CheckboxGroup(list(STRATEGIES), value=[DEFAULT_STRATEGY], label="Strategies")
            protocol = gr.Radio(list(PROTOCOLS), value=PROTOCOLS[0], label="Current task",
                                info="free: the router's own previous decision, as live; "
                                     "gold: the gold previous label")
            limit = gr.Number(label="Conversations (0 = all)", value=0, precision=0)
            launch_btn = gr.Button("Launch", variant="primary")
        with gr.Row():
            run_pick = gr.Dropdown(label="Runs to compare", multiselect=True, choices=[], scale=4)
            show_btn = gr.Button("Show", scale=1)
        matrix_table = gr.Dataframe(label="Metrics (★ best of each column; copy baseline last)",
                                    interactive=False, wrap=True)
        with gr.Accordion("Per data source and event type", open=False):
            sources_table = gr.Dataframe(interactive=False, wrap=True)
        points_plot = gr.Plot(label="Confusion matrices per point (start, switch, end)")
        with gr.Row():
            with gr.Column():
                label_run = gr.Dropdown(label="Label confusion matrix of", choices=[])
                labels_plot = gr.Plot(label="Label confusion matrix")
            with gr.Column():
                latency_plot = gr.Plot(label="Latency per decision")
                invalid_plot = gr.BarPlot(x="config", y="invalid", label="Invalid outputs")
        with gr.Accordion("Drill down: turns the runs get wrong", open=True):
            only = gr.Checkbox(label="Only the turns where the runs disagree")
            wrong_table = gr.Dataframe(interactive=False, wrap=True)
            conversation = gr.Dropdown(label="Show a conversation", choices=[])
            conversation_view = gr.Dataframe(interactive=False, wrap=True)
        with gr.Accordion("Past runs", open=False):
            runs_table = gr.Dataframe(headers=RUN_HEADERS, interactive=False, wrap=True)
            with gr.Row():
                delete_btn = gr.Button("Delete the chosen runs", variant="stop")
                csv_btn = gr.Button("Export CSV")
                json_btn = gr.Button("Export JSON")
                download = gr.File(label="Export", interactive=False)

    views = [matrix_table, points_plot, label_run, labels_plot, latency_plot, invalid_plot,
             wrong_table, conversation, sources_table]
    refresh_btn.click(dataset_choice, None, dataset, api_name="refresh_datasets")
    tab.select(dataset_choice, dataset, dataset)  # datasets saved or imported elsewhere since
    Context.root_block.load(dataset_choice, None, dataset)  # never in the page served before sign-in
    upload_btn.click(upload, [upload_file, upload_name], dataset, api_name="import_jsonl")
    sgd_btn.click(sgd, [sgd_folder, sgd_name, sgd_limit, sgd_services, sgd_size, sgd_seed], dataset,
                  api_name="import_sgd")
    demo_btn.click(demo, demo_name, dataset, api_name="import_demo")
    dataset.change(run_choice, dataset, [run_pick, runs_table], api_name="list_runs")
    launch_btn.click(launch, [dataset, models, backend, adapter, strategies, protocol, limit],
                     [run_pick, runs_table], api_name="launch").then(
        show, [run_pick, only], views)
    show_btn.click(show, [run_pick, only], views, api_name="show_runs")
    only.change(show, [run_pick, only], views)
    label_run.change(show_labels, [run_pick, label_run], labels_plot)
    conversation.change(show_conversation, [run_pick, conversation], conversation_view,
                        api_name="show_conversation")
    delete_btn.click(delete, [dataset, run_pick], [run_pick, runs_table], api_name="delete_runs")
    csv_btn.click(lambda r: export(r, "csv"), run_pick, download, api_name="export_csv")
    json_btn.click(lambda r: export(r, "json"), run_pick, download, api_name="export_json")
    return dataset_choice, dataset
