"""Packed training rows: a conversation read once, each decision a branch attending to its prefix.

A row holds the trunk (chat frame, fixed part, messages) once and, after each labelled user
turn, a branch: the question, the answer prefix and the gold answer. A branch sees the trunk
up to its user turn and itself; trunk tokens never see a branch. Branch tokens carry the
position ids they have at inference, so the model reads exactly the one-turn prompt.
"""
from dataclasses import dataclass, field

import torch

from router.backends.local import answer_end, chat_frame, part_encoder
from router.conversation import Conversation
from router.errors import RouterError
from router.metrics import name
from router.strategies import Constrained
from router.training.examples import Perturbation, labelled_currents

TRUNK, PAD = 0, -1
IGNORE = -100


@dataclass
class Row:
    """Token ids, position ids, segment ids (0 trunk, k branch k, -1 pad) and labels of one row."""

    input_ids: list[int] = field(default_factory=list)
    position_ids: list[int] = field(default_factory=list)
    segment_ids: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    trunk: int = 0  # trunk tokens read so far (the next trunk position)
    branches: int = 0

    def __len__(self) -> int:
        return len(self.input_ids)

    def extend_trunk(self, ids: list[int]) -> None:
        """Append trunk tokens (no loss)."""
        self.add(ids, range(self.trunk, self.trunk + len(ids)), TRUNK, [IGNORE] * len(ids))
        self.trunk += len(ids)

    def add_branch(self, prompt: list[int], answer: list[int]) -> None:
        """Append a branch: its prompt tokens (no loss) then its answer (the loss)."""
        self.branches += 1
        ids = [*prompt, *answer]
        self.add(ids, range(self.trunk, self.trunk + len(ids)), self.branches,
                 [IGNORE] * len(prompt) + list(answer))

    def add(self, ids: list[int], positions: range, segment: int, labels: list[int]) -> None:
        """Append tokens with their positions, segment and labels."""
        self.input_ids += ids
        self.position_ids += positions
        self.segment_ids += [segment] * len(ids)
        self.labels += labels

    def to_dict(self) -> dict:
        """The columns of a training dataset row."""
        return {"input_ids": self.input_ids, "position_ids": self.position_ids,
                "segment_ids": self.segment_ids, "labels": self.labels}


class PackedBuilder:
    """Builds packed rows in exactly the prompt format the constrained router reads at inference.

    A conversation longer than `max_length` is split into several rows, each starting with the
    whole trunk its first branch needs; a decision that does not fit alone is skipped and counted.
    """

    def __init__(self, strategy: Constrained, tokenizer, max_length: int,
                 perturbation: Perturbation | None = None):
        self.strategy, self.tokenizer, self.max_length = strategy, tokenizer, max_length
        self.perturbation = perturbation or Perturbation()
        self.encode = part_encoder(tokenizer)
        self.skipped = self.decisions = 0

    def conversation(self, conv: Conversation) -> list[Row]:
        """The rows of one conversation."""
        if conv.tasks is None:
            raise RouterError(f"conversation '{conv.id}' has no catalog to train with")
        trunk = self.trunk_pieces(conv)
        rows, row, read = [], Row(), 0
        for position, gold, current in labelled_currents(conv, self.perturbation):
            prompt, answer = self.branch(conv, position, gold, current)
            needed = trunk[: position + 2]  # frame+header, then the turns up to `position`
            extra = [i for piece in needed[read:] for i in piece]
            if len(row) + len(extra) + len(prompt) + len(answer) > self.max_length:
                if row.branches:
                    rows.append(row)
                row, read = Row(), 0
                extra = [i for piece in needed for i in piece]
                if len(extra) + len(prompt) + len(answer) > self.max_length:
                    self.skipped += 1
                    continue
            row.extend_trunk(extra)
            read = len(needed)
            row.add_branch(prompt, answer)
            self.decisions += 1
        return rows + ([row] if row.branches else [])

    def trunk_pieces(self, conv: Conversation) -> list[list[int]]:
        """Token ids of the frame and fixed part, then of each turn, as the local backend encodes them."""
        prompt = self.strategy.prompt(conv.tasks, conv.turns, None)
        before, _ = chat_frame(self.tokenizer, prompt.system)
        head = [*self.encode(before), *self.encode(prompt.parts[0])]
        return [head, *(list(self.encode(p)) for p in prompt.parts[1:-1])]

    def branch(self, conv: Conversation, position: int, gold: str | None,
               current: str | None) -> tuple[list[int], list[int]]:
        """Prompt ids (question, closing, answer prefix) and answer ids of one decision."""
        prompt = self.strategy.prompt(conv.tasks, conv.turns[: position + 1], current)
        _, after = chat_frame(self.tokenizer, prompt.system)
        answer = self.strategy.answer(prompt, name(gold))
        return ([*self.encode(prompt.parts[-1]), *self.encode(after + prompt.answer_prefix)],
                [*self.encode(answer), *answer_end(self.tokenizer)])

    def build(self, conversations: list[Conversation]) -> list[Row]:
        """Rows of every conversation, in order."""
        return [r for c in conversations for r in self.conversation(c)]


