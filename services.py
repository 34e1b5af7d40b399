"""What the app and the command line share: settings, database, stores, routers, job runner, run queue.

Built once per process (app.py, cli.py). Each part is made on first use, so that a command pays only
for what it touches: `tasks list` opens the database and imports no model code.
"""
from functools import cached_property
from pathlib import Path

from router.embedded import EMBEDDED
from router.settings import Settings


class Services:
    """The parts of the application, each built on first use from the settings."""

    def __init__(self, settings: Settings):
        self.settings = settings

    @classmethod
    def build(cls, settings: Settings) -> "Services":
        """The app's services: the default router's adapter registered as a router model."""
        services = cls(settings)
        if settings.default_adapter:
            services.models.register(default_name(settings), EMBEDDED, settings.default_adapter)
        return services

    @cached_property
    def file(self):
        """The migrated database file."""
        from data.db import DatabaseFile

        return DatabaseFile(self.settings.db_path)

    @cached_property
    def tasks(self):
        """The task catalog."""
        from data.tasks import TaskStore

        return TaskStore(self.file, self.settings.max_tasks)

    @cached_property
    def datasets(self):
        """Labelled datasets."""
        from data.datasets import DatasetStore

        return DatasetStore(self.file, self.settings.max_tasks)

    @cached_property
    def runs(self):
        """Evaluation runs."""
        from data.runs import RunStore

        return RunStore(self.file, self.datasets)

    @cached_property
    def annotations(self):
        """The validation queue and its annotations."""
        from data.annotations import AnnotationStore

        return AnnotationStore(self.file, self.datasets, self.tasks)

    @cached_property
    def routers(self):
        """Routers and backends by name, each model loaded once."""
        from router.services import RouterFactory

        return RouterFactory(self.settings)

    @cached_property
    def jobs(self):
        """Training jobs."""
        from data.jobs import JobStore

        return JobStore(self.file)

    @cached_property
    def models(self):
        """Fine-tuned router models."""
        from data.models import ModelStore

        return ModelStore(self.file)

    @cached_property
    def runner(self):
        """The training job queue's engine."""
        from data.runner import Runner

        return Runner(self.jobs, self.settings)

    @cached_property
    def queue(self):
        """The evaluation run queue's worker (runs in the background, resumed after a restart)."""
        from data.run_queue import RunQueue

        return RunQueue(self.runs, self.routers, self.tasks.catalog)


def default_name(settings: Settings) -> str | None:
    """The registered name of the default router's adapter (its folder name), None for the base model."""
    return Path(settings.default_adapter).name if settings.default_adapter else None
