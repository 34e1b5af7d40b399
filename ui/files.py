"""Files the page offers for download."""
import tempfile
from pathlib import Path


def write_file(prefix: str, name: str, text: str) -> str:
    """Write `text` to a new temporary folder (named from `prefix`) as `name`; return the path."""
    path = Path(tempfile.mkdtemp(prefix=prefix)) / name
    path.write_text(text, encoding="utf-8")
    return str(path)
