"""One training job's configuration: a dataclass, reproducible from a JSON file."""
import json
import types
from dataclasses import MISSING, Field, asdict, dataclass, field, fields
from pathlib import Path
from typing import get_args, get_origin, get_type_hints

from router.embedded import EMBEDDED
from router.errors import InputError


class TrainConfigError(InputError):
    """A training configuration that breaks a rule; names the field."""


@dataclass(frozen=True)
class Bounds:
    """The interval a number must lie in; `also` is one more value allowed outside it (a sentinel)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    also: float | None = None

    def __contains__(self, value: float) -> bool:
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return (above and below) or value == self.also

    def __str__(self) -> str:
        if self.high is None:
            text = f"{'above' if self.low_open else 'at least'} {self.low:g}"
        else:
            text = f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        return text + (f", or {self.also:g}" if self.also is not None else "")


POSITIVE = Bounds(1)
SHARE = Bounds(0, 1, high_open=True)


def about(label: str, help: str, bounds: Bounds | None = None, nonempty: bool = False) -> dict:
    """A field's metadata: its label in the Train form, its help text, the bounds of a number, and
    whether a text or list must not be empty."""
    return {"label": label, "help": help, "bounds": bounds, "nonempty": nonempty}


def setting(default=None, factory=None, **meta):
    """A dataclass field with a default (or a factory of one) and the metadata of `about`."""
    if factory is not None:
        return field(default_factory=factory, metadata=about(**meta))
    return field(default=default, metadata=about(**meta))


@dataclass
class TrainConfig:
    """What a fine-tuning job trains, on what, and how (LoRA, or QLoRA on CUDA)."""

    datasets: list[str] = setting(factory=list, label="Datasets", nonempty=True,
                                  help="labelled datasets of the database to train on")
    base_model: str = setting(EMBEDDED, label="Base model (name, folder or hub id)", nonempty=True,
                              help="the model the adapter is trained on")
    statuses: list[str] = setting(factory=lambda: ["unvalidated", "validated"], label="Statuses",
                                  help="which conversations of the datasets to take, by status")
    lora_r: int = setting(8, label="LoRA r", help="rank of the LoRA matrices", bounds=POSITIVE)
    lora_alpha: int = setting(16, label="LoRA alpha", help="LoRA scaling numerator", bounds=POSITIVE)
    lora_dropout: float = setting(0.05, label="LoRA dropout", help="dropout on the LoRA input", bounds=SHARE)
    target_modules: list[str] = setting(factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"],
                                        label="Target modules", nonempty=True,
                                        help="modules that get an adapter (comma-separated in the form)")
    learning_rate: float = setting(2e-4, label="Learning rate", help="peak learning rate",
                                   bounds=Bounds(0, 1, low_open=True, high_open=True))
    epochs: int = setting(1, label="Epochs", help="passes over the training conversations", bounds=POSITIVE)
    max_steps: int = setting(-1, label="Max steps (-1: epochs)", bounds=Bounds(1, also=-1),
                             help="optimizer steps to stop after; -1: as many as the epochs take")
    max_seq_length: int = setting(1024, label="Max sequence length", bounds=POSITIVE,
                                  help="longest training row in tokens; longer ones are cut")
    batch_size: int = setting(4, label="Batch size", help="rows per device step", bounds=POSITIVE)
    grad_accumulation: int = setting(1, label="Gradient accumulation", bounds=POSITIVE,
                                     help="device steps per optimizer step")
    eval_steps: int = setting(50, label="Evaluate every N steps", bounds=POSITIVE,
                              help="steps between two eval-loss points")
    save_steps: int = setting(50, label="Checkpoint every N steps", bounds=POSITIVE,
                              help="steps between two checkpoints (a stopped job resumes from the last)")
    eval_fraction: float = setting(0.2, label="Held-out share of conversations", bounds=SHARE,
                                   help="conversations kept out of training for the eval loss and evaluation")
    max_eval_examples: int = setting(64, label="Max eval examples", bounds=POSITIVE,
                                     help="held-out rows the eval loss reads at most")
    max_conversations: int | None = setting(None, label="Max conversations", bounds=POSITIVE,
                                            help="first N conversations of the datasets only (null: all)")
    max_minutes: float | None = setting(None, label="Time bound, minutes (0: none)",
                                        bounds=Bounds(0, low_open=True),
                                        help="stop training after this many minutes (null: no bound)")
    seed: int = setting(0, label="Seed", help="seed of the split, the perturbations and the training")
    output_dir: str = setting("", label="Output folder", help="where the adapter goes (blank: the job's folder)")
    packing: bool = setting(True, label="Packing: one row per conversation, each decision a branch "
                                        "(about 5x faster)",
                            help="one row per conversation, each decision a branch over the shared prefix "
                                 "(router/training/packing.py); off: one example per decision")
    wrong_current_share: float = setting(1.0, label="Share of decisions also trained with a wrong current task",
                                         bounds=Bounds(0, 1),
                                         help="decisions trained a second time with a wrong current task and "
                                              "the gold answer (live, the router is given its own previous "
                                              "decision, which may be wrong)")
    rollout_share: float = setting(0.0, label="Share of conversations rolled out live first (DAgger)",
                                   bounds=Bounds(0, 1),
                                   help="before training, this share of the training conversations is routed "
                                        "under the free protocol by the default strategy with the adapter to "
                                        "continue (none: the base model); each decision whose current task was "
                                        "then the router's own wrong previous decision is trained with it too")
    quantize: bool = setting(True, label="QLoRA: 4-bit base model on CUDA",
                             help="on CUDA with bitsandbytes, load the base model in 4-bit NF4 (QLoRA); off: "
                                  "LoRA over the base in bf16 mixed precision, as the CPU routes it (no effect on CPU)")
    init_adapter: str | None = setting(None, label="Adapter to continue", nonempty=True,
                                       help="continue training this LoRA adapter folder (its rank and modules "
                                            "win over lora_*) instead of a new one")

    def __post_init__(self):
        self.validate()

    def validate(self) -> "TrainConfig":
        """Raise TrainConfigError naming the first field that breaks its type, bounds or emptiness rule."""
        for f in fields(self):
            problem = broken(getattr(self, f.name), kinds_of(f.name), f.metadata)
            if problem:
                raise TrainConfigError(problem, field=f.name)
        return self

    def to_json(self) -> str:
        """The configuration as JSON text."""
        return json.dumps(asdict(self), indent=2)

    def save(self, path: str | Path) -> Path:
        """Write the configuration to a JSON file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, raw: object, file: str | None = None) -> "TrainConfig":
        """A configuration from a JSON object; unknown or ill-typed fields are named."""
        if not isinstance(raw, dict):
            raise TrainConfigError("a training configuration must be a JSON object", file=file)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise TrainConfigError(f"unknown field (known: {', '.join(sorted(known))})", file=file,
                                   field=unknown[0])
        try:
            return cls(**raw)
        except TrainConfigError as e:
            raise TrainConfigError(e.problem, file=file, field=e.field) from e
        except TypeError as e:
            raise TrainConfigError(f"wrong type ({e})", file=file) from e

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        """Read a configuration JSON file."""
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as e:
            raise TrainConfigError(f"cannot read the file ({e})", file=str(path)) from e
        except json.JSONDecodeError as e:
            raise TrainConfigError(f"not valid JSON ({e.msg})", file=str(path), line=e.lineno) from e
        return cls.from_dict(raw, file=str(path))


