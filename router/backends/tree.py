"""Prompts that share a beginning, each followed by the candidates' trie, laid out for one forward pass.

The first prompt is the trunk: its tokens past the `keep` cached ones come first and are read
causally, so the cache they leave is the one a pass over the trunk alone leaves. Every other
prompt is a branch forked where it parts from the trunk: it sees the cache and the trunk up to
there, then its own tokens. A copy of the trie follows each prompt. Every token has the position
it has in its own prompt, so each prompt is scored as if it were read alone.
"""
from dataclasses import dataclass

import torch

from router.backends.kvcache import common_prefix
from router.backends.trie import TokenTrie


@dataclass(frozen=True)
class Layout:
    """Tokens to read after the cache, who sees whom, positions, and per prompt the rows the trie reads.

    `allowed` has one row per token and one column per cached position then per token; `read[k]`
    lists prompt k's last token then its trie's nodes, as `TokenTrie.scores` numbers its rows.
    """

    tokens: list[int]
    allowed: torch.Tensor
    positions: torch.Tensor
    read: list[list[int]]


def forks(prompts: list[list[int]], keep: int) -> list[int]:
    """Where each prompt's own tokens start: the trunk after its cache, a branch where it parts from the trunk.

    A branch keeps at least its last token, whose next-token probabilities the trie needs.
    """
    return [keep] + [min(common_prefix(prompts[0], p), len(p) - 1) for p in prompts[1:]]


def layout(prompts: list[list[int]], keep: int, trie: TokenTrie) -> Layout:
    """Lay out the prompts (the first holding `keep` cached tokens), each followed by the trie."""
    starts = forks(prompts, keep)
    pieces = [p[s:] for p, s in zip(prompts, starts)]
    tokens = [t for piece in pieces for t in piece] + trie.tokens * len(prompts)
    allowed = torch.zeros(len(tokens), keep + len(tokens), dtype=torch.bool)
    positions = torch.zeros(len(tokens), dtype=torch.long)
    ends, row = [], 0
    for start, piece in zip(starts, pieces):
        n = len(piece)
        allowed[row: row + n, : min(start, keep)] = True  # the cache the prompt shares with the trunk
        allowed[row: row + n, keep: max(start, keep)] = True  # the trunk's tokens it shares past the cache
        allowed[row: row + n, keep + row: keep + row + n] = torch.ones(n, n, dtype=torch.bool).tril()
        positions[row: row + n] = torch.arange(start, start + n)
        ends.append(row + n - 1)
        row += n
    read, nodes = [], len(trie.tokens)
    for end in ends:
        allowed[row: row + nodes], positions[row: row + nodes] = trie.mask(
            allowed[end], int(positions[end]), keep + row)
        read.append([end, *range(row, row + nodes)])
        row += nodes
    return Layout(tokens, allowed, positions, read)
