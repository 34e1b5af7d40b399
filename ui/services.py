"""What the tabs share: settings, the database and the stores, the routers."""
from dataclasses import dataclass, field

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
    routers: RouterFactory
    runs: RunStore = field(init=False)

    def __post_init__(self):
        self.runs = RunStore(self.file, self.datasets)

    @classmethod
    def build(cls, settings: Settings) -> "Services":
        """Open the database and wire the stores."""
        file = DatabaseFile(settings.db_path)
        return cls(settings, file, TaskStore(file), DatasetStore(file), RouterFactory(settings))
