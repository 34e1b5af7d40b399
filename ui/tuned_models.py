"""A picker of the fine-tuned router models (Train tab) that fills a model and an adapter field."""
import gradio as gr

from router.embedded import EMBEDDED
from services import Services
from ui.errors import noted


def tuned_model_picker(services: Services, model: gr.Textbox, adapter: gr.Textbox) -> gr.Dropdown:
    """A dropdown of registered models; choosing one fills `model` (blank: embedded) and `adapter`.

    A model that cannot be used leaves a note under the dropdown.
    """
    with gr.Column(min_width=160):
        picker = gr.Dropdown(label="Or a fine-tuned router model (Train tab)", choices=[])
        note = gr.Markdown()

    @noted(keep=2)
    def use(name):
        if not name:
            return "", gr.skip(), gr.skip()
        base, path = services.models.resolve(name)
        return "", ("" if base == EMBEDDED else base), path

    picker.focus(lambda: gr.update(choices=services.models.choices()), None, picker)
    picker.change(use, picker, [note, model, adapter])
    return picker
