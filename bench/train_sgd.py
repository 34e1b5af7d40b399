"""Benchmark: fine-tune the embedded router on SGD train for a bounded time, evaluate base vs tuned on SGD dev.

    python bench/train_sgd.py --minutes 8 --train-limit 300 --dev-limit 20

Prints the training throughput (tokens per second) and, on the dev conversations, turn accuracy,
start/switch/end recall and task selection of the base and the fine-tuned model next to the copy
baseline: one table with the free protocol (the router's own previous decision, as live), then one
with the gold protocol. Everything goes to a throw-away data folder unless --data-dir is given.
"""
import argparse
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.datasets import DatasetStore  # noqa: E402
from data.db import DatabaseFile  # noqa: E402
from data.jobs import JobStore  # noqa: E402
from data.runs import RunStore  # noqa: E402
from data.sgd import SERVICES, import_sgd  # noqa: E402
from data.training import TrainingJob, eval_key  # noqa: E402
from router.evaluation import PROTOCOLS  # noqa: E402
from router.metrics import text_table  # noqa: E402
from router.settings import Settings  # noqa: E402
from router.training.config import TrainConfig  # noqa: E402

SGD = Path(__file__).resolve().parent.parent.parent / "shared" / "sgd"


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sgd", default=str(SGD), help="SGD folder holding train/ and dev/")
    parser.add_argument("--minutes", type=float, default=8.0, help="training time bound")
    parser.add_argument("--train-limit", type=int, default=300, help="SGD train dialogues to read")
    parser.add_argument("--dev-limit", type=int, default=20, help="SGD dev dialogues to evaluate on")
    parser.add_argument("--services", choices=SERVICES, default="mixed",
                        help="which SGD dialogues to take (as `datasets import-sgd --services`)")
    parser.add_argument("--catalog-size", type=int, default=10, help="tasks per SGD catalog")
    parser.add_argument("--max-seq-length", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--data-dir", help="folder for the database, checkpoints and adapter")
    return parser.parse_args()


def main() -> None:
    """Import, train, evaluate, print."""
    args = parse_args()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="train-sgd-"))
    settings = Settings.from_env({"ROUTER_DATA_DIR": str(data_dir)})
    file = DatabaseFile(settings.db_path)
    datasets = DatasetStore(file)
    for name, split, limit in (("sgd-train", "train", args.train_limit), ("sgd-dev", "dev", args.dev_limit)):
        if name not in datasets.names():
            import_sgd(datasets, name, Path(args.sgd) / split, limit, args.catalog_size, 0,
                       services=args.services)
    config = TrainConfig(datasets=["sgd-train"], max_minutes=args.minutes, max_seq_length=args.max_seq_length,
                         batch_size=args.batch_size, learning_rate=args.lr, eval_fraction=0.05,
                         eval_steps=10**6, save_steps=10**6, max_eval_examples=16)
    jobs = JobStore(file)
    job = jobs.create(asdict(config), evaluate=False, status="running")
    training = TrainingJob(file, settings, job, config)
    training.run(evaluate=False)
    result = jobs.get(job)["result"]
    runs = RunStore(file, datasets)
    evaluated = training.evaluate("sgd-dev", jobs.get(job)["adapter"])
    print(f"\ntraining: {result['method']}, {result['steps']} steps of {args.batch_size} rows in "
          f"{result['seconds']:.0f} s, {result['tokens']} tokens, {result['tokens_per_second']:.1f} tokens/s, "
          f"{result['decisions']} decisions, {result['decisions_per_second']:.2f} decisions/s "
          f"({result['train_rows']} {'packed rows' if result['packing'] else 'examples'} available from "
          f"{args.train_limit} dialogues)")
    for protocol in PROTOCOLS:
        base, tuned = (runs.get(evaluated[eval_key(role, protocol)])["metrics"] for role in ("base", "tuned"))
        print(f"\ndev, {protocol} protocol: {args.dev_limit} SGD dev dialogues, "
              f"{base['turns']} labelled user turns\n")
        print(text_table([("base", base), ("fine-tuned", tuned), ("copy baseline", base["baseline"])]))


if __name__ == "__main__":
    main()
