"""Checks on a file before it is parsed: its type by extension, its size, text rather than binary."""
import codecs
from pathlib import Path

from router.errors import InputError

CATALOG_TYPES = (".json",)
DATASET_TYPES = (".jsonl",)
SNIFF_BYTES = 8192


class UploadError(InputError):
    """A file refused before parsing: wrong type, too big, or binary."""


def check_upload(path: str | Path, types: tuple[str, ...], max_mb: int) -> Path:
    """Return `path` if it ends with one of `types`, holds at most `max_mb` MB and is UTF-8 text."""
    path = Path(path)
    if path.suffix.lower() not in types:
        raise UploadError(f"expected a {' or '.join(types)} file", file=path.name)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as e:
        raise UploadError(f"cannot read the file ({e.strerror})", file=path.name) from e
    if size > max_mb * 2**20:
        raise UploadError(f"{size / 2**20:.1f} MB is over the {max_mb} MB limit "
                          "(ROUTER_MAX_UPLOAD_MB)", file=path.name)
    if not is_text(head):
        raise UploadError("binary content, expected UTF-8 text", file=path.name)
    return path


def is_text(head: bytes) -> bool:
    """Whether the first bytes of a file read as UTF-8 text without NUL bytes."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return b"\0" not in head
