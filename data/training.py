"""What a training job does: gather conversations, train, register the adapter, evaluate base vs tuned."""
import json
import random
from dataclasses import asdict, replace
from pathlib import Path

from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.jobs import JobReporter, JobStore
from data.models import ModelStore
from data.runs import RunStore
from data.tasks import TaskStore
from data.testsets import refuse_testsets
from router.catalog import Catalog
from router.conversation import Conversation
from router.embedded import EMBEDDED
from router.evaluation import PROTOCOLS, Evaluation, RunConfig
from router.services import RouterFactory
from router.settings import Settings
from router.strategies import DEFAULT_STRATEGY, create_strategy
from router.training.config import TrainConfig
from router.training.examples import ExampleBuilder, Perturbation, rolled_currents, split
from router.training.packing import PackedBuilder
from router.training.job import model_path, train

STRATEGY = DEFAULT_STRATEGY  # before and after are judged as the default router routes


def gather(datasets: DatasetStore, config: TrainConfig, default: Catalog) -> list[Conversation]:
    """The configured datasets' conversations, each carrying the catalog it is routed with.

    A dataset holding test-set conversations is refused (data.testsets): they are never trained on.
    """
    refuse_testsets(datasets, config.datasets)
    out = []
    for name in config.datasets:
        catalog = datasets.catalog(name) or default
        out += [replace(c, tasks=c.tasks or catalog)
                for c in datasets.conversations(name, tuple(config.statuses))]
    return out[: config.max_conversations]


def eval_key(role: str, protocol: str) -> str:
    """How a job's eval_runs name the run of a role (base, tuned) with a protocol: 'tuned free'."""
    return f"{role} {protocol}"


EVAL_KEYS = tuple(eval_key(role, protocol) for protocol in PROTOCOLS for role in ("base", "tuned"))


def heldout_name(job: int) -> str:
    """The dataset holding a job's held-out conversations."""
    return f"job{job}-heldout"


def tuned_name(job: int) -> str:
    """The name a job's adapter is registered under."""
    return f"job{job}-lora"


