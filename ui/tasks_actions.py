"""What the Tasks tab does, as functions of the services and plain values (no gradio here)."""
from dataclasses import replace
from router.catalog import Catalog, Info, Task
from router.uploads import CATALOG_TYPES, check_upload
from services import Services
from ui.errors import Refused
from ui.escaping import safe
from ui.files import write_file

NEW = "(new task)"


HEADERS = ["task", "description", "instructions", "information to collect"]


def table(catalog: Catalog) -> list[list[str]]:
    """Rows of the catalog table: the task as users see it (icon, title) and by name, and all it holds."""
    return [[" ".join(p for p in (t.icon, t.title, f"({t.name})" if t.title else t.name) if p),
             t.description, t.instructions, "\n".join(f"{i.name}: {i.description}" for i in t.infos)]
            for t in catalog]


def infos_from_rows(rows) -> tuple[Info, ...]:
    """Infos from the editable table (a DataFrame or rows), skipping blank rows."""
    values = rows.values.tolist() if hasattr(rows, "values") else rows or []
    return tuple(Info(str(n).strip(), str(d or "").strip()) for n, d in values if str(n or "").strip())


def form(services: Services, selected: str) -> tuple[str, str, str, list[list[str]]]:
    """Name, description, instructions and info rows of the selected task (blank for a new one)."""
    task = (services.tasks.catalog().get(selected) if selected != NEW else None) or Task("", "")
    return (task.name, task.description, task.instructions,
            [[i.name, i.description] for i in task.infos] or [["", ""]])


def save(services: Services, selected: str, name: str, description: str, instructions: str,
         infos) -> tuple[str, str]:
    """Add the task (or update the selected one); its name and a message."""
    task = Task(name.strip(), description.strip(), instructions.strip(), infos_from_rows(infos))
    if selected == NEW:
        services.tasks.add(task)
    else:  # the title and icon of an imported task are kept
        shown = services.tasks.catalog().get(selected) or task
        services.tasks.update(selected, replace(task, title=shown.title, icon=shown.icon))
    return task.name, f"Saved task '{safe(task.name)}'."


def delete(services: Services, selected: str) -> str:
    """Delete the selected task; a message."""
    if selected == NEW:
        raise Refused("Choose a task to delete.", "selected")
    services.tasks.delete(selected)
    return f"Deleted task '{safe(selected)}'."


def import_files(services: Services, files: list[str] | str | None, whole: bool) -> str:
    """Import catalog or Mojodex task files as one catalog, merged by name or replacing it; a message."""
    files = [files] if isinstance(files, str) else list(files or [])
    if not files:
        raise Refused("Choose JSON catalog or task files first.", "upload")
    checked = [check_upload(f, CATALOG_TYPES, services.settings.max_upload_mb) for f in files]
    catalog = services.tasks.import_catalog(Catalog.load_all(checked, services.settings.max_tasks), replace=whole)
    names = ", ".join(path.name for path in checked)
    return f"Imported {safe(names)}: the catalog has {len(catalog)} tasks."


def export(services: Services, shape: str) -> str:
    """Write the catalog in `shape` (native or mojodex) to a new file; its path."""
    return write_file("catalog-", f"catalog-{shape}.json", services.tasks.export(shape))
