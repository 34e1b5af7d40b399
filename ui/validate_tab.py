"""Validate tab: its layout, and its events bound to the actions of ui.validate_actions."""
from types import SimpleNamespace

import gradio as gr

from data.annotations import ANY, STATUSES, TO_DO
from router.backends import backend_names
from router.generator import KINDS, Mix
from services import Services
from ui import validate_actions as act
from ui.auth import load_admins, load_users, username
from ui.errors import noted
from ui.validate_actions import ALL, ANYONE, MAX_TURNS, ME, Shown, Step, ValidatePage
from ui.validate_view import guidelines_view
from ui.wiring import Loader, bound

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


def shown_updates(view: Shown) -> list:
    """Values of the conversation's components: number, header, chat, events, turns, label slots."""
    drops = [gr.update(visible=True, choices=choices, value=value, label=label)
             for label, choices, value in view.slots]
    drops += [gr.update(visible=False, value=None) for _ in range(MAX_TURNS - len(view.slots))]
    return [view.pk, view.info, view.chat, view.events, gr.update(choices=view.turns, value=None), *drops]


VIEW_OUTPUTS = 5 + MAX_TURNS  # the five of the conversation, its label slots
NAV_OUTPUTS = VIEW_OUTPUTS + 3  # page, counts, the conversation, the plot


def moved(step: Step) -> list:
    """Values of the navigation's components after a move, its note (cleared) first; its message as a toast."""
    if step.message:
        gr.Info(step.message)
    return ["", step.page, step.counts, *shown_updates(step.shown), step.frame]


def queue(request: gr.Request, dataset, status, task, assigned):
    """The queue the filters choose for the signed-in user."""
    return act.queue_filter(dataset, status, task, assigned, username(request))


@noted(keep=NAV_OUTPUTS)
def open_queue(services: Services, dataset, status, task, assigned, page, request: gr.Request):
    """Show the first conversation of the queue."""
    return moved(act.open_queue(services, queue(request, dataset, status, task, assigned), page))


@noted(keep=VIEW_OUTPUTS + 1)
def open_one(services: Services, pk, page):
    """Show the conversation whose number was typed."""
    page, view = act.open_one(services, pk, page)
    return ["", page, *shown_updates(view)]


@noted(keep=NAV_OUTPUTS)
def confirm(services: Services, request: gr.Request, dataset, status, task, assigned, page, pk, *values):
    """Validate the shown conversation and move on."""
    flt = queue(request, dataset, status, task, assigned)
    return moved(act.confirm(services, flt, page, pk, list(values), username(request)))


@noted(keep=0)
def save_labels(services: Services, request: gr.Request, pk, *values):
    """Store the labels of the shown conversation; what was done, under the buttons."""
    return act.save_labels(services, pk, list(values), username(request))


@noted(keep=NAV_OUTPUTS)
def skip(services: Services, dataset, status, task, assigned, page, pk, request: gr.Request):
    """Move to the next conversation of the queue."""
    return moved(act.skip(services, queue(request, dataset, status, task, assigned), page, pk))


@noted(keep=NAV_OUTPUTS)
def back(services: Services, dataset, status, task, assigned, page, pk, request: gr.Request):
    """Move to the conversation opened before."""
    return moved(act.back(services, queue(request, dataset, status, task, assigned), page, pk))


@noted(keep=NAV_OUTPUTS)
def flag(services: Services, dataset, status, task, assigned, page, pk, comment, request: gr.Request):
    """Flag the shown conversation and move on."""
    flt = queue(request, dataset, status, task, assigned)
    return moved(act.flag(services, flt, page, pk, comment, username(request)))


@noted(keep=NAV_OUTPUTS)
def delete_or_restore(services: Services, dataset, status, task, assigned, page, pk, request: gr.Request):
    """Delete or restore the shown conversation."""
    flt = queue(request, dataset, status, task, assigned)
    return moved(act.delete_or_restore(services, flt, page, pk, username(request)))


@noted(keep=VIEW_OUTPUTS)
def fix_typo(services: Services, pk, turn, text, request: gr.Request):
    """Correct a turn's text and show the conversation again."""
    return ["", *shown_updates(act.fix_typo(services, pk, turn, text, username(request)))]


@noted(keep=1)
def turn_text(services: Services, pk, turn):
    """The chosen turn's text to correct; the note changes only on a refusal."""
    return gr.skip(), act.turn_text(services, pk, turn)


@noted(keep=1)
def events(services: Services, pk, *values):
    """The events that follow from the labels being edited; the note changes only on a refusal."""
    return gr.skip(), act.events_of(services, pk, list(values))


@noted(keep=1)
def save_guidelines(services: Services, text, request: gr.Request):
    """Store new guidelines, if the signed-in user may; what was done, beside the button."""
    return "Guidelines saved.", act.save_guidelines(services, text, username(request), load_admins())


@noted(keep=0)
def assign(services: Services, dataset, annotators, share):
    """Split the chosen dataset among the annotators; how many each got."""
    return act.assign(services, dataset, annotators, share)


