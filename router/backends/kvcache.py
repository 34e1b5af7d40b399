"""Per-conversation key/value caches kept within a memory budget, least recently used out first."""
from collections import OrderedDict
from dataclasses import dataclass, field

import torch


@dataclass
class Entry:
    """The token ids a cache holds the keys and values of; the first `header` ids are the fixed part.

    `scored` keeps the candidates' scores after those ids, read ahead (between turns) for a later
    decision that scores them again as a branch; keyed by (prompt ids, candidate ids).
    """

    ids: list[int]
    kv: object
    header: int = 0
    scored: dict = field(default_factory=dict)


def cache_bytes(kv) -> int:
    """Memory held by a transformers cache."""
    return sum(t.numel() * t.element_size() for layer in kv.layers
               for t in (getattr(layer, "keys", None), getattr(layer, "values", None))
               if isinstance(t, torch.Tensor))


def common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the longest common prefix of two id lists."""
    n = min(len(a), len(b))
    for k in range(n):
        if a[k] != b[k]:
            return k
    return n


def crop(kv, length: int) -> None:
    """Keep the first `length` positions of a cache."""
    extra = kv.get_seq_length() - length
    if extra > 0:
        kv.crop(-extra)


def clone_prefix(kv, length: int, config):
    """A new cache holding a copy of the first `length` positions of `kv`."""
    from transformers import DynamicCache

    copy = DynamicCache(config=config)
    for k, layer in enumerate(kv.layers):
        copy.update(layer.keys[..., :length, :].clone(), layer.values[..., :length, :].clone(), k)
    return copy


class PrefixCache:
    """One cache per live conversation; the total stays under `budget_bytes`."""

    def __init__(self, budget_bytes: int):
        self.budget = budget_bytes
        self.entries: OrderedDict[str, Entry] = OrderedDict()

    def take(self, session: str) -> Entry | None:
        """Remove and return the entry of `session` (put it back with `put`)."""
        return self.entries.pop(session, None)

    def longest_prefix(self, ids: list[int]) -> tuple[Entry | None, int]:
        """The entry sharing the longest prefix with `ids` (another conversation's header)."""
        best, length = None, 0
        for entry in self.entries.values():
            n = common_prefix(entry.ids, ids)
            if n > length:
                best, length = entry, n
        return best, length

    def put(self, session: str, entry: Entry) -> None:
        """Store `entry` as the most recent, evicting the oldest ones past the budget."""
        self.entries[session] = entry
        while self.entries and self.total_bytes() > self.budget:
            self.entries.popitem(last=False)

    def drop(self, session: str) -> None:
        """Forget `session`, keeping its fixed part (instructions, catalog) for later conversations."""
        entry = self.entries.pop(session, None)
        if entry is not None and entry.header:
            crop(entry.kv, entry.header)
            head = entry.ids[: entry.header]
            self.put(f"header:{hash(tuple(head))}", Entry(head, entry.kv, entry.header))

    def total_bytes(self) -> int:
        """Memory held by every entry."""
        return sum(cache_bytes(e.kv) for e in self.entries.values())
