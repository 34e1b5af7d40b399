"""Candidate answers as a token trie, so that prefixes they share are read once."""
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TokenTrie:
    """The trie nodes that must be read (those with children), parents first.

    `steps[c]` lists, for candidate c, (row, token) pairs: the log-probability of `token`
    is read at `row` (0 is the prompt's last position, 1 + i is fed node i).
    """

    tokens: list[int]
    parents: list[int]
    steps: list[list[tuple[int, int]]]

    @classmethod
    def build(cls, candidates: list[list[int]], end: list[int]) -> "TokenTrie":
        """Trie of the candidates; one that is a prefix of another gets the end token."""
        seqs = [c + end if any(o[: len(c)] == c and o != c for o in candidates) else c
                for c in candidates]
        children: list[dict[int, int]] = [{}]  # node 0 is the root
        nodes: list[tuple[int, int]] = []  # (token, parent node) for nodes 1..
        paths = []
        for seq in seqs:
            node, path = 0, []
            for token in seq:
                if token not in children[node]:
                    nodes.append((token, node))
                    children.append({})
                    children[node][token] = len(nodes)
                node = children[node][token]
                path.append(node)
            paths.append(path)
        fed = [n for n in range(1, len(nodes) + 1) if children[n]]
        row = {n: 1 + i for i, n in enumerate(fed)} | {0: 0}
        return cls(tokens=[nodes[n - 1][0] for n in fed],
                   parents=[row[nodes[n - 1][1]] - 1 for n in fed],
                   steps=[[(row[parent], token) for parent, token in zip([0] + path[:-1], seq)]
                          for path, seq in zip(paths, seqs)])

    def mask(self, keep: int, suffix: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention mask (True = may attend) and positions for the suffix then the fed nodes.

        Suffix rows see the cache and the suffix causally; a node sees the cache, the whole
        suffix, its ancestors and itself.
        """
        q = suffix + len(self.tokens)
        allowed = torch.zeros(q, keep + q, dtype=torch.bool)
        allowed[:, :keep] = True
        allowed[:suffix, keep: keep + suffix] = torch.ones(suffix, suffix, dtype=torch.bool).tril()
        positions = list(range(keep, keep + suffix))
        for i, parent in enumerate(self.parents):
            r = suffix + i
            if parent < 0:
                allowed[r, keep: keep + suffix] = True
                positions.append(keep + suffix)
            else:
                allowed[r] = allowed[suffix + parent]
                positions.append(positions[suffix + parent] + 1)
            allowed[r, keep + r] = True
        return allowed, torch.tensor(positions)

    def scores(self, logp: torch.Tensor) -> list[float]:
        """Sum of log-probabilities along each candidate's path."""
        return [sum(logp[r, t].item() for r, t in steps) for steps in self.steps]
