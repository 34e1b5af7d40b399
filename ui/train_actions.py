"""What the Train tab does, as functions of the services and plain values (no gradio here)."""
from dataclasses import dataclass, fields
import pandas as pd

from data.jobs import RESUMABLE, STOPPABLE
from data.testsets import refuse_testsets
from router.comparison import breakdown, summary
from router.training.config import TrainConfig, default_of, kinds_of
from services import Services
from ui.errors import Refused
from ui.escaping import safe
from ui.train_figures import loss_figure, recall_figure

LOG_LINES = 300
FIELDS = {f.name: f for f in fields(TrainConfig)}
# A first try: a minute of training on short rows, a few small steps (the form's other fields kept)
QUICK_TRY = {"epochs": 1, "max_steps": 20, "max_minutes": 1, "max_seq_length": 512, "batch_size": 1,
             "grad_accumulation": 1, "eval_steps": 10}


@dataclass
class JobView:
    """What the Train tab shows of the jobs and of the chosen one."""

    rows: list[list]
    progress: str
    losses: object
    log: str
    comparison: pd.DataFrame
    recalls: object
    can_stop: bool = False
    can_resume: bool = False
    summary_md: str = ""


def phase(job: dict) -> str:
    """The job's status as shown: a running job whose adapter is saved is evaluating it."""
    return "evaluating" if job["status"] == "running" and job["adapter"] else job["status"]


def job_rows(services: Services) -> list[list]:
    """Rows of the job table (the queue), newest first."""
    return [[j["id"], phase(j), f"{100 * (j['progress'] or 0):.0f}%",
             ", ".join((j["config"] or {}).get("datasets", [])), j["model"] or "", j["created_at"],
             j["finished_at"] or ""] for j in services.jobs.listing()]


def job_ids(services: Services) -> list[int]:
    """The jobs' ids, newest first."""
    return [j["id"] for j in services.jobs.listing()]


def progress_html(job: dict | None) -> str:
    """A progress bar with the job's status, as HTML."""
    if job is None:
        return "<p>No job yet.</p>"
    value = job["progress"] or 0.0
    note_html = f" — {safe(job['error'])}" if job["error"] else ""
    if phase(job) == "evaluating":  # no fraction to show: a bar without a value moves to and fro
        return (f"<p>Job {int(job['id'])}: <b>evaluating</b> — training done; the base and the fine-tuned "
                "model route the held-out conversations (free and gold protocols)</p>"
                "<progress max='1' style='width:100%'></progress>")
    return (f"<p>Job {int(job['id'])}: <b>{safe(job['status'])}</b>{note_html}</p>"
            f"<progress value='{value:.3f}' max='1' style='width:100%'></progress> {100 * value:.0f}%")


def evaluated(services: Services, job: dict) -> list[tuple[str, dict]]:
    """(title, metrics) of the job's finished evaluation runs: base and fine-tuned, free protocol first."""
    runs = [(key.replace("tuned", "fine-tuned"), services.runs.get(run))
            for key, run in (job["eval_runs"] or {}).items()]
    return [(title, run["metrics"]) for title, run in runs if run["metrics"]]


def form_value(name: str, raw: object) -> object:
    """A form input's value as the field's type: lists from comma-separated text, a blank number or an
    optional number at 0 as its default or None, whole numbers as int."""
    kinds = kinds_of(name)
    if isinstance(raw, str) and list[str] in kinds:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(raw, str):
        return raw.strip() or default_of(FIELDS[name])
    if raw is None or (raw == 0 and type(None) in kinds and not isinstance(raw, bool)):
        return None if type(None) in kinds else default_of(FIELDS[name])
    return int(raw) if int in kinds and not isinstance(raw, bool) and raw == int(raw) else raw


def config_from(datasets: list[str] | None, values: dict[str, object]) -> TrainConfig:
    """A TrainConfig from the form's values; each field checked by TrainConfig."""
    if not datasets:
        raise Refused("Choose at least one dataset.", "datasets")
    return TrainConfig(datasets=list(datasets), **{k: form_value(k, v) for k, v in values.items()})


def launch(services: Services, datasets: list[str] | None, evaluate: bool, values: dict[str, object]) -> int:
    """Queue a job with the form's configuration; its id. Datasets holding test sets are refused here."""
    config = config_from(datasets, values)
    refuse_testsets(services.datasets, config.datasets)
    return services.runner.submit(config, evaluate=evaluate)


def show(services: Services, job_id: int | None) -> JobView:
    """The job table and the chosen job's progress, losses, log and what training changed."""
    services.runner.poll()
    job = services.jobs.get(job_id) if job_id else None
    runs = evaluated(services, job) if job else []
    headers, rows = breakdown(runs)
    status = (job or {}).get("status")
    return JobView(job_rows(services), progress_html(job),
                   loss_figure(services.jobs.losses(job_id) if job else None),
                   "\n".join(((job or {}).get("log") or "").splitlines()[-LOG_LINES:]),
                   pd.DataFrame(rows, columns=headers), recall_figure(runs, job),
                   status in STOPPABLE, status in RESUMABLE, result_summary(job, runs))


def result_summary(job: dict | None, runs: list[tuple[str, dict]]) -> str:
    """One plain sentence per fine-tuned evaluation against the copy baseline, as Markdown."""
    return "  \n".join(safe(summary(title, m)) for title, m in fine_tuned(job, runs))


def fine_tuned(job: dict | None, runs: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The fine-tuned evaluations, titled with the job's adapter: 'job3-lora (fine-tuned free)'."""
    name = (job or {}).get("model") or f"job {(job or {}).get('id')}"
    return [(f"{name} ({title})", m) for title, m in runs if title.startswith("fine-tuned")]


def chosen(job_id: float | None) -> int:
    """The chosen job's id; refused when none is chosen."""
    if not job_id:
        raise Refused("Choose a job.", "job_pick")
    return int(job_id)


def stop(services: Services, job_id: float | None) -> str:
    """Stop the chosen job; what happened."""
    return f"Job {chosen(job_id)}: {safe(services.runner.stop(chosen(job_id)))}."


def resume(services: Services, job_id: float | None) -> str:
    """Queue the chosen job again; it resumes from its last checkpoint."""
    services.runner.resume(chosen(job_id))
    return f"Job {chosen(job_id)} queued again; it resumes from its last checkpoint."
