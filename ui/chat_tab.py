"""Chat tab: its layout, and its events bound to the actions of ui.chat_actions."""
from types import SimpleNamespace

import gradio as gr

from router.backends import backend_names
from router.chat import Chat
from router.errors import RouterError
from router.strategies import DEFAULT_STRATEGY, STRATEGIES
from services import Services
from ui.auth import username
from ui import chat_actions as act
from ui.chat_view import active_task, badge, messages, panel
from ui.errors import noted
from ui.escaping import safe
from ui.tuned_models import tuned_model_picker
from ui.wiring import Loader, bound

MODEL_HINT = "blank: the embedded model (local); the served model's id for openai / tgi"


def view(chat: Chat, status: str = "") -> tuple:
    """The conversation, the decision panel and a status line."""
    return (messages(chat), *panel(chat), status)


def send(services: Services, request: gr.Request, chat, text, *models):
    """Route the message, then stream the reply; a refused message leaves the conversation unchanged.

    The browser's copy (last output) follows every step, so a reload at any moment shows what was shown.
    """
    user = username(request)
    try:
        steps = act.exchange(services, chat, text, act.Models(*models))
        step = next(steps)
        yield (*view(step, "Routed; the assistant is replying…"), gr.skip(), "",  # the sent text leaves the box
               act.kept(step, user))
        for step in steps:
            yield messages(step), *[gr.skip()] * 9, act.kept(step, user)  # only the conversation changes
    except RouterError as e:
        chat = chat or Chat.new()
        yield *view(chat, f"⚠ Not sent, the conversation is unchanged: {safe(e)}"), chat, text, gr.skip()
        return
    yield *view(step), step, "", act.kept(step, user)


def keep(chat, request: gr.Request):
    """The conversation for the browser to keep through a reload, as the signed-in user's."""
    return act.kept(chat, username(request))


def restore(stored, request: gr.Request):
    """On page load, the signed-in user's unsaved conversation the browser kept, if any."""
    chat = act.restored(stored, username(request))
    return (*view(chat), chat) if chat else [gr.skip()] * 9


@noted(keep=1)
def save(services: Services, chat, dataset):
    """Save the conversation and offer its dataset to reopen from; what was done, beside the button."""
    dataset, note = act.save(services, chat, dataset)
    return note, gr.update(choices=services.datasets.names(), value=dataset)


@noted(keep=1)
def conversations(services: Services, dataset):
    """The saved conversations of a dataset, the newest chosen."""
    choices = act.saved(services, dataset)
    return "", gr.update(choices=choices, value=choices[-1][1] if choices else None)


@noted(keep=9)
def reopen(services: Services, pk):
    """Continue a saved conversation."""
    chat = act.reopen(services, pk)
    return "", *view(chat, f"Reopened; continuing as {safe(chat.id)}."), chat


