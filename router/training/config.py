"""One training job's configuration: a dataclass, reproducible from a JSON file."""
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from router.embedded import EMBEDDED
from router.errors import InputError


class TrainConfigError(InputError):
    """A training configuration that breaks a rule; names the field."""


POSITIVE_INTS = ("lora_r", "lora_alpha", "epochs", "max_seq_length", "batch_size",
                 "grad_accumulation", "eval_steps", "save_steps", "max_eval_examples")
NUMBERS = ("lora_dropout", "learning_rate", "eval_fraction", "max_steps", "wrong_current_share")
OPTIONAL_NUMBERS = ("max_minutes", "max_conversations")


@dataclass
class TrainConfig:
    """What a fine-tuning job trains, on what, and how (LoRA, or QLoRA on CUDA)."""

    datasets: list[str] = field(default_factory=list)
    base_model: str = EMBEDDED
    statuses: list[str] = field(default_factory=lambda: ["unvalidated", "validated"])
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    learning_rate: float = 2e-4
    epochs: int = 1
    max_steps: int = -1
    max_seq_length: int = 1024
    batch_size: int = 4
    grad_accumulation: int = 1
    eval_steps: int = 50
    save_steps: int = 50
    eval_fraction: float = 0.2
    max_eval_examples: int = 64
    max_conversations: int | None = None
    max_minutes: float | None = None
    seed: int = 0
    output_dir: str = ""
    # One row per conversation, each decision a branch over the shared prefix (router/training/packing.py);
    # off: one example per decision, the whole prompt read each time.
    packing: bool = True
    # Share of decisions trained a second time with a wrong current task and the gold answer
    # (exposure robustness: live, the router is given its own previous decision, which may be wrong).
    wrong_current_share: float = 0.5
    # Continue training this LoRA adapter folder (its rank and modules win over lora_*) instead of a new one.
    init_adapter: str | None = None

    def __post_init__(self):
        self.validate()

    def validate(self) -> "TrainConfig":
        """Raise TrainConfigError naming the first field that breaks a rule."""
        if not self.datasets or not all(isinstance(d, str) and d for d in self.datasets):
            raise TrainConfigError("name at least one dataset", field="datasets")
        if not isinstance(self.base_model, str) or not self.base_model.strip():
            raise TrainConfigError("a base model is required", field="base_model")
        for name in POSITIVE_INTS:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise TrainConfigError(f"must be a whole number of at least 1, not {value!r}", field=name)
        for name in NUMBERS + OPTIONAL_NUMBERS:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                if not (value is None and name in OPTIONAL_NUMBERS):
                    raise TrainConfigError(f"must be a number, not {value!r}", field=name)
        if not isinstance(self.target_modules, list) or not all(isinstance(m, str) for m in self.target_modules):
            raise TrainConfigError("must be a list of module names", field="target_modules")
        checks = (("lora_dropout", 0 <= self.lora_dropout < 1, "must be in [0, 1)"),
                  ("learning_rate", 0 < self.learning_rate < 1, "must be in (0, 1)"),
                  ("eval_fraction", 0 <= self.eval_fraction < 1, "must be in [0, 1)"),
                  ("wrong_current_share", 0 <= self.wrong_current_share <= 1, "must be in [0, 1]"),
                  ("packing", isinstance(self.packing, bool), "must be true or false"),
                  ("init_adapter", self.init_adapter is None or (isinstance(self.init_adapter, str)
                                                                 and bool(self.init_adapter.strip())),
                   "must be an adapter folder or null"),
                  ("max_steps", isinstance(self.max_steps, int) and (self.max_steps == -1 or self.max_steps > 0),
                   "must be -1 (use epochs) or at least 1"),
                  ("max_minutes", self.max_minutes is None or self.max_minutes > 0, "must be positive"),
                  ("max_conversations", self.max_conversations is None or self.max_conversations > 0,
                   "must be positive"),
                  ("target_modules", bool(self.target_modules), "name at least one module"))
        for name, ok, problem in checks:
            if not ok:
                raise TrainConfigError(f"{problem}, not {getattr(self, name)!r}", field=name)
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
            raise TrainConfigError(e.problem, file=file, field=e.field)
        except TypeError as e:
            raise TrainConfigError(f"wrong type ({e})", file=file)

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        """Read a configuration JSON file."""
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as e:
            raise TrainConfigError(f"cannot read the file ({e})", file=str(path))
        except json.JSONDecodeError as e:
            raise TrainConfigError(f"not valid JSON ({e.msg})", file=str(path), line=e.lineno)
        return cls.from_dict(raw, file=str(path))
