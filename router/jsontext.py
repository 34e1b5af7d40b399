"""Strict reading of JSON text: UTF-8 errors by line, no NaN or Infinity, bounded nesting."""
import json
from pathlib import Path

MAX_DEPTH = 64
TOO_DEEP = f"arrays and objects nested more than {MAX_DEPTH} levels deep"


class JsonError(ValueError):
    """Text that is not strict JSON, with the line where known."""

    def __init__(self, problem: str, line: int | None = None):
        self.problem, self.line = problem, line
        super().__init__(problem)


def reject_constant(name: str):
    """json's parse_constant hook: NaN and Infinity are not JSON."""
    raise JsonError(f"not valid JSON ({name} is not a JSON value)")


def depth(value: object) -> int:
    """How deeply arrays and objects nest in `value` (0 for a scalar), without recursion."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        value, level = pending.pop()
        if isinstance(value, (list, dict)):
            deepest = max(deepest, level + 1)
            pending.extend((v, level + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def loads(text: str) -> object:
    """Parse JSON text, or raise JsonError saying why (with the line and column)."""
    try:
        value = json.loads(text, parse_constant=reject_constant)
    except json.JSONDecodeError as e:
        raise JsonError(f"not valid JSON ({e.msg}, column {e.colno})", e.lineno) from e
    except RecursionError:
        raise JsonError(TOO_DEEP) from None
    if depth(value) > MAX_DEPTH:
        raise JsonError(TOO_DEEP)
    return value


def read_text(path: str | Path) -> str:
    """A file's UTF-8 text; an undecodable byte is reported with its line and column."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise JsonError(f"cannot read the file ({e.strerror})") from e
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = data.rfind(b"\n", 0, e.start) + 1
        raise JsonError(f"not UTF-8 text (byte 0x{data[e.start]:02x} at column {e.start - line_start + 1})",
                        data.count(b"\n", 0, e.start) + 1) from e
