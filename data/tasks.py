"""The task catalog in SQLite: list, add, edit, delete, import, export."""
import json

from data.db import DatabaseFile, Store, immediate, now
from router.catalog import MAX_TASKS, Catalog, Info, Task, check_size, require_valid
from router.errors import CatalogError, UnknownTaskError


def task_from_row(row: dict) -> Task:
    """A Task from a `tasks` row."""
    infos = tuple(Info(i["name"], i["description"]) for i in json.loads(row["infos"] or "[]"))
    return Task(row["name"], row["description"], row["instructions"] or "", infos, row.get("title") or "",
                row.get("icon") or "")


def task_to_row(task: Task, position: int) -> dict:
    """A `tasks` row from a Task."""
    return {"name": task.name, "description": task.description, "instructions": task.instructions,
            "infos": json.dumps([{"name": i.name, "description": i.description} for i in task.infos]),
            "title": task.title, "icon": task.icon, "position": position, "updated_at": now()}


class TaskStore(Store):
    """The catalog in effect, kept in the `tasks` table, at most `max_tasks` tasks."""

    def __init__(self, file: DatabaseFile, max_tasks: int | None = MAX_TASKS):
        super().__init__(file)
        self.max_tasks = max_tasks

    def catalog(self) -> Catalog:
        """The current catalog, in its order."""
        return Catalog([task_from_row(r) for r in self.db["tasks"].rows_where(order_by="position")])

    def save(self, catalog: Catalog) -> None:
        """Replace the whole table with `catalog`, in one transaction."""
        with immediate(self.db):
            self.db.execute("DELETE FROM tasks")
            self.db["tasks"].insert_all(task_to_row(t, k) for k, t in enumerate(catalog))

    def add(self, task: Task) -> Catalog:
        """Append a task; the catalog's rules apply."""
        require_valid(task)
        current = self.catalog()
        if task.name in current:
            raise CatalogError(f"task '{task.name}' already exists", field="name")
        check_size(len(current) + 1, self.max_tasks)
        catalog = Catalog(current.tasks + (task,))
        self.save(catalog)
        return catalog

    def update(self, name: str, task: Task) -> Catalog:
        """Replace the task called `name` (possibly renaming it)."""
        require_valid(task)
        current = self.require(name)
        if task.name != name and task.name in current:
            raise CatalogError(f"task '{task.name}' already exists", field="name")
        catalog = Catalog(tuple(task if t.name == name else t for t in current))
        self.save(catalog)
        return catalog

    def delete(self, name: str) -> Catalog:
        """Remove the task called `name`."""
        current = self.require(name)
        catalog = Catalog(tuple(t for t in current if t.name != name))
        self.save(catalog)
        return catalog

    def require(self, name: str) -> Catalog:
        """The current catalog, checked to hold `name`."""
        current = self.catalog()
        if name not in current:
            raise UnknownTaskError(f"no task called '{name}'")
        return current

    def import_catalog(self, incoming: Catalog, replace: bool = False) -> Catalog:
        """Merge `incoming` (same names are overwritten) or replace the catalog with it."""
        if replace:
            catalog = incoming
        else:
            current = self.catalog()
            kept = [incoming.get(t.name) or t for t in current]
            catalog = Catalog(kept + [t for t in incoming if t.name not in current])
        check_size(len(catalog), self.max_tasks)
        self.save(catalog)
        return catalog

    def export(self, shape: str = "native") -> str:
        """The catalog as a JSON document."""
        return self.catalog().to_json(shape)
