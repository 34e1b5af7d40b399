"""Conversations and their JSONL interchange format (DESIGN.md §2)."""
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from router.catalog import MAX_TASKS, Catalog
from router.errors import CatalogError, ConversationError
from router.jsontext import JsonError, loads, read_text
from router.events import Event, event_between

ROLES = ("user", "assistant")


@dataclass(frozen=True)
class Turn:
    """One message; a user turn may carry a gold label (`task`, None for none)."""

    role: str
    content: str
    task: str | None = None
    labelled: bool = False

    def to_dict(self) -> dict:
        """The turn as in the interchange format."""
        out = {"role": self.role, "content": self.content}
        if self.role == "user" and self.labelled:
            out["task"] = self.task
        return out


def last_user_message(turns: list[Turn] | tuple[Turn, ...]) -> str:
    """The text of the last user turn ("" when there is none)."""
    return next((t.content for t in reversed(turns) if t.role == "user"), "")


@dataclass(frozen=True)
class Conversation:
    """An ordered list of turns with an optional catalog of its own."""

    id: str
    turns: tuple[Turn, ...]
    source: str = ""
    tasks: Catalog | None = None
    meta: dict = field(default_factory=dict, compare=False)

    def user_indices(self) -> list[int]:
        """Positions of the user turns."""
        return [k for k, t in enumerate(self.turns) if t.role == "user"]

    def gold_labels(self) -> list[str | None]:
        """Gold label after each user turn (unlabelled turns keep the previous label)."""
        labels, current = [], None
        for turn in self.turns:
            if turn.role == "user":
                current = turn.task if turn.labelled else current
                labels.append(current)
        return labels

    def gold_events(self) -> list[Event]:
        """Gold event at each user turn."""
        labels = self.gold_labels()
        return [event_between(p, c) for p, c in zip([None] + labels[:-1], labels)]

    def upto(self, index: int) -> "Conversation":
        """The conversation up to and including turn `index`."""
        return replace(self, turns=self.turns[: index + 1])

    def to_dict(self) -> dict:
        """The conversation as one interchange-format object."""
        out = {"id": self.id, "source": self.source}
        if self.tasks is not None:
            out["tasks"] = self.tasks.to_list()
        out["turns"] = [t.to_dict() for t in self.turns]
        return out


def joined(conversations: list[Conversation], user_turns: int, id: str | None = None) -> Conversation:
    """One long conversation: the given ones end to end, cut before user turn number `user_turns` + 1."""
    turns, users = [], 0
    for turn in (t for conv in conversations for t in conv.turns):
        if turn.role == "user" and users == user_turns:
            break
        users += turn.role == "user"
        turns.append(turn)
    return Conversation(id or f"joined-{user_turns}", tuple(turns), source="joined")


def parse_turn(raw: object, k: int, catalog: Catalog | None) -> Turn:
    """Read turn number `k`; raise ConversationError(field=...) if it breaks a rule."""
    where = f"turns[{k}]"
    if not isinstance(raw, dict):
        raise ConversationError("a turn must be a JSON object", field=where)
    role = raw.get("role")
    if role not in ROLES:
        raise ConversationError(f"unknown role {role!r} (user or assistant)", field=f"{where}.role")
    content = raw.get("content")
    if not isinstance(content, str):
        raise ConversationError("content must be a string", field=f"{where}.content")
    if role != "user" or "task" not in raw:
        return Turn(role, content)
    task = raw["task"]
    if task is not None and (not isinstance(task, str) or catalog is None or task not in catalog):
        raise ConversationError(f"unknown task {task!r}", field=f"{where}.task")
    return Turn(role, content, task, labelled=True)


def parse_source(raw: dict) -> str:
    """The conversation's `source`: a string, '' when absent or null."""
    source = raw.get("source")
    if source is not None and not isinstance(source, str):
        raise ConversationError(f"source must be a string, not {json.dumps(source)[:40]}", field="source")
    return source or ""


def parse_conversation(raw: object, catalog: Catalog | None, default_id: str,
                       max_tasks: int | None = MAX_TASKS) -> Conversation:
    """Read one conversation object; the line's own `tasks` (at most `max_tasks`) replace `catalog`."""
    if not isinstance(raw, dict):
        raise ConversationError("a conversation must be a JSON object")
    if "tasks" in raw:
        try:
            catalog = own = Catalog.from_list(raw["tasks"] if isinstance(raw["tasks"], list) else [None],
                                              max_tasks=max_tasks)
        except CatalogError as e:
            raise ConversationError(e.problem, field=e.field or "tasks") from e
    else:
        own = None
    turns = raw.get("turns")
    if not isinstance(turns, list) or not turns:
        raise ConversationError("turns must be a non-empty list", field="turns")
    conv_id = raw.get("id", default_id)
    if not isinstance(conv_id, str) or not conv_id.strip():
        raise ConversationError("id must be a non-empty string", field="id")
    return Conversation(id=conv_id, source=parse_source(raw), tasks=own,
                        turns=tuple(parse_turn(t, k, catalog) for k, t in enumerate(turns)),
                        meta={k: v for k, v in raw.items() if k not in ("id", "source", "tasks", "turns")})


def parse_jsonl(text: str, catalog: Catalog | None = None, file: str = "<input>",
                max_tasks: int | None = MAX_TASKS) -> list[Conversation]:
    """Read every conversation of a JSONL text, or raise on the first bad line (nothing half-read)."""
    conversations, ids = [], set()
    stem = Path(file).stem
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = loads(line)
        except JsonError as e:
            raise ConversationError(str(e), file=file, line=number) from e
        try:
            conv = parse_conversation(raw, catalog, f"{stem}-{number}", max_tasks)
        except ConversationError as e:
            raise ConversationError(e.problem, file=file, line=number, field=e.field) from e
        if conv.id in ids:
            raise ConversationError(f"id {conv.id!r} appears twice", file=file, line=number, field="id")
        ids.add(conv.id)
        conversations.append(conv)
    return conversations


def read_jsonl(path: str | Path, catalog: Catalog | None = None,
               max_tasks: int | None = MAX_TASKS) -> list[Conversation]:
    """Read a JSONL file of conversations; errors name the file by its name, never its folder."""
    try:
        text = read_text(path)
    except JsonError as e:
        raise ConversationError(e.problem, file=Path(path).name, line=e.line) from e
    return parse_jsonl(text, catalog, file=Path(path).name, max_tasks=max_tasks)


def to_jsonl(conversations: list[Conversation]) -> str:
    """Render conversations as JSONL text."""
    return "".join(json.dumps(c.to_dict(), ensure_ascii=False) + "\n" for c in conversations)
