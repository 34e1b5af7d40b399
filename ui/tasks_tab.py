"""Tasks tab: its layout, and its events bound to the actions of ui.tasks_actions."""
import gradio as gr

from services import Services
from ui import tasks_actions as act
from ui.errors import noted
from ui.tasks_actions import NEW
from ui.wiring import Loader, bound

INFO_HEADERS = ["name", "description"]


def listing(services: Services, selected: str = NEW):
    """The catalog table and the task picker, `selected` chosen."""
    catalog = services.tasks.catalog()
    return act.table(catalog), gr.update(choices=[NEW] + catalog.names, value=selected)


@noted(keep=2)
def save(services: Services, selected, name, description, instructions, infos):
    """Save the form as a task; what was done, beside the buttons."""
    saved, message = act.save(services, selected, name, description, instructions, infos)
    return message, *listing(services, saved)


@noted(keep=2)
def delete(services: Services, selected):
    """Delete the chosen task; what was done, beside the buttons."""
    return act.delete(services, selected), *listing(services)


@noted(keep=4)
def form(services: Services, selected):
    """The chosen task in the form; the note beside the buttons changes only when it cannot be read."""
    return gr.skip(), *act.form(services, selected)


@noted(keep=2)
def import_files(services: Services, files, replace):
    """Import catalog or task files; what was done, beside the Import button."""
    return act.import_files(services, files, replace), *listing(services)


@noted(keep=1)
def export(services: Services, shape):
    """Write the catalog to a file to download."""
    return "", act.export(services, shape)


def picked(services: Services, evt: gr.SelectData):
    """The task of the clicked row of the catalog table, chosen for editing."""
    names = services.tasks.catalog().names
    return names[evt.index[0]] if evt.index and evt.index[0] < len(names) else gr.skip()


def create_tasks_tab(services: Services) -> list[Loader]:
    """Build the Tasks tab and bind its events; the catalog comes on page load."""
    with gr.Tab("Tasks", id="tasks"):
        gr.Markdown("The task catalog the router chooses from. Changes apply to the next decision.")
        with gr.Row():
            with gr.Column(scale=3):
                tasks_table = gr.Dataframe(headers=act.HEADERS,
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
                note = gr.Markdown(elem_id="task-note")
        with gr.Accordion("Import / export", open=False):
            with gr.Row():
                upload = gr.File(label="Catalog or task JSON files (ours, or Mojodex's: a catalog or "
                                       "one task per file)", file_types=[".json"], type="filepath",
                                 file_count="multiple")
                with gr.Column():
                    replace = gr.Checkbox(label="Replace the whole catalog (otherwise merge by name)")
                    import_btn = gr.Button("Import")
                    import_note = gr.Markdown(elem_id="import-note")
            with gr.Row():
                shape = gr.Radio(["native", "mojodex"], value="native", label="Export shape")
                export_btn = gr.Button("Export")
                download = gr.File(label="Exported catalog", interactive=False)
                export_note = gr.Markdown(elem_id="export-note")

    catalog = [tasks_table, selected]
    fields = [name, description, instructions, infos]
    selected.change(bound(form, services), selected, [note, *fields])
    tasks_table.select(bound(picked, services), None, selected)
    save_btn.click(bound(save, services), [selected, *fields], [note, *catalog], api_name="save_task")
    delete_btn.click(bound(delete, services), selected, [note, *catalog], api_name="delete_task")
    import_btn.click(bound(import_files, services), [upload, replace], [import_note, *catalog],
                     api_name="import_catalog")
    export_btn.click(bound(export, services), shape, [export_note, download], api_name="export_catalog")
    return [Loader(bound(listing, services), catalog)]
