"""Train tab: LoRA/QLoRA fine-tuning jobs of the router model, evaluated against the base."""
import gradio as gr
import pandas as pd

from router.comparison import breakdown
from router.embedded import EMBEDDED
from router.training.config import TrainConfig
from router.training.job import training_method
from ui.errors import shown
from ui.escaping import safe
from ui.services import Services
from ui.train_figures import loss_figure, recall_figure

FIELDS = ("base_model", "lora_r", "lora_alpha", "lora_dropout", "target_modules", "learning_rate", "epochs",
          "max_steps", "max_minutes", "max_seq_length", "batch_size", "grad_accumulation", "eval_steps",
          "eval_fraction", "packing", "wrong_current_share")
LOG_LINES = 300
JOB_HEADERS = ["id", "status", "progress", "datasets", "model", "created_at", "finished_at"]


def job_rows(services: Services) -> list[list]:
    """Rows of the job table (the queue), newest first."""
    return [[j["id"], j["status"], f"{100 * (j['progress'] or 0):.0f}%",
             ", ".join((j["config"] or {}).get("datasets", [])), j["model"] or "", j["created_at"],
             j["finished_at"] or ""] for j in services.jobs.listing()]


def progress_html(job: dict | None) -> str:
    """A progress bar with the job's status."""
    if job is None:
        return "<p>No job yet.</p>"
    value = job["progress"] or 0.0
    note_html = f" — {safe(job['error'])}" if job["error"] else ""
    return (f"<p>Job {int(job['id'])}: <b>{safe(job['status'])}</b>{note_html}</p>"
            f"<progress value='{value:.3f}' max='1' style='width:100%'></progress> {100 * value:.0f}%")


def evaluated(services: Services, job: dict) -> list[tuple[str, dict]]:
    """(title, metrics) of the job's finished evaluation runs: base and fine-tuned, free protocol first."""
    runs = [(key.replace("tuned", "fine-tuned"), services.runs.get(run))
            for key, run in (job["eval_runs"] or {}).items()]
    return [(title, run["metrics"]) for title, run in runs if run["metrics"]]


def config_from(fields: dict) -> TrainConfig:
    """A TrainConfig from the form's values (blank numbers take the defaults)."""
    modules = [m.strip() for m in (fields.pop("target_modules") or "").split(",") if m.strip()]
    minutes = fields.pop("max_minutes")
    ints = ("lora_r", "lora_alpha", "epochs", "max_steps", "max_seq_length", "batch_size",
            "grad_accumulation", "eval_steps")
    values = {k: (int(v) if k in ints else v) for k, v in fields.items() if v is not None}
    return TrainConfig(target_modules=modules, max_minutes=minutes or None,
                       base_model=(values.pop("base_model", "") or "").strip() or EMBEDDED, **values)


