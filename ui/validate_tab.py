"""Validate tab: annotators go through the queue, label user turns, flag, delete, fix typos; generate."""
import gradio as gr
import pandas as pd
from gradio.context import Context

from data.annotations import ANY, STATUSES, TO_DO, QueueFilter, label_name
from data.datasets import check_name
from router.backends import backend_names
from router.conversation import Conversation
from router.events import event_between
from router.generator import KINDS, Generator, Mix, plan
from ui.auth import load_users, username
from ui.errors import shown
from ui.escaping import safe
from ui.services import Services

MAX_TURNS = 30
ALL, ANYONE, ME = "(all)", "(anyone)", "(me)"
SHORTCUTS = {"KeyC": "validate-confirm", "KeyS": "validate-save", "KeyB": "validate-back",
             "KeyN": "validate-next", "KeyF": "validate-flag", "KeyD": "validate-delete",
             "KeyT": "validate-typo"}
SHORTCUTS_JS = """() => {
  const keys = %s;
  document.addEventListener("keydown", (e) => {
    const id = e.altKey ? keys[e.code] : undefined;
    const button = id && document.getElementById(id);
    if (button) { e.preventDefault(); button.click(); }
  });
}""" % SHORTCUTS
HELP = ("Keyboard: **Alt+C** confirm, **Alt+S** save labels, **Alt+B** back, **Alt+N** skip, "
        "**Alt+F** flag, **Alt+D** delete / restore, **Alt+T** fix typo.")
EVENT_HEADERS = ["turn", "user message", "label", "event"]
FAILURE_HEADERS = ["case", "task", "reason", "raw output"]
DISAGREEMENT_HEADERS = ["conversation #", "id", "turn", "user message", "annotator A", "label A",
                        "annotator B", "label B"]


def events_rows(conv: Conversation | None, labels: list[str | None]) -> list[list]:
    """Rows turn, message, label, event that follow from the labels being edited."""
    if conv is None:
        return []
    rows, previous = [], None
    for position, value in zip(conv.user_indices(), labels):
        current = None if value in (None, "none") else value
        rows.append([position, conv.turns[position].content, label_name(current),
                     event_between(previous, current).value])
        previous = current
    return rows


def chat(conv: Conversation) -> list[dict]:
    """The conversation as chat messages, text escaped."""
    return [{"role": t.role, "content": safe(t.content)} for t in conv.turns]


def describe(row: dict, assignees: list[str], comment: str) -> str:
    """The header of the shown conversation, user text escaped."""
    parts = [f"**#{int(row['id'])}** {safe(row['ext_id'])} in **{safe(row['dataset'])}**",
             f"status **{safe(row['status'])}**", f"source {safe(row['source'] or '-')}"]
    if assignees:
        parts.append("assigned to " + ", ".join(safe(a) for a in assignees))
    text = " · ".join(parts)
    return text + (f"\n\nFlag comment: {safe(comment)}" if comment else "")


def counts_text(counts: dict) -> str:
    """Counts per status and progress, as Markdown."""
    per_status_md = " · ".join(f"{safe(s)} {int(counts[s])}" for s in STATUSES)
    return (f"**{int(counts['selected'])}** in this queue · {per_status_md} · progress "
            f"**{counts['progress']:.0%}** validated")


def assigned_text(counts: dict[str, int]) -> str:
    """How many conversations each annotator was given, names escaped."""
    return "Assigned: " + ", ".join(f"{safe(a)} {n}" for a, n in counts.items())


def generated_text(stored: int, dataset: str, failed: int) -> str:
    """The report of a generation, the dataset name escaped."""
    return (f"Stored **{int(stored)}** labelled conversations in **{safe(dataset)}** (unvalidated, in "
            f"the queue); **{int(failed)}** could not be read (below, with the reason and the raw output).")


def guidelines_view(text: str) -> str:
    """The guidelines as Markdown; raw HTML in them shows as text."""
    return safe(text)


def counts_frame(counts: dict) -> pd.DataFrame:
    """Conversations per status, for the bar plot."""
    return pd.DataFrame({"status": list(STATUSES), "conversations": [counts[s] for s in STATUSES]})


