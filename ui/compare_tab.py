"""Compare tab: its layout, and its events bound to the actions of ui.compare_actions."""
from functools import partial
from types import SimpleNamespace

import gradio as gr

from data.sgd import SERVICES
from router.backends import backend_names
from router.evaluation import PROTOCOLS
from router.strategies import DEFAULT_STRATEGY, STRATEGIES
from services import Services
from ui import compare_actions as act
from ui.compare_actions import EVENT_HEADERS, QUEUE_HEADERS, RUN_HEADERS, VIEW_HEADERS, WRONG_HEADERS, ComparePage
from ui.errors import noted
from ui.metric_names import LEGEND_MD
from ui.strategy_words import strategies_md
from ui.wiring import Loader, bound
from ui.tuned_models import tuned_model_picker


def dataset_choice(services: Services, selected: str | None = None):
    """The dataset picker's choices, `selected` (or the newest) chosen."""
    names = services.datasets.names()
    return gr.update(choices=names, value=selected or (names[-1] if names else None))


def run_choice(services: Services, dataset: str | None, chosen: list[int] | None = None):
    """The run picker of `dataset` (`chosen` chosen), the past-runs rows and an empty selection of them."""
    return (gr.update(choices=act.run_choices(services, dataset), value=chosen or []),
            *act.selection(services, dataset, []))


def announced(services: Services, imported: tuple[str, str]):
    """What an import did, beside its buttons, and its dataset chosen."""
    name, message = imported
    return message, dataset_choice(services, name)


@noted(keep=1)
def upload(services: Services, file, name):
    """Import a JSONL upload."""
    return announced(services, act.import_file(services, file, name))


@noted(keep=1)
def sgd(services: Services, folder, name, limit, taken, size, seed, progress=gr.Progress()):
    """Import SGD dialogues from a folder."""
    step = lambda done, total: progress((done, total), desc="reading dialogues")  # noqa: E731
    return announced(services, act.import_sgd_folder(services, folder, name, limit, taken or SERVICES[0],
                                                     size, seed, step))


@noted(keep=1)
def demo(services: Services, name):
    """Import the demo dataset."""
    return announced(services, act.import_demo_set(services, name))


@noted(keep=4)
def launch(services: Services, dataset, models, backend, adapter, strategies, protocol, limit,
           progress=gr.Progress()):
    """Evaluate the configurations asked for; choose the new runs."""
    steps = lambda c: lambda n, total: progress((n, total), desc=f"{c.title}: routed turns")  # noqa: E731
    done = act.launch(services, dataset, models, backend, adapter, strategies, protocol, limit, steps)
    return f"Finished {len(done)} run(s).", *run_choice(services, dataset, done)


@noted(keep=1)
def enqueue(services: Services, dataset, models, backend, adapter, strategies, protocol, limit, concurrency):
    """Queue the configurations asked for; what was done and the queue's rows."""
    return (act.enqueue(services, dataset, models, backend, adapter, strategies, protocol, limit, concurrency),
            act.queued_runs(services))


@noted(keep=13)
def show(services: Services, run_ids, only_disagreements):
    """Compare the chosen runs; they become the page's shown runs."""
    c = act.compare(services, run_ids, only_disagreements)
    return ("", c.summary_md, metric_table(c.table), c.points,
            gr.update(choices=c.titles, value=c.titles[0] if c.titles else None), c.labels, event_table(c.events),
            c.causes_md, c.latency, c.invalid, drill_table(c.wrong, WRONG_WIDTHS),
            gr.update(choices=c.conversations, value=None), c.sources, ComparePage(c.runs))


METRIC_WIDTH = 17  # % of the table (1,214 px at 1440 px wide): about 200 px for the metric; the runs share the rest


def metric_table(table):
    """The metric table with every column in view: the metric's name, then the runs and the baseline share the rest."""
    return gr.update(value=table, column_widths=widths(table, [METRIC_WIDTH]))


@noted(keep=4)
def delete(services: Services, dataset, run_ids):
    """Delete the selected runs; what was done, beside the button; the selection clears."""
    return act.delete(services, run_ids), *run_choice(services, dataset)


@noted(keep=3)
def look_into(services: Services, page: ComparePage, title):
    """The label confusion matrix, the event errors and their causes of the chosen shown run."""
    heatmap, errors, causes_md = act.looked_into(services, page.runs, title)
    return "", heatmap, event_table(errors), causes_md


