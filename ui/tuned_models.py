"""A picker of the fine-tuned router models (Train tab) that fills a model and an adapter field."""
import gradio as gr

from router.embedded import EMBEDDED
from services import Services
from ui.errors import shown


def tuned_model_picker(services: Services, model: gr.Textbox, adapter: gr.Textbox) -> gr.Dropdown:
    """A dropdown of registered models; choosing one fills `model` (blank: embedded) and `adapter`."""
    picker = gr.Dropdown(label="Or a fine-tuned router model (Train tab)", choices=[])

    @shown
    def use(name):
        if not name:
            return gr.update(), gr.update()
        base, path = services.models.resolve(name)
        return ("" if base == EMBEDDED else base), path

    picker.focus(lambda: gr.update(choices=services.models.choices()), None, picker)
    picker.change(use, picker, [model, adapter])
    return picker
