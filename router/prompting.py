"""Prompts as ordered parts, rendered from editable Jinja templates."""
from dataclasses import dataclass
from pathlib import Path

import jinja2

from router.catalog import Catalog
from router.conversation import Turn, last_user_message


@dataclass(frozen=True)
class Prompt:
    """A routing prompt: what stays fixed comes first, what changes comes last.

    `parts` make the user message; a backend that reuses computation tokenizes
    each part on its own so that a longer conversation extends a shorter one.
    """

    system: str
    parts: tuple[str, ...]
    answer_prefix: str = ""
    message: str = ""  # the last user message as typed (a strategy may read it apart from the prompt)
    current: str | None = None  # the current task the prompt was laid out with (None: none)

    @property
    def user(self) -> str:
        """The user message as one text."""
        return "".join(self.parts)


class Template:
    """A prompt template file with the macros system, header, turn, question, answer_prefix."""

    def __init__(self, path: Path):
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(path.parent),
                                 undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
        self.path = path
        self.module = env.get_template(path.name).module

    def render(self, catalog: Catalog, turns: list[Turn] | tuple[Turn, ...],
               current: str | None) -> Prompt:
        """Render the prompt deciding the label after the last of `turns`."""
        m = self.module
        names = catalog.names + ["none"]
        return Prompt(system=str(m.system()).strip(),
                      parts=(str(m.header(catalog.tasks)),
                             *(str(m.turn(t.role, t.content)) for t in turns),
                             str(m.question(current or "none", names))),
                      answer_prefix=str(m.answer_prefix()),
                      message=last_user_message(turns), current=current)

    def macro(self, name: str, *args) -> str:
        """Render one extra macro of the template (such as a ReAct observation)."""
        return str(getattr(self.module, name)(*args))