def create_train_tab(services: Services):
    """Build the Train tab and bind its events; a timer polls the jobs."""
    jobs, runner = services.jobs, services.runner
    runner.watch()
    defaults = TrainConfig(datasets=["-"])

    def job_choice(selected: int | None = None):
        ids = [j["id"] for j in jobs.listing()]
        return gr.update(choices=ids, value=selected if selected in ids else (ids[0] if ids else None))

    @shown
    def refresh(job_id):
        runner.poll()
        job = jobs.get(job_id) if job_id else None
        runs = evaluated(services, job) if job else []
        headers, rows = breakdown(runs)
        return (job_rows(services), progress_html(job),
                loss_figure(jobs.losses(job_id) if job_id else []),
                "\n".join(((job or {}).get("log") or "").splitlines()[-LOG_LINES:]),
                pd.DataFrame(rows, columns=headers), recall_figure(runs))

    @shown
    def launch(datasets, evaluate, *values):
        if not datasets:
            raise gr.Error("Choose at least one dataset.")
        config = config_from(dict(zip(FIELDS, values), datasets=list(datasets)))
        job = runner.submit(config, evaluate=evaluate)
        gr.Info(f"Job {int(job)} queued.")
        return job_choice(job)

    @shown
    def listed():
        return gr.update(choices=services.datasets.names())

    def stop(job_id):
        if not job_id:
            raise gr.Error("Choose a job.")
        gr.Info(f"Job {int(job_id)}: {safe(runner.stop(int(job_id)))}.")

    @shown
    def resume(job_id):
        if not job_id:
            raise gr.Error("Choose a job.")
        runner.resume(int(job_id))
        gr.Info(f"Job {int(job_id)} queued again; it resumes from its last checkpoint.")

    with gr.Tab("Train", id="train") as tab:
        gr.Markdown(f"Fine-tune the router model with a LoRA adapter on labelled datasets; this machine "
                    f"trains with **{safe(training_method())}**. Each job runs in its own process, one at a time; "
                    "when it finishes, its adapter is registered as a router model and evaluated against "
                    "the base on the held-out conversations, with the free protocol (the router's own "
                    "previous decision, as live) and the gold one.")
        with gr.Row():
            base_model = gr.Textbox(label="Base model (name, folder or hub id)", value=EMBEDDED)
            datasets = gr.Dropdown(label="Datasets", choices=[], multiselect=True, allow_custom_value=True,
                                   scale=2)
            refresh_btn = gr.Button("Refresh datasets", scale=0)
        with gr.Row():
            lora_r = gr.Number(label="LoRA r", value=defaults.lora_r, precision=0)
            lora_alpha = gr.Number(label="LoRA alpha", value=defaults.lora_alpha, precision=0)
            lora_dropout = gr.Number(label="LoRA dropout", value=defaults.lora_dropout)
            target_modules = gr.Textbox(label="Target modules", value=", ".join(defaults.target_modules))
        with gr.Row():
            learning_rate = gr.Number(label="Learning rate", value=defaults.learning_rate)
            epochs = gr.Number(label="Epochs", value=defaults.epochs, precision=0)
            max_steps = gr.Number(label="Max steps (-1: epochs)", value=defaults.max_steps, precision=0)
            max_minutes = gr.Number(label="Time bound, minutes (0: none)", value=0)
        with gr.Row():
            max_seq_length = gr.Number(label="Max sequence length", value=defaults.max_seq_length, precision=0)
            batch_size = gr.Number(label="Batch size", value=defaults.batch_size, precision=0)
            grad_accumulation = gr.Number(label="Gradient accumulation", value=defaults.grad_accumulation,
                                          precision=0)
            eval_steps = gr.Number(label="Evaluate every N steps", value=defaults.eval_steps, precision=0)
            eval_fraction = gr.Number(label="Held-out share of conversations", value=defaults.eval_fraction)
        with gr.Row():
            packing = gr.Checkbox(label="Packing: one row per conversation, each decision a branch "
                                        "(about 5x faster)", value=defaults.packing)
            wrong_current_share = gr.Number(label="Share of decisions also trained with a wrong current task",
                                            value=defaults.wrong_current_share, minimum=0, maximum=1)
        with gr.Row():
            evaluate = gr.Checkbox(label="Evaluate base vs fine-tuned when done", value=True)
            launch_btn = gr.Button("Launch", variant="primary")
        jobs_table = gr.Dataframe(headers=JOB_HEADERS, interactive=False,
                                  label="Jobs (one runs, the others wait)")
        with gr.Row():
            ids = [j["id"] for j in jobs.listing()]  # numbers only: names come after sign-in
            job_pick = gr.Dropdown(label="Job", choices=ids, value=ids[0] if ids else None)
            stop_btn = gr.Button("Stop", variant="stop")
            resume_btn = gr.Button("Resume")
        progress = gr.HTML()
        with gr.Row():
            losses = gr.Plot(label="Train and eval loss")
            log = gr.Textbox(label="Log", lines=14, max_lines=14, autoscroll=True)
        gr.Markdown("What training changed, overall, per data source and per event type "
                    "(a model that learned the style of one source fails on the others):")
        comparison = gr.Dataframe(interactive=False, wrap=True)
        recalls = gr.Plot(label="Recall at start, switch and end")
        timer = gr.Timer(2.0)

    form = [base_model, lora_r, lora_alpha, lora_dropout, target_modules, learning_rate, epochs, max_steps,
            max_minutes, max_seq_length, batch_size, grad_accumulation, eval_steps, eval_fraction, packing,
            wrong_current_share]
    views = [jobs_table, progress, losses, log, comparison, recalls]
    refresh_btn.click(listed, None, datasets)
    tab.select(listed, None, datasets)
    launch_btn.click(launch, [datasets, evaluate, *form], job_pick, api_name="train_launch")
    job_pick.change(refresh, job_pick, views, api_name="train_job")
    timer.tick(refresh, job_pick, views)
    stop_btn.click(stop, job_pick, None, api_name="train_stop")
    resume_btn.click(resume, job_pick, None, api_name="train_resume")
    return job_choice, job_pick
