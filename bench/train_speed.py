"""Benchmark: packed rows vs one example per decision, same SGD dialogues and steps, in one run.

    python bench/train_speed.py --dialogues 8 --steps 3 --rows 1

Each mode trains a fresh LoRA adapter of the embedded model for the same number of optimizer
steps on the same SGD train dialogues (multi-service ones included), each step on about the same
number of decisions: one packed row per conversation (`--rows` of them a step), or that many
decisions as one-turn examples. Each mode runs in its own process, so its peak memory is its own.
Prints tokens read per trained decision, decisions trained per second, peak resident memory and
the losses of both, then the speed-up.
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.sgd import read_sgd  # noqa: E402
from data.training import training_rows  # noqa: E402
from router.settings import Settings  # noqa: E402
from router.training.config import TrainConfig  # noqa: E402
from router.training.job import train  # noqa: E402

SGD = ROOT.parent / "shared" / "sgd" / "train"


class Losses:
    """A reporter that keeps the train losses and prints nothing else."""

    def __init__(self):
        self.points: list[float] = []

    def log(self, line: str) -> None:
        """Log lines are not needed here."""

    def progress(self, fraction: float) -> None:
        """Progress is not shown."""

    def loss(self, kind: str, step: int, value: float) -> None:
        """Keep each train loss."""
        if kind == "train":
            self.points.append(round(value, 4))

    def stop_requested(self) -> bool:
        """Never stopped from outside."""
        return False


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sgd", default=str(SGD), help="SGD train folder")
    parser.add_argument("--dialogues", type=int, default=8, help="SGD dialogues (mixed services)")
    parser.add_argument("--steps", type=int, default=3, help="optimizer steps of each mode")
    parser.add_argument("--rows", type=int, default=1, help="packed rows (conversations) per step")
    parser.add_argument("--mode", choices=["packed", "unpacked"], help=argparse.SUPPRESS)
    return parser.parse_args()


def run_mode(args: argparse.Namespace) -> dict:
    """Train one mode in this process and return its figures."""
    settings = Settings.from_env()
    conversations = read_sgd(args.sgd, args.dialogues, services="mixed")
    packed = args.mode == "packed"
    config = TrainConfig(datasets=["sgd"], packing=True, max_seq_length=4096, batch_size=args.rows,
                         wrong_current_share=0.0, eval_steps=10**6, save_steps=10**6, seed=0,
                         output_dir=tempfile.mkdtemp(prefix="train-speed-"))
    rows, _, _ = training_rows(config, settings, conversations, [])
    per_row = sum(max(r["segment_ids"]) for r in rows) / len(rows)
    if not packed:
        config = replace(config, packing=False, batch_size=max(1, round(per_row * args.rows)))
        rows, _, _ = training_rows(config, settings, conversations, [])
    config = replace(config, max_steps=args.steps)
    losses = Losses()
    result = train(config, rows, [], losses, settings)
    return {"mode": args.mode, "rows_per_step": config.batch_size, "decisions": result.decisions,
            "tokens": result.tokens, "seconds": result.seconds,
            "tokens_per_decision": result.tokens / max(result.decisions, 1),
            "decisions_per_second": result.decisions_per_second,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "losses": losses.points}


def measure(args: argparse.Namespace, mode: str) -> dict:
    """Run one mode in a child process and read its figures."""
    argv = [sys.executable, __file__, "--sgd", args.sgd, "--dialogues", str(args.dialogues),
            "--steps", str(args.steps), "--rows", str(args.rows), "--mode", mode]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Both modes, one after the other, then the table."""
    args = parse_args()
    if args.mode:
        print(json.dumps(run_mode(args)))
        return
    from tabulate import tabulate

    figures = [measure(args, mode) for mode in ("packed", "unpacked")]
    keys = ["rows_per_step", "decisions", "tokens", "seconds", "tokens_per_decision",
            "decisions_per_second", "peak_rss_mb"]
    print(f"{args.dialogues} SGD train dialogues (mixed services), {args.steps} steps per mode\n")
    print(tabulate([[k, *(f[k] for f in figures)] for k in keys], headers=["", "packed", "unpacked"],
                   floatfmt=".2f"))
    for f in figures:
        print(f"{f['mode']} train losses: {f['losses']}")
    packed, unpacked = figures
    print(f"\npacked vs unpacked: {packed['decisions_per_second'] / unpacked['decisions_per_second']:.1f}x "
          f"decisions trained per second, {unpacked['tokens_per_decision'] / packed['tokens_per_decision']:.1f}x "
          "fewer tokens read per decision")


if __name__ == "__main__":
    main()
