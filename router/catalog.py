"""The task catalog: tasks the router chooses from, in our JSON shape or Mojodex's."""
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from router.errors import CatalogError
from router.jsontext import JsonError, loads, read_text

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
RESERVED = "none"
MAX_TASKS = 1000  # the default of ROUTER_MAX_TASKS: the largest catalog bench/catalog_scale.py measures


@dataclass(frozen=True)
class Info:
    """A piece of information the assistant must collect to run a task."""

    name: str
    description: str


@dataclass(frozen=True)
class Task:
    """A task the assistant can run."""

    name: str
    description: str
    instructions: str = ""
    infos: tuple[Info, ...] = field(default_factory=tuple)
    title: str = ""  # the name users see (Mojodex's name_for_user); display only
    icon: str = ""   # display only

    def to_dict(self) -> dict:
        """Our JSON shape (empty instructions, infos, title and icon left out)."""
        out = {"name": self.name, "description": self.description}
        if self.instructions:
            out["instructions"] = self.instructions
        if self.infos:
            out["infos"] = [asdict(i) for i in self.infos]
        return out | {k: v for k, v in (("title", self.title), ("icon", self.icon)) if v}

    def to_mojodex(self) -> dict:
        """Mojodex's JSON shape (the title, when there is one, as English task_displayed_data)."""
        shown = [{"language_code": "en", "name_for_user": self.title, "definition_for_user": self.description}]
        return {"name_for_system": self.name, "definition_for_system": self.description,
                "final_instruction": self.instructions,
                "infos_to_extract": [{"info_name": i.name, "description": i.description}
                                     for i in self.infos],
                "icon": self.icon, "task_displayed_data": shown if self.title else []}


def check_size(count: int, max_tasks: int | None, file: str | None = None) -> None:
    """Raise CatalogError when `count` tasks are over `max_tasks` (None: no limit)."""
    if max_tasks is not None and count > max_tasks:
        raise CatalogError(f"{count} tasks, over the limit of {max_tasks} tasks a catalog may hold "
                           "(ROUTER_MAX_TASKS)", file=file, field="tasks")


def check_name(name: object) -> str | None:
    """Return what is wrong with a task name, or None when it is fine."""
    if not isinstance(name, str) or not name:
        return "a task name is required"
    if name == RESERVED:
        return "'none' is reserved for 'no task' and cannot name a task"
    if not NAME_PATTERN.match(name):
        return f"task name '{name}' is not snake_case (lower-case letters, digits, underscores)"
    return None


def check_task(task: Task) -> tuple[str, str] | None:
    """Return (field, problem) for the first rule `task` breaks, or None."""
    problem = check_name(task.name)
    if problem:
        return "name", problem
    if not task.description.strip():
        return "description", f"task '{task.name}' has an empty description"
    for k, info in enumerate(task.infos):
        if not info.name.strip():
            return f"infos[{k}].name", f"task '{task.name}' has an information without a name"
    return None


def require_valid(task: Task) -> Task:
    """Return `task`, or raise CatalogError naming the field it gets wrong."""
    broken = check_task(task)
    if broken:
        raise CatalogError(broken[1], field=broken[0])
    return task


def first_problem(tasks: list[Task] | tuple[Task, ...]) -> tuple[int, str, str] | None:
    """Return (index, field, problem) for the first task that breaks a rule, or None."""
    seen: set[str] = set()
    for k, task in enumerate(tasks):
        broken = check_task(task)
        if not broken and task.name in seen:
            broken = "name", f"task name '{task.name}' appears twice"
        if broken:
            return k, *broken
        seen.add(task.name)
    return None


def task_from_dict(raw: object) -> Task:
    """Read one task in our shape or Mojodex's; raise CatalogError(field=...) if malformed."""
    if not isinstance(raw, dict):
        raise CatalogError("a task must be a JSON object")
    mojodex = "name_for_system" in raw
    keys = (("name_for_system", "definition_for_system", "final_instruction", "infos_to_extract",
             "info_name") if mojodex else ("name", "description", "instructions", "infos", "name"))
    name_key, desc_key, instr_key, infos_key, info_name_key = keys
    for key in (name_key, desc_key):
        if not isinstance(raw.get(key, ""), str):
            raise CatalogError("must be a string", field=key)
    instructions = raw.get(instr_key) or ""
    if not isinstance(instructions, str):
        raise CatalogError("must be a string", field=instr_key)
    infos = raw.get(infos_key) or []
    if not isinstance(infos, list) or not all(isinstance(i, dict) for i in infos):
        raise CatalogError("must be a list of objects", field=infos_key)
    for k, info in enumerate(infos):
        for key in (info_name_key, "description"):
            if not isinstance(info.get(key, ""), str):
                raise CatalogError("must be a string", field=f"{infos_key}[{k}].{key}")
    title, icon = display(raw, mojodex)
    return Task(name=raw.get(name_key, ""), description=raw.get(desc_key, ""),
                instructions=instructions,
                infos=tuple(Info(i.get(info_name_key, ""), i.get("description", "")) for i in infos),
                title=title, icon=icon)


