"""Tasks tab: list, add, edit, delete, import and export the task catalog."""
import tempfile
from pathlib import Path

import gradio as gr

from router.catalog import Catalog, Info, Task
from router.uploads import CATALOG_TYPES, check_upload
from ui.errors import shown
from ui.escaping import safe
from ui.services import Services

NEW = "(new task)"
INFO_HEADERS = ["name", "description"]


def table(catalog: Catalog) -> list[list[str]]:
    """Rows of the catalog table."""
    return [[t.name, t.description, t.instructions, ", ".join(i.name for i in t.infos)]
            for t in catalog]


def infos_from_rows(rows) -> tuple[Info, ...]:
    """Infos from the editable table, skipping blank rows."""
    values = rows.values.tolist() if hasattr(rows, "values") else rows or []
    return tuple(Info(str(n).strip(), str(d or "").strip()) for n, d in values if str(n or "").strip())


def create_tasks_tab(services: Services) -> None:
    """Build the Tasks tab and bind its events."""
    store = services.tasks

    def refresh(selected: str = NEW):
        catalog = store.catalog()
        return table(catalog), gr.update(choices=[NEW] + catalog.names, value=selected)

    def fill(selected: str):
        task = store.catalog().get(selected) if selected != NEW else None
        task = task or Task("", "")
        return (task.name, task.description, task.instructions,
                [[i.name, i.description] for i in task.infos] or [["", ""]])

    @shown
    def save(selected, name, description, instructions, infos):
        task = Task(name.strip(), description.strip(), instructions.strip(), infos_from_rows(infos))
        if selected == NEW:
            store.add(task)
        else:
            store.update(selected, task)
        gr.Info(f"Saved task '{safe(task.name)}'.")
        return refresh(task.name)

    @shown
    def delete(selected):
        if selected == NEW:
            raise gr.Error("Choose a task to delete.")
        store.delete(selected)
        gr.Info(f"Deleted task '{safe(selected)}'.")
        return refresh()

    @shown
    def import_file(file, replace):
        if not file:
            raise gr.Error("Choose a JSON catalog file first.")
        checked = check_upload(file, CATALOG_TYPES, services.settings.max_upload_mb)
        catalog = store.import_catalog(Catalog.load(checked, services.settings.max_tasks), replace=replace)
        gr.Info(f"Imported {safe(checked.name)}: the catalog has {len(catalog)} tasks.")
        return refresh()

    @shown
    def export(shape):
        text = store.export(shape)
        folder = Path(tempfile.mkdtemp(prefix="catalog-"))
        path = folder / f"catalog-{shape}.json"
        path.write_text(text, encoding="utf-8")
        return str(path)

    with gr.Tab("Tasks", id="tasks"):
        gr.Markdown("The task catalog the router chooses from. Changes apply to the next decision.")
        with gr.Row():
            with gr.Column(scale=3):
                tasks_table = gr.Dataframe(headers=["name", "description", "instructions", "infos"],
                                           interactive=False, wrap=True, label="Catalog",
                                           elem_id="catalog-table")
            with gr.Column(scale=2):
                selected = gr.Dropdown(label="Task to edit", choices=[NEW], value=NEW)
                name = gr.Textbox(label="Name (snake_case)", placeholder="meeting_minutes")
                description = gr.Textbox(label="Description", lines=2)
                instructions = gr.Textbox(label="Instructions for the assistant", lines=3)
                infos = gr.Dataframe(headers=INFO_HEADERS, datatype=["str", "str"], column_count=(2, "fixed"),
                                     interactive=True, label="Information to collect",
                                     value=[["", ""]])
                with gr.Row():
                    save_btn = gr.Button("Save", variant="primary")
                    delete_btn = gr.Button("Delete", variant="stop")
        with gr.Accordion("Import / export", open=False):
            with gr.Row():
                upload = gr.File(label="Catalog JSON (ours or Mojodex's shape)", file_types=[".json"],
                                 type="filepath")
                with gr.Column():
                    replace = gr.Checkbox(label="Replace the whole catalog (otherwise merge by name)")
                    import_btn = gr.Button("Import")
            with gr.Row():
                shape = gr.Radio(["native", "mojodex"], value="native", label="Export shape")
                export_btn = gr.Button("Export")
                download = gr.File(label="Exported catalog", interactive=False)

    listing = [tasks_table, selected]
    form = [name, description, instructions, infos]
    gr.on([selected.change], fill, selected, form)
    save_btn.click(save, [selected, *form], listing, api_name="save_task")
    delete_btn.click(delete, selected, listing, api_name="delete_task")
    import_btn.click(import_file, [upload, replace], listing, api_name="import_catalog")
    export_btn.click(export, shape, download, api_name="export_catalog")
    return refresh, listing
