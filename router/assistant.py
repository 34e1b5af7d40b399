"""The assistant's side of the chat: the messages a reply model answers, led by the active task."""
from router.catalog import Catalog, Task
from router.conversation import Turn

FREE = ("You are a helpful professional assistant. Answer the user briefly and clearly. "
        "No task is running now.")


def task_prompt(task: Task) -> str:
    """System prompt that runs `task`: collect the information it needs, then draft the deliverable."""
    lines = [f"You are a helpful professional assistant running the task '{task.name}': "
             f"{task.description}."]
    if task.instructions:
        lines.append(f"Instructions: {task.instructions}")
    if task.infos:
        lines.append("Information you must collect from the user before drafting:")
        lines += [f"- {info.name}: {info.description}" for info in task.infos]
    lines.append("Ask for the information still missing, one short question at a time; once you "
                 "have it, draft the deliverable.")
    return "\n".join(lines)


def reply_messages(catalog: Catalog, task: str | None, turns: list[Turn] | tuple[Turn, ...]) -> list[dict]:
    """Chat messages for the reply: the system prompt of the active task (or none), then the turns."""
    active = catalog.get(task) if task else None
    system = task_prompt(active) if active else FREE
    return [{"role": "system", "content": system}, *({"role": t.role, "content": t.content} for t in turns)]