@noted(keep=1)
def agreement(services: Services, dataset):
    """Cohen's kappa and the disagreements of the chosen dataset."""
    return act.agreement(services, dataset)


@noted(keep=1)
def export(services: Services, dataset, name):
    """Export the validated conversations as a new dataset; what was done, beside the button."""
    path, message = act.export(services, dataset, name)
    return message, path


@noted(keep=1)
def generate(services: Services, tasks, count, switch, end, uncovered, smalltalk, dataset, backend, model,
             progress=gr.Progress()):
    """Generate labelled conversations."""
    return act.generate(services, tasks, count, Mix(switch, end, uncovered, smalltalk), dataset, backend,
                        model, lambda k, n: progress((k, n), desc="generating"))


def names(services: Services, users: list[str]):
    """The filters' choices, the annotators and the guidelines, on page load after sign-in."""
    datasets, tasks = [ALL] + services.datasets.names(), services.tasks.catalog().names
    guidelines = services.annotations.guidelines()
    return (gr.update(choices=datasets), gr.update(choices=[ALL] + tasks), gr.update(choices=tasks),
            gr.update(choices=[ANYONE, ME, *users]), ", ".join(users), guidelines_view(guidelines), guidelines)


def create_validate_tab(services: Services) -> list[Loader]:
    """Build the Validate tab and bind its events; names (users, datasets, tasks) come on page load."""
    with gr.Tab("Validate", id="validate"):
        gr.Markdown("Go through the queue, check the label of every user message, confirm. " + HELP)
        q = queue_panel()
        tools = tools_panel()
        page = gr.State(ValidatePage())
    filters = [q.dataset, q.status, q.task, q.assigned, page]
    view = [q.pk, q.info, q.conversation, q.events, q.typo_turn, *q.drops]
    nav = [q.note, page, q.counts, *view, q.plot]
    q.open_btn.click(bound(open_queue, services), filters, nav, api_name="open_queue")
    q.pk.submit(bound(open_one, services), [q.pk, page], [q.note, page, *view], api_name="show_conversation")
    q.buttons["confirm"].click(bound(confirm, services), [*filters, q.pk, *q.drops], nav, api_name="confirm")
    q.buttons["save"].click(bound(save_labels, services), [q.pk, *q.drops], q.note, api_name="save_labels")
    for button, callback in (("skip", skip), ("back", back), ("delete", delete_or_restore)):
        q.buttons[button].click(bound(callback, services), [*filters, q.pk], nav, api_name=callback.__name__)
    q.buttons["flag"].click(bound(flag, services), [*filters, q.pk, q.comment], nav, api_name="flag")
    q.typo_turn.change(bound(turn_text, services), [q.pk, q.typo_turn], [q.note, q.typo_text])
    q.buttons["typo"].click(bound(fix_typo, services), [q.pk, q.typo_turn, q.typo_text], [q.note, *view],
                            api_name="fix_typo")
    gr.on([d.input for d in q.drops], bound(events, services), [q.pk, *q.drops], [q.note, q.events])
    tools.guide_btn.click(bound(save_guidelines, services), tools.guide_text, [tools.guide_note, tools.guide],
                          api_name="save_guidelines")
    tools.assign_btn.click(bound(assign, services), [q.dataset, tools.annotators, tools.share],
                           tools.assigned, api_name="assign")
    tools.agree_btn.click(bound(agreement, services), q.dataset, [tools.agree_text, tools.disagreements],
                          api_name="agreement")
    tools.export_btn.click(bound(export, services), [q.dataset, tools.export_name],
                           [tools.export_note, tools.export_file], api_name="export_validated")
    tools.gen_btn.click(bound(generate, services), tools.gen_inputs, [tools.gen_report, tools.gen_failures],
                        api_name="generate")
    users = list(load_users())
    return [Loader(lambda: names(services, users), [q.dataset, q.task, tools.gen_tasks, q.assigned,
                                                    tools.annotators, tools.guide, tools.guide_text]),
            Loader(None, js=SHORTCUTS_JS)]


