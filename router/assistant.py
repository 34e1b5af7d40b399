"""The assistant's side of the chat: the messages a reply model answers, led by the active task, or a set reply."""
from router.catalog import Catalog, Task
from router.conversation import Turn
from router.decision import Decision
from router.events import Event

REPLY_TOKENS = 80  # a reply's default length: a few seconds on the embedded model
GROUNDED = ("Ask for the information still missing, one short question at a time; once you have it, "
            "draft the deliverable. Use only what the user gave: never invent names, dates or figures.")
CAPABILITIES_SHOWN = 6  # tasks listed when no task covers a request


def task_prompt(task: Task) -> str:
    """System prompt that runs `task`: collect the information it needs from the user, then draft from it alone."""
    lines = [f"You are a helpful professional assistant running the task '{task.name}': "
             f"{task.description}."]
    if task.instructions:
        lines.append(f"Instructions: {task.instructions}")
    if task.infos:
        lines.append("Information you must collect from the user before drafting:")
        lines += [f"- {info.name}: {info.description}" for info in task.infos]
    lines.append(GROUNDED)
    return "\n".join(lines)


def reply_messages(catalog: Catalog, task: str, turns: list[Turn] | tuple[Turn, ...]) -> list[dict]:
    """Chat messages for the reply within `task`: its system prompt, then the turns."""
    system = task_prompt(catalog.get(task))
    return [{"role": "system", "content": system}, *({"role": t.role, "content": t.content} for t in turns)]


def in_words(task: str) -> str:
    """A task's name as words: meeting_minutes -> meeting minutes."""
    return task.replace("_", " ").replace("-", " ").strip()


def set_reply(catalog: Catalog, decision: Decision) -> str | None:
    """The reply written without a model when no task is active (after an end, or none covers the message)."""
    if decision.label in catalog.names:
        return None
    if decision.event == Event.END and decision.previous:
        return f"Glad I could help with your {in_words(decision.previous)}. Anything else?"
    return no_task_reply(catalog)


def no_task_reply(catalog: Catalog) -> str:
    """No task covers the message: what the assistant can do instead, from the catalog."""
    if not catalog.names:
        return "No task covers that, and none is defined yet: add one in the Tasks tab."
    shown = ", ".join(in_words(name) for name in catalog.names[:CAPABILITIES_SHOWN])
    more = ", and more (see the Tasks tab)" if len(catalog.names) > CAPABILITIES_SHOWN else ""
    return f"No task I run covers that. I can help with: {shown}{more}."