def pad(rows: list[list[int]], value: int) -> torch.Tensor:
    """Right-padded rows as one tensor."""
    width = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (width - len(r)) for r in rows])


class PackedCollator:
    """Pads a batch of packed rows; the branch mask is built on the device by `BranchMask`."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, features: list[dict]) -> dict:
        segments = pad([f["segment_ids"] for f in features], PAD)
        return {"input_ids": pad([f["input_ids"] for f in features], self.pad_id),
                "position_ids": pad([f["position_ids"] for f in features], 0),
                "segment_ids": segments, "attention_mask": (segments != PAD).long(),
                "labels": pad([f["labels"] for f in features], IGNORE)}


def branch_mask(segments: torch.Tensor) -> torch.Tensor:
    """(batch, 1, q, k) boolean mask: causal, trunk visible to all, a branch to itself only.

    A padding token sees itself alone, so that no row of the attention is empty.
    """
    length = segments.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=segments.device).tril()
    query, key = segments[:, :, None], segments[:, None, :]
    allowed = causal & ((key == TRUNK) | (key == query)) & (key != PAD) & (query != PAD)
    allowed |= torch.eye(length, dtype=torch.bool, device=segments.device)
    return allowed[:, None]


class BranchMask:
    """A forward pre-hook on the model's backbone: turns `segment_ids` into the 4-D branch mask.

    It also counts, while training, the tokens read and the decisions trained (one per branch,
    or one per row for unpacked rows).
    """

    def __init__(self):
        self.tokens = self.decisions = 0

    def install(self, causal_lm) -> "BranchMask":
        """Hook the backbone of a transformers causal LM (before peft wraps it)."""
        backbone = getattr(causal_lm, causal_lm.base_model_prefix)
        backbone.register_forward_pre_hook(self.hook, with_kwargs=True)
        return self

    def hook(self, module, args, kwargs):
        segments = kwargs.pop("segment_ids", None)
        mask = kwargs.get("attention_mask")
        if module.training and mask is not None:
            self.tokens += int(mask.sum())
            self.decisions += count_branches(segments) if segments is not None else mask.shape[0]
        if segments is not None:
            kwargs["attention_mask"] = device_mask(branch_mask(segments), module.dtype)
        return args, kwargs


def device_mask(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The mask as SDPA is fastest with it: additive on CPU (25% faster than boolean), boolean elsewhere."""
    if allowed.device.type != "cpu":
        return allowed
    return torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)


def count_branches(segments: torch.Tensor) -> int:
    """Branches in a batch of segment ids (each row numbers its branches 1..n)."""
    return int(segments.max(dim=1).values.clamp(min=0).sum())