def queue_panel() -> SimpleNamespace:
    """Filters, counts, the conversation with its label slots and events, and the annotator's buttons."""
    with gr.Row():
        dataset = gr.Dropdown([ALL], value=ALL, label="Dataset", allow_custom_value=True)
        status = gr.Dropdown([TO_DO, *STATUSES, ANY], value=TO_DO, label="Status")
        task = gr.Dropdown([ALL], value=ALL, label="Task", allow_custom_value=True)
        assigned = gr.Dropdown([ANYONE, ME], value=ANYONE, label="Assigned to", allow_custom_value=True)
        open_btn = gr.Button("Open queue", variant="primary")
    with gr.Row():
        counts = gr.Markdown()
        plot = gr.BarPlot(x="status", y="conversations", height=160, label="Queue by status",
                          sort=list(STATUSES))
    with gr.Row():
        with gr.Column(scale=3):
            info = gr.Markdown()
            conversation = gr.Chatbot(label="Conversation", height=480, autoscroll=False,
                                      elem_id="validate-chat")  # opens at its start
        with gr.Column(scale=2):
            pk = gr.Number(None, label="Conversation # (type one and press Enter to open it)", precision=0)
            drops = [gr.Dropdown(visible=False, allow_custom_value=True) for _ in range(MAX_TURNS)]
            events = gr.Dataframe(headers=EVENT_HEADERS, interactive=False, wrap=True,
                                  column_widths=["12%", "44%", "28%", "16%"],  # all four in view
                                  label="Events that follow from the labels", elem_id="validate-events")
    with gr.Row():
        buttons = {"confirm": gr.Button("Confirm (Alt+C)", variant="primary", elem_id=SHORTCUTS["KeyC"]),
                   "save": gr.Button("Save labels (Alt+S)", elem_id=SHORTCUTS["KeyS"]),
                   "back": gr.Button("Back (Alt+B)", elem_id=SHORTCUTS["KeyB"]),
                   "skip": gr.Button("Skip (Alt+N)", elem_id=SHORTCUTS["KeyN"]),
                   "delete": gr.Button("Delete / restore (Alt+D)", variant="stop", elem_id=SHORTCUTS["KeyD"])}
    note = gr.Markdown(elem_id="validate-note")
    with gr.Row():
        comment = gr.Textbox(label="Comment for the flag", scale=3)
        buttons["flag"] = gr.Button("Flag for review (Alt+F)", elem_id=SHORTCUTS["KeyF"])
    with gr.Row():
        typo_turn = gr.Dropdown(label="Turn to fix", choices=[])
        typo_text = gr.Textbox(label="Corrected text", scale=3)
        buttons["typo"] = gr.Button("Fix typo (Alt+T)", elem_id=SHORTCUTS["KeyT"])
    return SimpleNamespace(dataset=dataset, status=status, task=task, assigned=assigned, open_btn=open_btn,
                           counts=counts, plot=plot, info=info, conversation=conversation, pk=pk, drops=drops,
                           events=events, buttons=buttons, comment=comment, typo_turn=typo_turn,
                           typo_text=typo_text, note=note)


def tools_panel() -> SimpleNamespace:
    """Guidelines, splitting among annotators and agreement, export, generation."""
    with gr.Accordion("Annotation guidelines", open=False):
        guide = gr.Markdown()
        with gr.Accordion("Edit the guidelines", open=False):  # read far more often than changed
            guide_text = gr.Textbox(lines=8, label="Edit (Markdown)")
            with gr.Row():
                guide_btn = gr.Button("Save guidelines")
                guide_note = gr.Markdown(elem_id="guide-note")
    with gr.Accordion("Annotators: split the queue, agreement", open=False):
        with gr.Row():
            annotators = gr.Textbox(label="Annotators (comma-separated)")
            share = gr.Slider(0, 1, value=0.2, step=0.05, label="Share given to two annotators")
            assign_btn = gr.Button("Split the chosen dataset")
        assigned = gr.Markdown()
        agree_btn = gr.Button("Compute agreement")
        agree_text = gr.Markdown()
        disagreements = gr.Dataframe(headers=DISAGREEMENT_HEADERS, interactive=False, wrap=True)
    with gr.Accordion("Export the validated set as a new dataset", open=False), gr.Row():
        export_name = gr.Textbox(label="New dataset name", placeholder="validated-v1")
        with gr.Column():
            export_btn = gr.Button("Export")
            export_note = gr.Markdown(elem_id="validated-export-note")
        export_file = gr.File(label="JSONL", interactive=False)
    with gr.Accordion("Generate labelled conversations", open=False):
        gen_tasks = gr.CheckboxGroup(label="Tasks", choices=[])
        with gr.Row():
            gen_inputs = [gen_tasks, gr.Number(4, label="Conversations", precision=0),
                          *(gr.Slider(0, 1, value=0.0, step=0.05, label=f"Share: {kind}") for kind in KINDS[1:])]
        with gr.Row():
            gen_inputs += [gr.Textbox("generated", label="Dataset"),
                           gr.Dropdown(backend_names(), value="local", label="Backend"),
                           gr.Textbox(label="Model (empty: the embedded one)")]
            gen_btn = gr.Button("Generate", variant="primary")
        gen_report = gr.Markdown()
        gen_failures = gr.Dataframe(headers=FAILURE_HEADERS, interactive=False, wrap=True,
                                    label="Output that could not be read")
    return SimpleNamespace(guide=guide, guide_text=guide_text, guide_btn=guide_btn, guide_note=guide_note,
                           export_note=export_note, annotators=annotators,
                           share=share, assign_btn=assign_btn, assigned=assigned, agree_btn=agree_btn,
                           agree_text=agree_text, disagreements=disagreements, export_name=export_name,
                           export_btn=export_btn, export_file=export_file, gen_tasks=gen_tasks,
                           gen_inputs=gen_inputs, gen_btn=gen_btn, gen_report=gen_report,
                           gen_failures=gen_failures)
