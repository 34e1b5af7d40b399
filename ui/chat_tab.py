"""Chat tab: talk to the assistant while the router's decision after every message is shown live."""
import gradio as gr

from data.annotations import label_name
from data.datasets import check_name
from router.backends import backend_names
from router.chat import Chat
from router.errors import RouterError
from router.strategies import DEFAULT_STRATEGY, STRATEGIES
from ui.chat_view import messages, panel
from ui.errors import shown
from ui.escaping import safe
from ui.services import Services
from ui.tuned_models import tuned_model_picker

MODEL_HINT = "blank: the embedded model (local); the served model's id for openai / tgi"


def blank_none(text: str | None) -> str | None:
    """A model field's text, None when blank (the page may send None for an empty box)."""
    return (text or "").strip() or None


def create_chat_tab(services: Services) -> None:
    """Build the Chat tab and bind its events."""

    def view(chat: Chat, status: str = "") -> tuple:
        return (messages(chat), *panel(chat), status)

    def send(chat, text, router_backend, router_model, strategy, reply_backend, reply_model, max_tokens,
             router_adapter):
        chat = chat or Chat.new()
        try:
            router = services.routers.router(strategy, router_backend, blank_none(router_model),
                                             blank_none(router_adapter))
            replier = services.routers.backend(reply_backend, blank_none(reply_model))
            steps = chat.exchange(text, router, replier, services.tasks.catalog(), int(max_tokens))
            step = next(steps)
            yield *view(step, "Routed; the assistant is replying…"), gr.skip(), gr.skip()
            for step in steps:
                yield messages(step), *[gr.skip()] * 9  # only the conversation changes
        except RouterError as e:
            yield *view(chat, f"⚠ Not sent, the conversation is unchanged: {safe(e)}"), chat, text
            return
        yield *view(step), step, ""

    def reset():
        return *view(Chat.new()), None, ""

    @shown
    def save(chat, dataset):
        dataset = check_name((dataset or "").strip() or "chats")
        if chat is None or not chat.turns:
            raise gr.Error("Nothing to save yet: send a message first.")
        conversation = chat.to_conversation(services.tasks.catalog())
        services.datasets.add(dataset, [conversation], source="chat", origin="router")
        labels = ", ".join(label_name(d.label) for d in chat.decisions)
        saved_md = (f"Saved {safe(conversation.id)} to **{safe(dataset)}** with the router's labels "
                    f"({safe(labels)}) as suggestions for the Validate tab.")
        return saved_md, gr.update(choices=services.datasets.names(), value=dataset)

    @shown
    def conversations(dataset):
        ids = services.datasets.conversation_ids(dataset) if dataset else []
        choices = [(f"#{pk} {services.annotations.row(pk)['ext_id']}", pk) for pk in ids]
        return gr.update(choices=choices, value=choices[-1][1] if choices else None)

    @shown
    def reopen(pk):
        if pk is None:
            raise gr.Error("Choose a saved conversation first.")
        chat = Chat.reopened(services.annotations.suggestion(int(pk)))
        return *view(chat, f"Reopened; continuing as {safe(chat.id)}."), chat

    with gr.Tab("Chat", id="chat") as tab:
        gr.Markdown("Every message is routed first (catalog of the Tasks tab, read afresh each time); "
                    "the reply then follows the active task's instructions, or answers freely.")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Conversation", height=460)
                message = gr.Textbox(show_label=False, placeholder="Write to the assistant, Enter sends")
                with gr.Row():
                    send_btn = gr.Button("Send", variant="primary")
                    reset_btn = gr.Button("Reset")
                status = gr.Markdown()
            with gr.Column(scale=2):
                active = gr.Markdown(elem_id="chat-active")
                badge = gr.HTML()
                scores = gr.Plot(label="Candidate probabilities (constrained)")
                reading = gr.Markdown()
                latency = gr.Markdown()
        timeline = gr.Plot(label="Timeline: task after each user message, with its event")
        with gr.Accordion("Models", open=False):
            names = backend_names()
            with gr.Row():
                router_backend = gr.Dropdown(names, value="local", label="Router backend")
                router_model = gr.Textbox("", label="Router model", placeholder=MODEL_HINT)
                router_adapter = gr.Textbox(services.settings.default_adapter or "",
                                            label="Router adapter (PEFT folder, local only)")
                strategy = gr.Dropdown(list(STRATEGIES), value=DEFAULT_STRATEGY, label="Strategy")
                tuned_model_picker(services, router_model, router_adapter)
            with gr.Row():
                reply_backend = gr.Dropdown(names, value="local", label="Reply backend")
                reply_model = gr.Textbox("", label="Reply model", placeholder=MODEL_HINT)
                max_tokens = gr.Slider(8, 512, value=128, step=8, label="Max reply tokens")
        with gr.Accordion("Save / reopen", open=False):
            with gr.Row():
                dataset_name = gr.Textbox(label="Save to dataset", value="chats")
                save_btn = gr.Button("Save conversation")
                saved = gr.Markdown()
            with gr.Row():
                open_dataset = gr.Dropdown([], label="Saved dataset", value=None, allow_custom_value=True)
                open_pick = gr.Dropdown([], label="Saved conversation")
                open_btn = gr.Button("Reopen and continue")
        state = gr.State(None)

    shown_view = [chatbot, active, badge, scores, reading, latency, timeline, status]
    models = [router_backend, router_model, strategy, reply_backend, reply_model, max_tokens, router_adapter]
    gr.on([send_btn.click, message.submit], send, [state, message, *models],
          [*shown_view, state, message], api_name="chat_send")
    reset_btn.click(reset, None, [*shown_view, state, message], api_name="chat_reset")
    save_btn.click(save, [state, dataset_name], [saved, open_dataset], api_name="chat_save")
    tab.select(lambda: gr.update(choices=services.datasets.names()), None, open_dataset)
    open_dataset.change(conversations, open_dataset, open_pick, api_name="chat_conversations")
    open_btn.click(reopen, open_pick, [*shown_view, state], api_name="chat_reopen")
