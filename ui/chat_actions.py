"""What the Chat tab does, as functions of the services and plain values (no gradio here)."""
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from data.annotations import label_name
from data.datasets import check_name
from router.assistant import REPLY_TOKENS
from router.chat import Chat
from router.embedded import EMBEDDED
from router.settings import Settings
from router.strategies import DEFAULT_STRATEGY
from services import Services
from ui.errors import Refused
from ui.escaping import safe
from ui.strategy_words import strategy_title


@dataclass(frozen=True)
class Models:
    """The router and the replier the Chat tab talks to (blank model: the embedded one)."""

    router_backend: str = "local"
    router_model: str | None = None
    strategy: str = DEFAULT_STRATEGY
    reply_backend: str = "local"
    reply_model: str | None = None
    max_tokens: int = REPLY_TOKENS
    router_adapter: str | None = None


# A start, a switch and an end with the default catalog (README: the demo script)
EXAMPLES = ["I need to write the minutes of this morning's meeting",
            "Actually, first draft a LinkedIn post about our launch",
            "thanks, that's all"]
UNTUNED_MD = ("⚠ The untuned embedded base model: a small placeholder that routes poorly. "
              "Choose a fine-tuned adapter or a served model under *Models*.")


def router_named(models: Models, settings: Settings) -> str:
    """The router the Chat talks to, in words (model, adapter, strategy), as Markdown."""
    model = blank_none(models.router_model)
    adapter = settings.adapter_for(models.router_backend, model, models.router_adapter)
    local = models.router_backend == "local"
    model_md = safe(model) if model else f"the embedded {safe(EMBEDDED)}" if local else "the server's default model"
    adapter_md = f"adapter {safe(Path(adapter).name)}" if adapter and local else "no adapter"
    router_md = (f"**Router:** {model_md} ({safe(models.router_backend)}) · {adapter_md} · "
                 f"strategy {safe(strategy_title(models.strategy))} ({safe(models.strategy)})")
    untuned = local and not model and not adapter
    return router_md + ("  \n" + UNTUNED_MD if untuned else "")


def replier_named(models: Models) -> str:
    """A word on the replies when the embedded model writes them (a served model writes better ones)."""
    embedded = models.reply_backend == "local" and not blank_none(models.reply_model)
    return (f"Replies come from the small embedded model ({safe(EMBEDDED)}), kept short; a served model "
            "gives better ones: choose it as the reply backend." if embedded else "")


def blank_none(text: str | None) -> str | None:
    """A model field's text, None when blank (the page may send None for an empty box)."""
    return (text or "").strip() or None


def exchange(services: Services, chat: Chat | None, text: str, models: Models) -> Iterator[Chat]:
    """Route `text`, then stream the reply: the chat after routing, then after each piece of reply."""
    model = blank_none(models.router_model)
    adapter = services.settings.adapter_for(models.router_backend, model, models.router_adapter)
    router = services.routers.router(models.strategy, models.router_backend, model, adapter)
    replier = services.routers.backend(models.reply_backend, blank_none(models.reply_model))
    return (chat or Chat.new()).exchange(text, router, replier, services.tasks.catalog(), int(models.max_tokens))


def save(services: Services, chat: Chat | None, dataset: str | None) -> tuple[str, str]:
    """Store the conversation with the router's labels as suggestions; the dataset and a Markdown note."""
    dataset = check_name((dataset or "").strip() or "chats")
    if chat is None or not chat.turns:
        raise Refused("Nothing to save yet: send a message first.", "message")
    conversation = chat.to_conversation(services.tasks.catalog())
    services.datasets.add(dataset, [conversation], source="chat", origin="router")
    labels = ", ".join(label_name(d.label) for d in chat.decisions)
    return dataset, (f"Saved {safe(conversation.id)} to **{safe(dataset)}** with the router's labels "
                     f"({safe(labels)}) as suggestions for the Validate tab.")


def saved(services: Services, dataset: str | None) -> list[tuple[str, int]]:
    """(title, row id) of the conversations saved in `dataset`."""
    ids = services.datasets.conversation_ids(dataset) if dataset else []
    return [(f"#{pk} {services.annotations.row(pk)['ext_id']}", pk) for pk in ids]


def reopen(services: Services, pk: int | None) -> Chat:
    """A saved conversation as a chat to continue."""
    if pk is None:
        raise Refused("Choose a saved conversation first.", "open_pick")
    return Chat.reopened(services.annotations.suggestion(int(pk)))


def kept(chat: Chat | None, user: str) -> dict | None:
    """The conversation as the browser keeps it through a reload (JSON, with its user); None when empty."""
    if chat is None or not chat.turns:
        return None
    return {"user": user, **chat.to_dict()}


def restored(stored: dict | None, user: str) -> Chat | None:
    """The conversation the browser kept, when it is `user`'s (another user's, or an unreadable one, is not)."""
    if not stored or stored.get("user") != user:
        return None
    try:
        return Chat.from_dict(stored)
    except (KeyError, TypeError, ValueError):
        return None