def create_validate_tab(services: Services) -> None:
    """Build the Validate tab and bind its events; names (users, datasets, tasks) come on page load."""
    store = services.annotations
    users = list(load_users())

    def queue_filter(dataset, status, task, assigned, request) -> QueueFilter:
        who = username(request) if assigned == ME else (None if assigned in (ANYONE, None) else assigned)
        return QueueFilter(None if dataset in (ALL, None) else dataset, status or TO_DO,
                           None if task in (ALL, None) else task, who)

    def view(pk: int | None) -> list:
        if pk is None:
            hidden = [gr.update(visible=False, value=None) for _ in range(MAX_TURNS)]
            return [None, "The queue is empty.", [], [], gr.update(choices=[], value=None), *hidden]
        conv, row = store.suggestion(pk), store.row(pk)
        names = ["none"] + store.catalog_for(pk).names
        users = conv.user_indices()[:MAX_TURNS]
        drops = [gr.update(visible=True, choices=names, value=label_name(conv.turns[k].task),
                           label=f"Turn {k}: {conv.turns[k].content[:80]}") for k in users]
        drops += [gr.update(visible=False, value=None) for _ in range(MAX_TURNS - len(users))]
        labels = [label_name(conv.turns[k].task) for k in users]
        turns = [f"{k}: {t.content[:60]}" for k, t in enumerate(conv.turns)]
        return [pk, describe(row, store.assignees(pk), store.comment(pk)), chat(conv),
                events_rows(conv, labels), gr.update(choices=turns, value=None), *drops]

    def go(flt: QueueFilter, pk: int | None, history: list | None) -> list:
        history = list(history or [])
        if pk is not None and (not history or history[-1] != pk):
            history.append(pk)
        counts = store.counts(flt)
        return [history, counts_text(counts), *view(pk), counts_frame(counts)]

    def labels_of(pk, values) -> dict[int, str | None]:
        conv = store.suggestion(int(pk))
        shown_labels = {k: (None if v in (None, "none") else v) for k, v in zip(conv.user_indices(), values)}
        return {k: shown_labels.get(k, conv.turns[k].task) for k in conv.user_indices()}

    @shown
    def open_queue(dataset, status, task, assigned, history, request: gr.Request):
        flt = queue_filter(dataset, status, task, assigned, request)
        return go(flt, store.next_after(flt, None), history)

    @shown
    def show(pk, history):
        result = go(QueueFilter(status=ANY), int(pk), history)
        return [result[0], *result[2:-1]]

    @shown
    def confirm(request: gr.Request, dataset, status, task, assigned, history, pk, *values):
        require(pk)
        store.confirm(int(pk), labels_of(pk, values), username(request))
        gr.Info(f"Conversation #{int(pk)} validated.")
        return skip(dataset, status, task, assigned, history, pk, request)

    @shown
    def save_labels(request: gr.Request, pk, *values):
        require(pk)
        store.relabel(int(pk), labels_of(pk, values), username(request))
        gr.Info(f"Labels of conversation #{int(pk)} saved.")

    @shown
    def skip(dataset, status, task, assigned, history, pk, request: gr.Request):
        flt = queue_filter(dataset, status, task, assigned, request)
        return go(flt, store.next_after(flt, None if pk is None else int(pk)), history)

    @shown
    def back(dataset, status, task, assigned, history, pk, request: gr.Request):
        history = list(history or [])
        while history and pk is not None and history[-1] == int(pk):
            history.pop()
        if not history:
            raise gr.Error("Nothing to go back to.")
        return go(queue_filter(dataset, status, task, assigned, request), history[-1], history)

    @shown
    def flag(dataset, status, task, assigned, history, pk, comment, request: gr.Request):
        require(pk)
        store.flag(int(pk), comment or "", username(request))
        gr.Info(f"Conversation #{int(pk)} flagged for review.")
        return skip(dataset, status, task, assigned, history, pk, request)

    @shown
    def delete_or_restore(dataset, status, task, assigned, history, pk, request: gr.Request):
        require(pk)
        if store.row(int(pk))["status"] == "deleted":
            gr.Info(f"Conversation #{int(pk)} restored as {safe(store.restore(int(pk), username(request)))}.")
        else:
            store.delete(int(pk), username(request))
            gr.Info(f"Conversation #{int(pk)} marked for deletion (restorable).")
        return go(queue_filter(dataset, status, task, assigned, request), int(pk), history)

    @shown
    def fix_typo(pk, turn, text, request: gr.Request):
        require(pk)
        if not turn:
            raise gr.Error("Choose the turn to fix.")
        store.fix_turn(int(pk), int(str(turn).split(":")[0]), text or "", username(request))
        return view(int(pk))

    def turn_text(pk, turn):
        if pk is None or not turn:
            return ""
        return store.suggestion(int(pk)).turns[int(str(turn).split(":")[0])].content

    def update_events(pk, *values):
        return events_rows(store.suggestion(int(pk)) if pk is not None else None, list(values))

    @shown
    def save_guidelines(text, request: gr.Request):
        store.save_guidelines(text, username(request))
        return guidelines_view(text)

    @shown
    def assign(dataset, annotators, share):
        if dataset in (ALL, None):
            raise gr.Error("Choose a dataset to split.")
        return assigned_text(store.assign(dataset, annotators.split(","), float(share)))

    @shown
    def agreement(dataset):
        result = store.agreement(None if dataset in (ALL, None) else dataset)
        kappa_md = "undefined" if result.kappa is None else f"{result.kappa:.3f}"
        rows = [[d.conversation, d.ext_id, d.position, d.content, d.first, label_name(d.first_label),
                 d.second, label_name(d.second_label)] for d in result.disagreements]
        return (f"Cohen's kappa **{kappa_md}** over {int(result.turns)} user turns of "
                f"{int(result.conversations)} doubly annotated conversations; {len(rows)} disagreements "
                "(open one by its number to resolve it)."), rows

    @shown
    def export(dataset, name):
        if dataset in (ALL, None):
            raise gr.Error("Choose the dataset whose validated conversations to export.")
        name = check_name((name or "").strip())
        conversations = store.export_validated(dataset, name)
        path = services.datasets.write_export(name, services.settings.exports_dir)
        gr.Info(f"Exported {len(conversations)} validated conversations as dataset '{safe(name)}'.")
        return str(path)

    @shown
    def generate(tasks, count, switch, end, uncovered, smalltalk, dataset, backend, model,
                 progress=gr.Progress()):
        catalog = services.tasks.catalog()
        cases = plan(catalog, list(tasks or []), int(count), Mix(switch, end, uncovered, smalltalk))
        generator = Generator(services.routers.backend(backend, model.strip() or None),
                              services.settings.prompts_dir)
        progress((0, len(cases)), desc="generating")
        report = generator.run(catalog, cases, lambda k, n: progress((k, n), desc="generating"))
        store.add_generated(dataset.strip(), report.conversations, catalog)
        rows = [[f.case.kind, f.case.task, f.reason, f.raw] for f in report.failures]
        return generated_text(len(report.conversations), dataset.strip(), len(rows)), rows

    def choices():
        datasets, tasks = [ALL] + services.datasets.names(), services.tasks.catalog().names
        return (gr.update(choices=datasets), gr.update(choices=[ALL] + tasks), gr.update(choices=tasks),
                gr.update(choices=[ANYONE, ME, *users]), ", ".join(users), guidelines_view(store.guidelines()),
                store.guidelines())

    with gr.Tab("Validate", id="validate"):
        gr.Markdown("Go through the queue, check the label of every user message, confirm. " + HELP)
        with gr.Row():
            dataset = gr.Dropdown([ALL], value=ALL, label="Dataset", allow_custom_value=True)
            status = gr.Dropdown([TO_DO, *STATUSES, ANY], value=TO_DO, label="Status")
            task = gr.Dropdown([ALL], value=ALL, label="Task", allow_custom_value=True)
            assigned = gr.Dropdown([ANYONE, ME], value=ANYONE, label="Assigned to",
                                   allow_custom_value=True)
            open_btn = gr.Button("Open queue", variant="primary")
        with gr.Row():
            counts = gr.Markdown()
            plot = gr.BarPlot(x="status", y="conversations", height=160, label="Queue by status",
                              sort=list(STATUSES))
        history = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                info = gr.Markdown()
                conversation = gr.Chatbot(label="Conversation", height=480)
            with gr.Column(scale=2):
                pk = gr.Number(label="Conversation # (type one and press Enter to open it)", precision=0)
                drops = [gr.Dropdown(visible=False, allow_custom_value=True) for _ in range(MAX_TURNS)]
                events = gr.Dataframe(headers=EVENT_HEADERS, interactive=False, wrap=True,
                                      label="Events that follow from the labels")
        with gr.Row():
            confirm_btn = gr.Button("Confirm (Alt+C)", variant="primary", elem_id=SHORTCUTS["KeyC"])
            save_btn = gr.Button("Save labels (Alt+S)", elem_id=SHORTCUTS["KeyS"])
            back_btn = gr.Button("Back (Alt+B)", elem_id=SHORTCUTS["KeyB"])
            skip_btn = gr.Button("Skip (Alt+N)", elem_id=SHORTCUTS["KeyN"])
            delete_btn = gr.Button("Delete / restore (Alt+D)", variant="stop", elem_id=SHORTCUTS["KeyD"])
        with gr.Row():
            comment = gr.Textbox(label="Comment for the flag", scale=3)
            flag_btn = gr.Button("Flag for review (Alt+F)", elem_id=SHORTCUTS["KeyF"])
        with gr.Row():
            typo_turn = gr.Dropdown(label="Turn to fix", choices=[])
            typo_text = gr.Textbox(label="Corrected text", scale=3)
            typo_btn = gr.Button("Fix typo (Alt+T)", elem_id=SHORTCUTS["KeyT"])
        with gr.Accordion("Annotation guidelines", open=False):
            guide = gr.Markdown()
            guide_text = gr.Textbox(lines=8, label="Edit (Markdown)")
            guide_btn = gr.Button("Save guidelines")
        with gr.Accordion("Annotators: split the queue, agreement", open=False):
            with gr.Row():
                annotators = gr.Textbox(label="Annotators (comma-separated)")
                share = gr.Slider(0, 1, value=0.2, step=0.05, label="Share given to two annotators")
                assign_btn = gr.Button("Split the chosen dataset")
            assigned_view = gr.Markdown()
            agree_btn = gr.Button("Compute agreement")
            agree_text = gr.Markdown()
            disagreements = gr.Dataframe(headers=DISAGREEMENT_HEADERS, interactive=False, wrap=True)
        with gr.Accordion("Export the validated set as a new dataset", open=False):
            with gr.Row():
                export_name = gr.Textbox(label="New dataset name", placeholder="validated-v1")
                export_btn = gr.Button("Export")
                export_file = gr.File(label="JSONL", interactive=False)
        with gr.Accordion("Generate labelled conversations", open=False):
            gen_tasks = gr.CheckboxGroup(label="Tasks", choices=[])
            with gr.Row():
                gen_count = gr.Number(4, label="Conversations", precision=0)
                mix = [gr.Slider(0, 1, value=0.0, step=0.05, label=f"Share: {kind}") for kind in KINDS[1:]]
            with gr.Row():
                gen_dataset = gr.Textbox("generated", label="Dataset")
                gen_backend = gr.Dropdown(backend_names(), value="local", label="Backend")
                gen_model = gr.Textbox(label="Model (empty: the embedded one)")
                gen_btn = gr.Button("Generate", variant="primary")
            gen_report = gr.Markdown()
            gen_failures = gr.Dataframe(headers=FAILURE_HEADERS, interactive=False, wrap=True,
                                        label="Output that could not be read")

    filters = [dataset, status, task, assigned, history]
    shown_view = [pk, info, conversation, events, typo_turn, *drops]
    nav = [history, counts, *shown_view, plot]
    open_btn.click(open_queue, filters, nav, api_name="open_queue")
    pk.submit(show, [pk, history], [history, *shown_view], api_name="show_conversation")
    confirm_btn.click(confirm, [*filters, pk, *drops], nav, api_name="confirm")
    save_btn.click(save_labels, [pk, *drops], None, api_name="save_labels")
    skip_btn.click(skip, [*filters, pk], nav, api_name="skip")
    back_btn.click(back, [*filters, pk], nav, api_name="back")
    flag_btn.click(flag, [*filters, pk, comment], nav, api_name="flag")
    delete_btn.click(delete_or_restore, [*filters, pk], nav, api_name="delete_or_restore")
    typo_turn.change(turn_text, [pk, typo_turn], typo_text)
    typo_btn.click(fix_typo, [pk, typo_turn, typo_text], shown_view, api_name="fix_typo")
    gr.on([d.input for d in drops], update_events, [pk, *drops], events)
    guide_btn.click(save_guidelines, guide_text, guide, api_name="save_guidelines")
    assign_btn.click(assign, [dataset, annotators, share], assigned_view, api_name="assign")
    agree_btn.click(agreement, dataset, [agree_text, disagreements], api_name="agreement")
    export_btn.click(export, [dataset, export_name], export_file, api_name="export_validated")
    gen_btn.click(generate, [gen_tasks, gen_count, *mix, gen_dataset, gen_backend, gen_model],
                  [gen_report, gen_failures], api_name="generate")
    Context.root_block.load(choices, None, [dataset, task, gen_tasks, assigned, annotators, guide, guide_text])
    Context.root_block.load(None, None, None, js=SHORTCUTS_JS)


def require(pk) -> None:
    """Refuse an action when no conversation is shown."""
    if pk is None:
        raise gr.Error("Open a conversation first.")