def create_chat_tab(services: Services, browser: gr.BrowserState) -> list[Loader]:
    """Build the Chat tab and bind its events; on page load, the conversation the browser kept in `browser`."""
    with gr.Tab("Chat", id="chat") as tab:
        gr.Markdown("Every message is routed first (catalog of the Tasks tab, read afresh each time); "
                    "the reply then follows the active task's instructions; with no task active, a short set reply.")
        router_md = gr.Markdown(act.router_named(act.Models(), services.settings),
                                elem_id="chat-router")
        c = conversation_panel()
        models = models_panel(services)
        with gr.Accordion("Save / reopen", open=False):
            with gr.Row():
                dataset_name = gr.Textbox(label="Save to dataset", value="chats")
                save_btn = gr.Button("Save conversation")
                saved = gr.Markdown(elem_id="save-note")
            with gr.Row():
                open_dataset = gr.Dropdown([], label="Saved dataset", value=None, allow_custom_value=True)
                open_pick = gr.Dropdown([], label="Saved conversation")
                open_btn = gr.Button("Reopen and continue")
                reopen_note = gr.Markdown(elem_id="reopen-note")
        state = gr.State(None)

    gr.on([m.change for m in models], lambda *m: act.router_named(act.Models(*m), services.settings), models, router_md,
          show_progress="hidden")
    gr.on([m.change for m in models], lambda *m: act.replier_named(act.Models(*m)), models, c.replier,
          show_progress="hidden")
    shown_view = [c.chatbot, c.active, c.badge, c.scores, c.reading, c.latency, c.timeline, c.status]
    gr.on([c.send_btn.click, c.message.submit], bound(send, services), [state, c.message, *models],
          [*shown_view, state, c.message, browser], api_name="chat_send")
    reset = c.reset_btn.click(lambda: (*view(Chat.new()), None, ""), None, [*shown_view, state, c.message],
                              api_name="chat_reset")
    save_btn.click(bound(save, services), [state, dataset_name], [saved, open_dataset], api_name="chat_save")
    tab.select(lambda: gr.update(choices=services.datasets.names()), None, open_dataset)
    open_dataset.change(bound(conversations, services), open_dataset, [reopen_note, open_pick],
                        api_name="chat_conversations")
    reopened = open_btn.click(bound(reopen, services), open_pick, [reopen_note, *shown_view, state],
                              api_name="chat_reopen")
    for event in (reset, reopened):
        event.then(keep, state, browser)
    return [Loader(restore, [*shown_view, state], inputs=[browser])]


def conversation_panel() -> SimpleNamespace:
    """The conversation with its message box, and the router's decision beside it."""
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(label="Conversation", height=420)
            message = gr.Textbox(show_label=False, placeholder="Write to the assistant, Enter sends")
            gr.Examples(act.EXAMPLES, message, label="Try a start, a switch, then an end (click, then Send)")
            with gr.Row():
                send_btn = gr.Button("Send", variant="primary")
                reset_btn = gr.Button("Reset")
            status = gr.Markdown()
            replier = gr.Markdown(act.replier_named(act.Models()), elem_id="chat-replier")
        with gr.Column(scale=2):
            active = gr.Markdown(active_task(Chat.new()), elem_id="chat-active")
            event = gr.HTML(badge(None))
            latency = gr.Markdown()
            timeline = gr.Plot(label="Timeline: task after each user message, with its event",
                               elem_id="chat-timeline")
            scores = gr.Plot(label="Candidate probabilities", elem_id="chat-scores")
            with gr.Accordion("Details", open=False):
                reading = gr.Markdown()
    return SimpleNamespace(chatbot=chatbot, message=message, send_btn=send_btn, reset_btn=reset_btn,
                           status=status, replier=replier, active=active, badge=event, scores=scores, reading=reading,
                           latency=latency, timeline=timeline)


def models_panel(services: Services) -> list:
    """The router's and the replier's backends and models, in the order of chat_actions.Models."""
    with gr.Accordion("Models", open=False):
        names = backend_names()
        with gr.Row():
            router_backend = gr.Dropdown(names, value="local", label="Router backend")
            router_model = gr.Textbox("", label="Router model", placeholder=MODEL_HINT)
            router_adapter = gr.Textbox(services.settings.default_adapter or "",
                                        label="Router adapter (PEFT folder, local only; blank: the default "
                                              "router's, none: the base model)")
            strategy = gr.Dropdown(list(STRATEGIES), value=DEFAULT_STRATEGY, label="Strategy")
            tuned_model_picker(services, router_model, router_adapter)
        with gr.Row():
            reply_backend = gr.Dropdown(names, value="local", label="Reply backend")
            reply_model = gr.Textbox("", label="Reply model", placeholder=MODEL_HINT)
            max_tokens = gr.Slider(8, 512, value=services.settings.reply_tokens, step=8, label="Max reply tokens")
    return [router_backend, router_model, strategy, reply_backend, reply_model, max_tokens, router_adapter]