@noted(keep=1)
def conversation_view(services: Services, page: ComparePage, conversation):
    """Every turn of the chosen conversation with each shown run's label."""
    return "", drill_table(act.conversation_view(services, page.runs, conversation), VIEW_WIDTHS)


@noted(keep=1)
def export(services: Services, run_ids, kind):
    """Write the selected runs to a file to download."""
    return "", act.export(services, run_ids, kind)


WRONG_WIDTHS = [10, 6, 30, 14]  # % of the table: conversation, message, user, gold; the runs share the rest
VIEW_WIDTHS = [6, 8, 32, 14]  # message, role, text, gold
EVENT_WIDTHS = [8, 5, 22, 10, 9, 9, 9, 8]  # conversation ... cause; the four scores share the rest


def event_table(table):
    """The event errors with every column in view: the scores share what the words leave."""
    return gr.update(value=table, column_widths=widths(table, EVENT_WIDTHS))


def drill_table(table, fixed: list[int]):
    """A drill-down table, wrong predictions highlighted, each run's column in view (the rest shared)."""
    return gr.update(value=act.highlighted(table), column_widths=widths(table, fixed))


def widths(table, fixed: list[int]) -> list[str]:
    """Column widths in % of the table: the `fixed` first columns, then the runs' columns sharing the rest."""
    runs = len(table.columns) - len(fixed)
    share = int(10 * (100 - sum(fixed)) / max(1, runs)) / 10  # rounded down: the columns add up to 100% at most
    return [f"{w}%" for w in fixed] + [f"{share}%"] * runs


def select_run(services: Services, dataset, selected: list[int] | None, evt: gr.SelectData):
    """The clicked past run selected, or unselected if it was: Compare, Delete and Export act on the selection."""
    if not evt.row_value:
        return gr.skip(), gr.skip(), gr.skip()
    return act.selection(services, dataset, act.toggled(selected, int(evt.row_value[RUN_HEADERS.index("id")])))


@noted(keep=1)
def compare_selected(selected):
    """The selected past runs become the runs to compare."""
    return "", act.to_compare(selected)


def create_compare_tab(services: Services) -> list[Loader]:
    """Build the Compare tab and bind its events; the dataset names come on page load."""
    with gr.Tab("Compare", id="compare") as tab:
        gr.Markdown("Evaluate model x strategy configurations on a labelled dataset, each beside the copy "
                    "baseline (a router that never changes task), then compare the runs.")
        with gr.Row():
            dataset = gr.Dropdown(label="Dataset", choices=[], allow_custom_value=True, scale=3)
            refresh_btn = gr.Button("Refresh", scale=1)
        imports = import_panel()
        asked = launch_panel(services)
        shown_runs = results_panel()
        page = gr.State(ComparePage())
    choose_dataset = bound(dataset_choice, services)
    refresh_btn.click(choose_dataset, None, dataset, api_name="refresh_datasets")
    tab.select(choose_dataset, dataset, dataset)  # datasets saved or imported elsewhere since
    imported = [imports.note, dataset]
    imports.upload_btn.click(bound(upload, services), [imports.upload_file, imports.upload_name], imported,
                             api_name="import_jsonl")
    imports.sgd_btn.click(bound(sgd, services), imports.sgd_inputs, imported, api_name="import_sgd")
    imports.demo_btn.click(bound(demo, services), imports.demo_name, imported, api_name="import_demo")
    bind_runs(services, dataset, asked, shown_runs, page)
    queue = bound(act.queued_runs, services)
    asked.queue_btn.click(bound(enqueue, services), [dataset, *asked.inputs, asked.concurrency],
                          [asked.queue_note, asked.queue_table], api_name="queue_runs")
    asked.queue_timer.tick(queue, None, asked.queue_table, show_progress="hidden")
    services.queue.start()
    return [Loader(choose_dataset, [dataset]), Loader(queue, [asked.queue_table])]


