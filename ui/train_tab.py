"""Train tab: its layout (the form derived from TrainConfig's fields), events bound to ui.train_actions."""
from dataclasses import Field
import gradio as gr

from router.training.config import default_of, kinds_of
from router.training.job import training_method
from services import Services
from ui import train_actions as act
from ui.errors import noted
from ui.escaping import safe
from ui.train_actions import FIELDS
from ui.wiring import Loader, bound

FORM_ROWS = (("lora_r", "lora_alpha", "lora_dropout", "target_modules"),
             ("learning_rate", "epochs", "max_steps", "max_minutes"),
             ("max_seq_length", "batch_size", "grad_accumulation", "eval_steps", "eval_fraction"),
             ("packing", "quantize", "wrong_current_share"),
             ("init_adapter", "rollout_share"))
JOB_HEADERS = ["id", "status", "progress", "datasets", "model", "created_at", "finished_at"]
INTRO = ("Fine-tune the router model with a LoRA adapter on labelled datasets; this machine trains with "
         "**{method}**. Each job runs in its own process, one at a time; when it finishes, its adapter is "
         "registered as a router model and evaluated against the base on the held-out conversations, with "
         "the free protocol (the router's own previous decision, as live) and the gold one.")


def field_input(f: Field) -> gr.components.Component:
    """The form input of a TrainConfig field: label, help, default and bounds from its metadata."""
    kinds = kinds_of(f.name)
    meta, value = f.metadata, default_of(f)
    if bool in kinds:
        return gr.Checkbox(label=meta["label"], value=value, info=meta["help"])
    if int in kinds or float in kinds:
        b = meta["bounds"]
        low = b.low if b and not b.low_open and b.also is None else None
        return gr.Number(label=meta["label"], value=value or 0, info=meta["help"], minimum=low,
                         maximum=b.high if b and not b.high_open else None, precision=0 if int in kinds else None)
    return gr.Textbox(label=meta["label"], info=meta["help"],
                      value=", ".join(value) if isinstance(value, list) else value)


@noted(keep=9)
def view(services: Services, job_id):
    """The jobs and the chosen job, as the components' values; the note beside the job changes only on a refusal."""
    v = act.show(services, job_id)
    return (gr.skip(), v.rows, v.progress, v.losses, v.log, v.comparison, v.recalls, gr.update(interactive=v.can_stop),
            gr.update(interactive=v.can_resume), v.summary_md)


def job_choice(services: Services, selected: int | None = None):
    """The job picker, `selected` (or the newest) chosen."""
    ids = act.job_ids(services)
    return gr.update(choices=ids, value=selected if selected in ids else (ids[0] if ids else None))


@noted(keep=1)
def launch(services: Services, datasets, evaluate, *values):
    """Queue a job with the form's configuration and choose it; what was done, beside the button."""
    job = act.launch(services, datasets, evaluate, dict(zip(form_names(), values)))
    return f"Job {int(job)} queued.", job_choice(services, job)


@noted(keep=1)
def dataset_names(services: Services):
    """The datasets to train on; the note beside Launch changes only on a refusal."""
    return gr.skip(), gr.update(choices=services.datasets.names())


@noted(keep=0)
def stop(services: Services, job_id):
    """Stop the chosen job; what happened, beside the button."""
    return act.stop(services, job_id)


@noted(keep=0)
def resume(services: Services, job_id):
    """Queue the chosen job again; what happened, beside the button."""
    return act.resume(services, job_id)


def quick_try() -> list:
    """The form's inputs with the quick-try settings, the others left as they are."""
    return [act.QUICK_TRY.get(name, gr.skip()) for name in form_names()]


def form_names() -> list[str]:
    """The fields of the form, in the order of its inputs."""
    return ["base_model", *(name for row in FORM_ROWS for name in row)]


def create_train_tab(services: Services) -> list[Loader]:
    """Build the Train tab and bind its events; a timer polls the jobs."""
    services.runner.watch()
    with gr.Tab("Train", id="train") as tab:
        gr.Markdown(INTRO.format(method=safe(training_method())))
        with gr.Row():
            form = [field_input(FIELDS["base_model"])]
            datasets = gr.Dropdown(label=FIELDS["datasets"].metadata["label"], choices=[], multiselect=True,
                                   allow_custom_value=True, scale=2)
            refresh_btn = gr.Button("Refresh datasets", scale=0)
        for row in FORM_ROWS:
            with gr.Row():
                form += [field_input(FIELDS[name]) for name in row]
        with gr.Row():
            evaluate = gr.Checkbox(label="Evaluate base vs fine-tuned when done", value=True)
            quick_btn = gr.Button("Quick try (1 min)")
            launch_btn = gr.Button("Launch", variant="primary")
            train_note = gr.Markdown(elem_id="train-note")
        jobs_table = gr.Dataframe(headers=JOB_HEADERS, interactive=False, label="Jobs (one runs, the others wait)")
        with gr.Row():
            ids = act.job_ids(services)  # numbers only: names come after sign-in
            job_pick = gr.Dropdown(label="Job", choices=ids, value=ids[0] if ids else None)
            stop_btn = gr.Button("Stop", variant="stop", interactive=False)  # until a job can
            resume_btn = gr.Button("Resume", interactive=False)
            job_note = gr.Markdown(elem_id="job-note")
        progress = gr.HTML(elem_id="train-progress")
        with gr.Row():
            losses = gr.Plot(label="Train and eval loss")
            log = gr.Textbox(label="Log", lines=14, max_lines=14, autoscroll=True)
        gr.Markdown("What training changed, overall, per data source and per event type "
                    "(a model that learned the style of one source fails on the others):")
        result = gr.Markdown(elem_id="train-summary")
        comparison = gr.Dataframe(headers=["scope", "metric"], interactive=False, wrap=True)
        recalls = gr.Plot(label="Recall at start, switch and end")
        timer = gr.Timer(2.0)

    views = [job_note, jobs_table, progress, losses, log, comparison, recalls, stop_btn, resume_btn, result]
    listed = bound(dataset_names, services)
    refresh_btn.click(listed, None, [train_note, datasets])
    tab.select(listed, None, [train_note, datasets])
    quick_btn.click(quick_try, None, form)
    launch_btn.click(bound(launch, services), [datasets, evaluate, *form], [train_note, job_pick],
                     api_name="train_launch")
    job_pick.change(bound(view, services), job_pick, views, api_name="train_job")
    timer.tick(bound(view, services), job_pick, views)
    stop_btn.click(bound(stop, services), job_pick, job_note, api_name="train_stop")
    resume_btn.click(bound(resume, services), job_pick, job_note, api_name="train_resume")
    return [Loader(bound(job_choice, services), [job_pick])]
