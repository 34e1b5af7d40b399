"""What the tabs share: settings, the database and the stores, the routers."""
from dataclasses import dataclass

from data.annotations import AnnotationStore
from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.runs import RunStore
from data.tasks import TaskStore
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

    @classmethod
    def build(cls, settings: Settings) -> "Services":
        """Open the database and wire the stores."""
        file = DatabaseFile(settings.db_path)
        tasks, datasets = TaskStore(file), DatasetStore(file)
        return cls(settings, file, tasks, datasets, RunStore(file, datasets),
                   AnnotationStore(file, datasets, tasks), RouterFactory(settings))
