"""What the Tasks tab does, as functions of the services and plain values (no gradio here)."""
from router.catalog import Catalog, Info, Task
from router.uploads import CATALOG_TYPES, check_upload
from services import Services
from ui.errors import Refused
from ui.escaping import safe
from ui.files import write_file

NEW = "(new task)"


def table(catalog: Catalog) -> list[list[str]]:
    """Rows of the catalog table."""
    return [[t.name, t.description, t.instructions, ", ".join(i.name for i in t.infos)]
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
    else:
        services.tasks.update(selected, task)
    return task.name, f"Saved task '{safe(task.name)}'."


def delete(services: Services, selected: str) -> str:
    """Delete the selected task; a message."""
    if selected == NEW:
        raise Refused("Choose a task to delete.", "selected")
    services.tasks.delete(selected)
    return f"Deleted task '{safe(selected)}'."


def import_file(services: Services, file: str | None, replace: bool) -> str:
    """Import a catalog file, merged by name or replacing the catalog; a message."""
    if not file:
        raise Refused("Choose a JSON catalog file first.", "upload")
    checked = check_upload(file, CATALOG_TYPES, services.settings.max_upload_mb)
    catalog = services.tasks.import_catalog(Catalog.load(checked, services.settings.max_tasks), replace=replace)
    return f"Imported {safe(checked.name)}: the catalog has {len(catalog)} tasks."


def export(services: Services, shape: str) -> str:
    """Write the catalog in `shape` (native or mojodex) to a new file; its path."""
    return write_file("catalog-", f"catalog-{shape}.json", services.tasks.export(shape))