def display(raw: dict, mojodex: bool) -> tuple[str, str]:
    """The title and icon of a task dict: Mojodex's name_for_user (English first) or ours."""
    shown = (raw.get("task_displayed_data") or []) if mojodex else [{"name_for_user": raw.get("title")}]
    if not isinstance(shown, list) or not all(isinstance(d, dict) for d in shown):
        raise CatalogError("must be a list of objects", field="task_displayed_data")
    english = sorted(shown, key=lambda d: d.get("language_code") != "en")
    title, icon = (english[0].get("name_for_user") if english else None) or "", raw.get("icon") or ""
    for key, value in (("title", title), ("icon", icon)):
        if not isinstance(value, str):
            raise CatalogError("must be a string", field=key)
    return title, icon


class Catalog:
    """An ordered, validated list of tasks with unique names."""

    def __init__(self, tasks: list[Task] | tuple[Task, ...] = ()):
        self.tasks = tuple(tasks)
        broken = first_problem(self.tasks)
        if broken:
            raise CatalogError(broken[2], field=f"tasks[{broken[0]}].{broken[1]}")

    @property
    def names(self) -> list[str]:
        """Task names, in catalog order."""
        return [t.name for t in self.tasks]

    def get(self, name: str) -> Task | None:
        """The task called `name`, or None."""
        return next((t for t in self.tasks if t.name == name), None)

    def __contains__(self, name: object) -> bool:
        return any(t.name == name for t in self.tasks)

    def __len__(self) -> int:
        return len(self.tasks)

    def __iter__(self):
        return iter(self.tasks)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Catalog) and self.tasks == other.tasks

    def to_list(self, shape: str = "native") -> list[dict]:
        """The tasks as JSON-ready dicts, in `native` or `mojodex` shape."""
        if shape not in ("native", "mojodex"):
            raise CatalogError(f"unknown catalog shape '{shape}' (native or mojodex)")
        return [t.to_mojodex() if shape == "mojodex" else t.to_dict() for t in self.tasks]

    def to_json(self, shape: str = "native") -> str:
        """The catalog as a JSON document {"tasks": [...]}."""
        return json.dumps({"tasks": self.to_list(shape)}, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_list(cls, items: list, file: str | None = None, lines: list[int] | None = None,
                  max_tasks: int | None = MAX_TASKS) -> "Catalog":
        """Build and validate a catalog from JSON-ready dicts; errors name file, line, field."""
        check_size(len(items), max_tasks, file)
        tasks = []
        for k, raw in enumerate(items):
            try:
                tasks.append(task_from_dict(raw))
            except CatalogError as e:
                raise CatalogError(e.problem, file=file, line=lines[k] if lines else None,
                                   field=f"tasks[{k}]" + (f".{e.field}" if e.field else "")) from e
        broken = first_problem(tasks)
        if broken:
            k, where, problem = broken
            raise CatalogError(problem, file=file, line=lines[k] if lines else None,
                               field=f"tasks[{k}].{where}")
        return cls(tasks)

    @classmethod
    def from_json(cls, text: str, file: str | None = None, max_tasks: int | None = MAX_TASKS) -> "Catalog":
        """Parse a JSON catalog: a list of tasks or {"tasks": [...]}, either shape."""
        try:
            doc = loads(text)
        except JsonError as e:
            raise CatalogError(e.problem, file=file, line=e.line) from e
        items = ([doc] if "name_for_system" in doc else doc.get("tasks")) if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise CatalogError('expected a list of tasks, {"tasks": [...]} or one Mojodex task', file=file,
                               field="tasks")
        check_size(len(items), max_tasks, file)
        return cls.from_list(items, file=file, lines=element_lines(text, len(items)), max_tasks=max_tasks)

    @classmethod
    def load(cls, path: str | Path, max_tasks: int | None = MAX_TASKS) -> "Catalog":
        """Read a catalog file; errors name the file by its name, never its folder."""
        path = Path(path)
        try:
            text = read_text(path)
        except JsonError as e:
            raise CatalogError(e.problem, file=path.name, line=e.line) from e
        return cls.from_json(text, file=path.name, max_tasks=max_tasks)

    @classmethod
    def load_all(cls, paths: list[Path], max_tasks: int | None = MAX_TASKS) -> "Catalog":
        """One catalog of the tasks of several files: catalogs, or one Mojodex task each."""
        return cls([task for path in paths for task in cls.load(path, max_tasks)])


def json_files(paths: list[str | Path]) -> list[Path]:
    """The files named, a folder standing for the .json files in it (sorted by name)."""
    return [f for p in map(Path, paths) for f in (sorted(p.glob("*.json")) if p.is_dir() else [p])]


def element_lines(text: str, count: int) -> list[int] | None:
    """Line numbers where each element of the task array starts, or None if not found."""
    match = re.search(r'"tasks"\s*:\s*\[', text) or re.search(r"^\s*\[", text)
    if not match:
        return None
    decoder, pos, lines = json.JSONDecoder(), match.end(), []
    for _ in range(count):
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        lines.append(text.count("\n", 0, pos) + 1)
        try:
            pos = decoder.raw_decode(text, pos)[1]
        except json.JSONDecodeError:
            return None
    return lines