class TrainingJob:
    """One job of the `jobs` table, run in this process."""

    def __init__(self, file: DatabaseFile, settings: Settings, job: int, config: TrainConfig):
        self.settings, self.job = settings, job
        self.config = replace(config, output_dir=config.output_dir or str(output_dir(settings, job)))
        self.jobs, self.datasets, self.models = JobStore(file), DatasetStore(file), ModelStore(file)
        self.tasks, self.runs = TaskStore(file), RunStore(file, self.datasets)
        self.reporter = JobReporter(self.jobs, job)
        self.jobs.set(job, config=asdict(self.config))

    def run(self, evaluate: bool = True) -> str:
        """Train (resuming from a checkpoint), then register and evaluate; return the final status."""
        config = self.config
        train_convs, held = split(gather(self.datasets, config, self.tasks.catalog()),
                                  config.eval_fraction, config.seed)
        self.keep_heldout(held)
        rolled = self.rollout(rolled_out(train_convs, config))
        train_rows, eval_rows, skipped = training_rows(config, self.settings, train_convs, held, rolled)
        self.reporter.log(f"{len(train_convs)} train and {len(held)} held-out conversations; "
                          f"{skipped} decisions longer than {config.max_seq_length} tokens skipped")
        result = train(config, train_rows, eval_rows[: config.max_eval_examples], self.reporter, self.settings)
        summary = {"steps": result.steps, "tokens": result.tokens, "seconds": result.seconds,
                   "decisions": result.decisions, "tokens_per_second": result.tokens_per_second,
                   "decisions_per_second": result.decisions_per_second, "method": result.method,
                   "packing": config.packing, "train_rows": len(train_rows), "eval_rows": len(eval_rows)}
        if result.stopped:
            self.jobs.mark(self.job, "stopped", result=summary)
            return "stopped"
        model = self.models.register(tuned_name(self.job), config.base_model, str(result.adapter), self.job)
        self.jobs.set(self.job, progress=1.0, result=summary, adapter=str(result.adapter), model=model)
        if evaluate and held:
            self.jobs.set(self.job, eval_runs=self.evaluate(heldout_name(self.job), str(result.adapter)))
        self.jobs.mark(self.job, "done")
        return "done"

    def keep_heldout(self, held: list[Conversation]) -> None:
        """Store the held-out conversations as a dataset (once: a resumed job finds it there)."""
        name = heldout_name(self.job)
        if held and name not in self.datasets.names():
            self.datasets.add(name, [replace(c, meta={}) for c in held], source="heldout")
        self.jobs.set(self.job, heldout=name if held else None)

    def rollout(self, conversations: list[Conversation]) -> dict[tuple[str, int], str | None]:
        """The current task the router gave itself at each decision of `conversations` (free protocol).

        Routed by the default strategy with the adapter to continue (or the base model), once: a
        resumed job reads the rollout it saved in its output folder.
        """
        saved = Path(self.config.output_dir) / "rollout.json"
        if saved.exists():
            return {(c, p): current for c, p, current in json.loads(saved.read_text())}
        if not conversations:
            return {}
        self.reporter.log(f"rolling out {len(conversations)} conversations (free protocol) with "
                          f"{self.config.init_adapter or 'the base model'}")
        factory = RouterFactory(self.settings)
        router = factory.router(STRATEGY, "local", routed_model(self.config), self.config.init_adapter)
        judged = Evaluation(router, self.tasks.catalog(), "free", progress=self.eval_progress("rollout")).run(
            conversations)
        factory.backends.clear()
        rolled = rolled_currents(judged)
        wrong = sum(1 for j in judged if j.predicted != j.gold)
        left = sum(1 for j in judged if rolled[(j.conversation, j.position)] != j.previous)
        self.reporter.log(f"rollout: {wrong} of {len(judged)} decisions wrong, {left} given a current task "
                          "other than the gold previous label (trained with it too)")
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps([[c, p, current] for (c, p), current in rolled.items()]))
        return rolled

    def evaluate(self, dataset: str, adapter: str) -> dict[str, int]:
        """Evaluate base and tuned on `dataset` with each protocol; the run ids by eval_key, free first."""
        factory, runs, model = RouterFactory(self.settings), {}, routed_model(self.config)
        for role, tuned in (("base", None), ("tuned", adapter)):
            router = factory.router(STRATEGY, "local", model, tuned)
            for protocol in PROTOCOLS:
                key = eval_key(role, protocol)
                self.reporter.log(f"evaluating the {role} model on '{dataset}' ({protocol} protocol)")
                config = RunConfig(dataset, STRATEGY, "local", model, tuned, protocol)
                runs[key] = self.runs.execute(config, router, self.tasks.catalog(), self.eval_progress(key))
            factory.backends.clear()
        return {key: runs[key] for key in EVAL_KEYS}

    def eval_progress(self, name: str):
        """A progress callback logging every tenth routed turn."""
        def show(done: int, total: int) -> None:
            if done == total or done % 10 == 0:
                self.reporter.log(f"{name} evaluation: {done}/{total} turns routed")
        return show


def routed_model(config: TrainConfig) -> str | None:
    """The model a job's routers run on: None for the embedded one (the local backend's default)."""
    return None if config.base_model == EMBEDDED else config.base_model


def rolled_out(conversations: list[Conversation], config: TrainConfig) -> list[Conversation]:
    """The training conversations to roll out first: a seeded `rollout_share` of them."""
    rng = random.Random(f"{config.seed}:rollout")
    return [c for c in conversations if rng.random() < config.rollout_share]


def training_rows(config: TrainConfig, settings: Settings, train_convs: list[Conversation],
                  held: list[Conversation], rolled: dict | None = None) -> tuple[list[dict], list[dict], int]:
    """Train and eval rows (packed, or one example per decision) and the decisions skipped as too long.

    `rolled`: the current tasks of a rollout (DAgger), trained too where they are not the gold one.
    Held-out rows are never perturbed: their loss measures the decisions as live use makes them.
    """
    strategy, tok = create_strategy(STRATEGY, settings.prompts_dir), tokenizer(config, settings)
    kind = PackedBuilder if config.packing else ExampleBuilder
    perturbation = Perturbation(config.wrong_current_share, config.seed, rolled or {})
    builder = kind(strategy, tok, config.max_seq_length, perturbation)
    train_rows = [r.to_dict() for r in builder.build(train_convs)]
    plain = kind(strategy, tok, config.max_seq_length)
    eval_rows = [r.to_dict() for r in plain.build(held)]
    return train_rows, eval_rows, builder.skipped + plain.skipped


def tokenizer(config: TrainConfig, settings: Settings):
    """The base model's tokenizer."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_path(config.base_model, settings))


def output_dir(settings: Settings, job: int) -> Path:
    """Where a job keeps its config, log, checkpoints and adapter by default."""
    return settings.data_dir / "jobs" / str(job)
