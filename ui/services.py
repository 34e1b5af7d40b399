"""What the tabs share: settings, the database and the stores, the routers."""
from dataclasses import dataclass
from pathlib import Path

from data.annotations import AnnotationStore
from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.jobs import JobStore
from data.models import ModelStore
from data.runner import Runner
from data.runs import RunStore
from data.tasks import TaskStore
from router.embedded import EMBEDDED
from router.services import RouterFactory
from router.settings import Settings


@dataclass
class Services:
    """Built once by app.py and handed to every tab."""

    settings: Settings
    file: DatabaseFile
    tasks: TaskStore
    datasets: DatasetStore
    runs: RunStore
    annotations: AnnotationStore
    routers: RouterFactory
    jobs: JobStore
    models: ModelStore
    runner: Runner

    @classmethod
    def build(cls, settings: Settings) -> "Services":
        """Open the database and wire the stores."""
        file = DatabaseFile(settings.db_path)
        tasks, datasets = TaskStore(file, settings.max_tasks), DatasetStore(file, settings.max_tasks)
        jobs, models = JobStore(file), ModelStore(file)
        if settings.default_adapter:
            models.register(default_name(settings), EMBEDDED, settings.default_adapter)
        return cls(settings, file, tasks, datasets, RunStore(file, datasets),
                   AnnotationStore(file, datasets, tasks), RouterFactory(settings),
                   jobs, models, Runner(jobs, settings))


def default_name(settings: Settings) -> str | None:
    """The registered name of the default router's adapter (its folder name), None for the base model."""
    return Path(settings.default_adapter).name if settings.default_adapter else None