def bind_runs(services: Services, dataset, asked: SimpleNamespace, runs: SimpleNamespace, page) -> None:
    """Bind launching, showing, deleting and exporting runs."""
    views = [asked.show_note, runs.summary, runs.matrix, runs.points, runs.label_run, runs.labels, runs.events,
             runs.causes, runs.latency, runs.invalid, runs.wrong, runs.conversation, runs.sources, page]
    listing = [asked.run_pick, runs.selected, runs.table, runs.selected_line]
    dataset.change(bound(run_choice, services), dataset, listing, api_name="list_runs")
    asked.launch_btn.click(bound(launch, services), [dataset, *asked.inputs], [asked.launch_note, *listing],
                           api_name="launch").then(bound(show, services), [asked.run_pick, runs.only], views)
    asked.show_btn.click(bound(show, services), [asked.run_pick, runs.only], views, api_name="show_runs")
    runs.only.change(bound(show, services), [asked.run_pick, runs.only], views)
    runs.label_run.change(bound(look_into, services), [page, runs.label_run],
                          [runs.label_note, runs.labels, runs.events, runs.causes], api_name="look_into_run")
    runs.conversation.change(bound(conversation_view, services), [page, runs.conversation],
                             [runs.drill_note, runs.view], api_name="show_conversation")
    runs.table.select(bound(select_run, services), [dataset, runs.selected], listing[1:])
    runs.compare_btn.click(compare_selected, runs.selected, [runs.past_note, asked.run_pick]).then(
        bound(show, services), [asked.run_pick, runs.only], views)
    runs.delete_btn.click(bound(delete, services), [dataset, runs.selected], [runs.past_note, *listing],
                          api_name="delete_runs")
    for kind, button in runs.export_btns.items():
        button.click(bound(partial(export, kind=kind), services), runs.selected, [runs.past_note, runs.download],
                     api_name=f"export_{kind}")


def import_panel() -> SimpleNamespace:
    """The accordion that imports a dataset: a JSONL file, SGD dialogues or the demo set."""
    with gr.Accordion("Import a dataset", open=False), gr.Row():
        with gr.Column():
            upload_file = gr.File(label="JSONL conversations (all or nothing)", file_types=[".jsonl"],
                                  type="filepath")
            upload_name = gr.Textbox(label="Dataset name (default: file name)")
            upload_btn = gr.Button("Import JSONL")
        with gr.Column():
            sgd_inputs = [gr.Textbox(label="Schema-Guided Dialogue folder", placeholder="/work/shared/sgd/dev"),
                          gr.Textbox(label="Dataset name", value="sgd")]
            with gr.Row():
                sgd_inputs += [
                    gr.Number(label="Dialogues (0 = all)", value=50, precision=0),
                    gr.Dropdown(list(SERVICES), value=SERVICES[0], label="Services",
                                info="mixed: single- and multi-service dialogues in turn; all: file order"),
                    gr.Number(label="Tasks per catalog", value=10, precision=0),
                    gr.Number(label="Seed", value=0, precision=0)]
            sgd_btn = gr.Button("Import SGD")
        with gr.Column():
            demo_name = gr.Textbox(label="Dataset name", value="demo")
            demo_btn = gr.Button("Import the demo dataset")
    note = gr.Markdown(elem_id="import-note")
    return SimpleNamespace(note=note, upload_file=upload_file, upload_name=upload_name, upload_btn=upload_btn,
                           sgd_inputs=sgd_inputs, sgd_btn=sgd_btn, demo_name=demo_name, demo_btn=demo_btn)


def launch_panel(services: Services) -> SimpleNamespace:
    """What to evaluate (models, backend, adapter, strategies, protocol, limit) and which runs to show."""
    with gr.Row():
        models = gr.Textbox(label="Models, one per line (blank: the embedded model)", lines=2)
        backend = gr.Dropdown(label="Backend", choices=backend_names(), value="local")
        adapter = gr.Textbox(services.settings.default_adapter or "",
                             label="PEFT adapter folder (local only; blank: the default router's, "
                                   "none: the base model)")
        tuned_model_picker(services, models, adapter)
    with gr.Row():
        with gr.Column(scale=2):
            strategies = gr.CheckboxGroup(list(STRATEGIES), value=[DEFAULT_STRATEGY], label="Strategies")
            gr.Markdown(strategies_md(list(STRATEGIES)), elem_id="strategy-lines")
        protocol = gr.Radio(list(PROTOCOLS), value=PROTOCOLS[0], label="Current task",
                            info="free: the router's own previous decision, as live; "
                                 "gold: the gold previous label")
        limit = gr.Number(label="Conversations (0 = all)", value=0, precision=0)
        with gr.Column(min_width=160):
            launch_btn = gr.Button("Launch", variant="primary")
            launch_note = gr.Markdown(elem_id="launch-note")
    with gr.Accordion("Run queue: runs that go on in the background, for every user", open=True):
        with gr.Row():
            concurrency = gr.Number(label="Turns at once (0 = 16 served, 1 local)", value=0, precision=0)
            queue_btn = gr.Button("Queue")
            queue_note = gr.Markdown(elem_id="queue-note")
        queue_table = gr.Dataframe(headers=QUEUE_HEADERS, interactive=False, wrap=True, elem_id="run-queue")
        queue_timer = gr.Timer(2.0)
    with gr.Row():
        run_pick = gr.Dropdown(label="Runs to compare", multiselect=True, choices=[], scale=4, elem_id="run-pick")
        show_btn = gr.Button("Show", scale=1)
        show_note = gr.Markdown(elem_id="show-note")
    return SimpleNamespace(inputs=[models, backend, adapter, strategies, protocol, limit],
                           launch_btn=launch_btn, launch_note=launch_note, queue_note=queue_note,
                           show_note=show_note, run_pick=run_pick, show_btn=show_btn, concurrency=concurrency,
                           queue_btn=queue_btn, queue_table=queue_table, queue_timer=queue_timer)


