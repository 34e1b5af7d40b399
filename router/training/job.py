"""The training job: trl's SFTTrainer with a peft LoRA adapter (QLoRA 4-bit NF4 on CUDA)."""
import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from router.embedded import EMBEDDED, embedded_model_dir
from router.errors import RouterError
from router.settings import Settings
from router.training.config import TrainConfig
from router.training.packing import BranchMask, PackedCollator

QLORA, LORA_CPU, LORA_CUDA = "QLoRA 4-bit (CUDA)", "LoRA on CPU", "LoRA on CUDA (bf16 mixed precision)"


class Reporter(Protocol):
    """Where a job reports what it does, and where it learns that it should stop."""

    def log(self, line: str) -> None:
        """Append a line to the job's log."""

    def progress(self, fraction: float) -> None:
        """Share of the training done, in [0, 1]."""

    def loss(self, kind: str, step: int, value: float) -> None:
        """A train or eval loss point."""

    def stop_requested(self) -> bool:
        """Whether someone asked the job to stop."""


@dataclass(frozen=True)
class TrainResult:
    """How a job ended: stopped (a checkpoint to resume from) or finished (an adapter)."""

    stopped: bool
    adapter: Path | None
    steps: int
    tokens: int
    decisions: int
    seconds: float
    method: str

    @property
    def tokens_per_second(self) -> float:
        """Training throughput of this process, prompt and answer tokens alike."""
        return self.tokens / self.seconds if self.seconds else 0.0

    @property
    def decisions_per_second(self) -> float:
        """Routing decisions (answers) trained per second by this process."""
        return self.decisions / self.seconds if self.seconds else 0.0


def training_method(quantize: bool = True) -> str:
    """QLoRA when CUDA and bitsandbytes are there (and `quantize`), plain LoRA otherwise."""
    if not torch.cuda.is_available():
        return LORA_CPU
    return QLORA if quantize and importlib.util.find_spec("bitsandbytes") else LORA_CUDA


def model_path(base: str, settings: Settings) -> str:
    """The folder or hub id of a base model; the embedded one is converted on first use."""
    return str(embedded_model_dir(settings.model_cache)) if base == EMBEDDED else base


def load_base(path: str, method: str):
    """The base model (SDPA attention, which takes the boolean branch mask), 4-bit NF4 for QLoRA."""
    from transformers import AutoModelForCausalLM

    if method != QLORA:
        return AutoModelForCausalLM.from_pretrained(path, attn_implementation="sdpa")
    from peft import prepare_model_for_kbit_training
    from transformers import BitsAndBytesConfig

    quantization = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                      bnb_4bit_compute_dtype=torch.bfloat16)
    model = AutoModelForCausalLM.from_pretrained(path, quantization_config=quantization, device_map="auto",
                                                 attn_implementation="sdpa")
    return prepare_model_for_kbit_training(model)


class Watch:
    """A trainer callback: reports progress and losses, stops on request or at the time bound."""

    def __init__(self, reporter: Reporter, max_minutes: float | None):
        from transformers import TrainerCallback

        self.reporter, self.stopped, self.timed_out = reporter, False, False
        self.started, self.bound = time.monotonic(), max_minutes * 60 if max_minutes else None
        watch = self

        class Callback(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                watch.step_end(state, control)

            def on_log(self, args, state, control, logs=None, **kwargs):
                watch.logged(state, logs or {})

        self.callback = Callback()

    def step_end(self, state, control) -> None:
        """Report progress (steps, or time under a time bound); on a stop request or past the bound, stop."""
        elapsed = (time.monotonic() - self.started) / self.bound if self.bound else 0.0
        self.reporter.progress(min(1.0, max(state.global_step / max(state.max_steps, 1), elapsed)))
        if self.reporter.stop_requested():
            self.stopped = True
        elif elapsed > 1.0:
            self.timed_out = True
        if self.stopped or self.timed_out:
            control.should_training_stop = control.should_save = True
            self.reporter.log(f"step {state.global_step}: " + (
                "stop requested, saving a checkpoint" if self.stopped else "time bound reached"))

    def logged(self, state, logs: dict) -> None:
        """Record train and eval losses and write one log line."""
        for key, kind in (("loss", "train"), ("eval_loss", "eval")):
            if key in logs:
                self.reporter.loss(kind, state.global_step, float(logs[key]))
        shown = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in logs.items())
        self.reporter.log(f"step {state.global_step}/{state.max_steps}: {shown}")


