"""Candidate answers as a token trie: the model is read only where the candidates branch.

The score of a candidate is its probability under constrained decoding: at each point where
candidates part ways, the model's next-token probabilities over the allowed tokens,
renormalised; where only one token is allowed it is forced and costs nothing. The scores of
all candidates therefore sum to 1, and only the nodes on the way to a branch are read.
"""
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TokenTrie:
    """The nodes to read (parents first) and, per candidate, its branching steps.

    A step is (row, token, allowed): log-probabilities are read at `row` (0 is the prompt's
    last position, 1 + i is read node i); `token` is the candidate's, `allowed` its siblings.
    """

    tokens: list[int]
    parents: list[int]
    steps: list[list[tuple[int, int, list[int]]]]

    @classmethod
    def build(cls, candidates: list[list[int]], end: list[int]) -> "TokenTrie":
        """Trie of the candidates; one that is a prefix of another ends with the end token."""
        seqs = [c + end if any(o[: len(c)] == c and o != c for o in candidates) else c
                for c in candidates]
        children: list[dict[int, int]] = [{}]  # node 0 is the root
        parent_of, token_of = [-1], [-1]
        for seq in seqs:
            node = 0
            for token in seq:
                if token not in children[node]:
                    children[node][token] = len(children)
                    children.append({})
                    parent_of.append(node)
                    token_of.append(token)
                node = children[node][token]
        needed = set()  # nodes on the way to a branch (a node with several children)
        for node in range(1, len(children)):
            if len(children[node]) > 1:
                while node > 0 and node not in needed:
                    needed.add(node)
                    node = parent_of[node]
        read = sorted(needed)
        row = {n: 1 + i for i, n in enumerate(read)} | {0: 0}
        steps = []
        for seq in seqs:
            node, path = 0, []
            for token in seq:
                if len(children[node]) > 1:
                    path.append((row[node], token, list(children[node])))
                node = children[node][token]
            steps.append(path)
        return cls(tokens=[token_of[n] for n in read], parents=[row[parent_of[n]] - 1 for n in read],
                   steps=steps)

    def mask(self, seen: torch.Tensor, position: int, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention rows (True = may attend) and positions of the read nodes, placed from column `start`.

        `seen` is what the prompt's last token (at `position`) sees, itself included; a node sees
        that, its ancestors and itself.
        """
        allowed = seen.repeat(len(self.tokens), 1)
        positions: list[int] = []
        for i, parent in enumerate(self.parents):
            if parent >= 0:
                allowed[i] = allowed[parent]
            positions.append(positions[parent] + 1 if parent >= 0 else position + 1)
            allowed[i, start + i] = True
        return allowed, torch.tensor(positions, dtype=torch.long)

    def scores(self, logp: torch.Tensor) -> list[float]:
        """Log-probability of each candidate under constrained decoding."""
        return [sum((logp[r, t] - torch.logsumexp(logp[r, allowed], dim=0)).item()
                    for r, t, allowed in steps) for steps in self.steps]