KINDS = {int: "a whole number", float: "a number", bool: "true or false", str: "a text",
         list: "a list of texts"}


def of_type(value: object, kind: type) -> bool:
    """Whether `value` is of `kind` (int, float, bool, str, list[str]); a bool is no number."""
    if kind in (int, float):
        return isinstance(value, int if kind is int else (int, float)) and not isinstance(value, bool)
    if get_origin(kind) is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, kind)


def kinds_of(name: str) -> tuple:
    """The types a field of TrainConfig takes: (int,), (int, NoneType), (list[str],)..."""
    hint = get_type_hints(TrainConfig)[name]
    return get_args(hint) if isinstance(hint, types.UnionType) else (hint,)


def broken(value: object, kinds: tuple, meta: dict) -> str | None:
    """What is wrong with a field's value given its types and metadata, None if nothing."""
    if value is None and type(None) in kinds:
        return None
    kind = next(k for k in kinds if k is not type(None))
    if not of_type(value, kind):
        return f"must be {KINDS[get_origin(kind) or kind]}, not {value!r}"
    if meta.get("nonempty") and (not value or not all(str(v).strip() for v in (
            value if isinstance(value, list) else [value]))):
        return f"must not be empty, not {value!r}"
    bounds = meta.get("bounds")
    if bounds is not None and value not in bounds:
        return f"must be {bounds}, not {value!r}"
    return None


def default_of(f: Field) -> object:
    """A field's default value."""
    return f.default_factory() if f.default is MISSING else f.default


def describe_fields() -> str:
    """Every field of a training configuration with its type, bounds, default and help, one per line."""
    hints = get_type_hints(TrainConfig)
    lines = []
    for f in fields(TrainConfig):
        bounds = f", {f.metadata['bounds']}" if f.metadata["bounds"] else ""
        kind = str(hints[f.name]) if get_args(hints[f.name]) else hints[f.name].__name__
        lines.append(f"  {f.name} ({kind}{bounds}; default {json.dumps(default_of(f))}): {f.metadata['help']}")
    return "\n".join(lines)