def results_panel() -> SimpleNamespace:
    """The comparison: metric table, figures, drill-down, past runs."""
    summary = gr.Markdown(elem_id="compare-summary")
    matrix = gr.Dataframe(label="Metrics: a row per metric, a column per run (★ the one best run of a row, "
                                "better than the copy baseline; copy baseline last)", interactive=False, wrap=True,
                          elem_id="compare-matrix", headers=["metric", "copy baseline"],
                          max_height=1100)  # every metric in view, no scroll inside the table
    with gr.Accordion("What each metric means", open=False):
        gr.Markdown(LEGEND_MD)
    with gr.Accordion("Per data source and event type", open=False):
        sources = gr.Dataframe(headers=["scope", "metric"], interactive=False, wrap=True)
    points = gr.Plot(label="Confusion matrices per point (start, switch, end)", elem_id="compare-points")
    with gr.Row():
        with gr.Column():
            label_run = gr.Dropdown(label="Look into the run (label confusion matrix, event errors)",
                                    choices=[], elem_id="label-run")
            label_note = gr.Markdown(elem_id="label-note")
            labels = gr.Plot(label="Label confusion matrix")
        with gr.Column():
            latency = gr.Plot(label="Latency per decision")
            invalid = gr.Plot(label="Invalid outputs", elem_id="compare-invalid")
    with gr.Accordion("Event errors of the run looked into: why the router started, left or kept a task",
                      open=True):
        gr.Markdown("Wrong and missed starts, switches and ends, and starts or switches to the wrong task. "
                    "Scores of continuing the task the router was given (from no task: of none), of the best "
                    "other task (switch or start) and of no task (end); the margin is the best of switch and "
                    "end less continue. '–': the strategy gives no scores. 'router was on': the task the router "
                    "had when the message came (live, its own earlier decision).")
        causes = gr.Markdown(elem_id="event-causes")
        events = gr.Dataframe(headers=EVENT_HEADERS, interactive=False, wrap=True, elem_id="event-errors")
    with gr.Accordion("Drill down: turns the runs get wrong", open=True):
        only = gr.Checkbox(label="Only the turns where the runs disagree")
        wrong = gr.Dataframe(headers=WRONG_HEADERS, interactive=False, wrap=True, elem_id="drill-wrong")
        conversation = gr.Dropdown(label="Show a conversation", choices=[])
        drill_note = gr.Markdown(elem_id="drill-note")
        view = gr.Dataframe(headers=VIEW_HEADERS, interactive=False, wrap=True, elem_id="drill-view")
    with gr.Accordion("Past runs: click rows to select them for Compare, Delete and Export", open=False):
        table = gr.Dataframe(headers=RUN_HEADERS, interactive=False, wrap=True, elem_id="past-runs")
        selected = gr.State([])
        selected_line = gr.Markdown(act.NONE_SELECTED, elem_id="past-selected")
        with gr.Row():
            compare_btn = gr.Button("Compare the selected")
            delete_btn = gr.Button("Delete the selected", variant="stop")
            export_btns = {"metrics": gr.Button("Download metrics (CSV)"),
                           "csv": gr.Button("Export predictions (CSV)"),
                           "json": gr.Button("Export runs (JSON)")}
        download = gr.File(label="Export", interactive=False)
        past_note = gr.Markdown(elem_id="past-note")
    return SimpleNamespace(summary=summary, label_note=label_note, drill_note=drill_note, selected=selected,
                           selected_line=selected_line, compare_btn=compare_btn, past_note=past_note, matrix=matrix,
                           sources=sources, points=points, label_run=label_run, labels=labels, events=events,
                           causes=causes, latency=latency, invalid=invalid, only=only, wrong=wrong,
                           conversation=conversation, view=view, table=table, delete_btn=delete_btn,
                           export_btns=export_btns, download=download)