def dataset(rows: list[dict]):
    """Tokenized rows for trl: packed (labels, positions, segments) or one turn each (completion_mask)."""
    from datasets import Dataset

    return Dataset.from_list(rows)


def sft_config(config: TrainConfig, method: str, has_eval: bool):
    """trl's SFTConfig for the job; checkpoints go under output_dir/checkpoints.

    Packed rows come ready (labels built, lengths bounded), so trl's preparation is skipped
    and their extra columns are kept for the collator.
    """
    from trl import SFTConfig

    packed = ({"max_length": None, "remove_unused_columns": False,
               "dataset_kwargs": {"skip_prepare_dataset": True}} if config.packing
              else {"max_length": config.max_seq_length, "completion_only_loss": True})
    return SFTConfig(
        output_dir=str(Path(config.output_dir) / "checkpoints"), num_train_epochs=config.epochs,
        max_steps=config.max_steps, per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size, gradient_accumulation_steps=config.grad_accumulation,
        learning_rate=config.learning_rate, logging_steps=1, seed=config.seed,
        eval_strategy="steps" if has_eval else "no", eval_steps=config.eval_steps,
        save_strategy="steps", save_steps=config.save_steps, save_total_limit=2,
        use_cpu=method == LORA_CPU,
        bf16=method != LORA_CPU, report_to="none", disable_tqdm=True, dataloader_num_workers=0, **packed)


def last_checkpoint(folder: str) -> str | None:
    """The newest checkpoint folder under `folder`, if any."""
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(folder) if Path(folder).is_dir() else None


def train(config: TrainConfig, train_rows: list[dict], eval_rows: list[dict],
          reporter: Reporter, settings: Settings) -> TrainResult:
    """Train a LoRA adapter on the rows; resume from the last checkpoint in output_dir if any."""
    from peft import LoraConfig
    from transformers import AutoTokenizer
    from trl import SFTTrainer

    if not train_rows:
        raise RouterError("no training example: the datasets have no labelled user turn that fits "
                          f"max_seq_length {config.max_seq_length}")
    method = training_method(config.quantize)
    kind = "packed rows (one per conversation)" if config.packing else "examples (one per decision)"
    reporter.log(f"training with {method}: {len(train_rows)} train and {len(eval_rows)} eval {kind}")
    path = model_path(config.base_model, settings)
    tokenizer = AutoTokenizer.from_pretrained(path)
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=config.target_modules, task_type="CAUSAL_LM")
    watch, model = Watch(reporter, config.max_minutes), load_base(path, method)
    reading = BranchMask().install(model)
    collator = {"data_collator": PackedCollator(tokenizer.pad_token_id or 0)} if config.packing else {}
    tuning = {"peft_config": lora}
    if config.init_adapter:
        from peft import PeftModel

        reporter.log(f"continuing the training of the adapter {config.init_adapter}")
        model, tuning = PeftModel.from_pretrained(model, config.init_adapter, is_trainable=True), {}
    trainer = SFTTrainer(model=model, args=sft_config(config, method, bool(eval_rows)),
                         train_dataset=dataset(train_rows), eval_dataset=dataset(eval_rows) if eval_rows else None,
                         processing_class=tokenizer, callbacks=[watch.callback], **collator, **tuning)
    checkpoint = last_checkpoint(trainer.args.output_dir)
    if checkpoint:
        reporter.log(f"resuming from {checkpoint}")
    output = trainer.train(resume_from_checkpoint=checkpoint)
    seconds = output.metrics.get("train_runtime", 0.0)
    adapter = None
    if not watch.stopped:
        adapter = Path(config.output_dir) / "adapter"
        trainer.model.save_pretrained(adapter)
        tokenizer.save_pretrained(adapter)
        reporter.log(f"adapter saved to {adapter}")
    return TrainResult(watch.stopped, adapter, trainer.state.global_step, reading.tokens, reading.decisions,
                       seconds, method)
