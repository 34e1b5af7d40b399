"""Benchmark: the embedded model with each strategy on the demo dataset and an SGD folder.

    python bench/eval_strategies.py [SGD_FOLDER] [--limit N] [--sgd-limit N] [--services S] [--strategies ...]
        [--protocol free|gold]

Prints, per dataset, the metric table (DESIGN.md §3) of every strategy next to the copy baseline.
Runs go to a throw-away database unless --db is given (then an interrupted benchmark resumes).
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.datasets import DatasetStore  # noqa: E402
from data.db import DatabaseFile  # noqa: E402
from data.migrations import DEFAULT_CATALOG  # noqa: E402
from data.runs import RunStore  # noqa: E402
from data.samples import import_demo  # noqa: E402
from data.sgd import SERVICES, import_sgd  # noqa: E402
from router.catalog import Catalog  # noqa: E402
from router.evaluation import PROTOCOLS, RunConfig  # noqa: E402
from router.metrics import text_table  # noqa: E402
from router.services import RouterFactory  # noqa: E402
from router.settings import Settings  # noqa: E402
from router.strategies import STRATEGIES  # noqa: E402


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sgd", nargs="?", help="SGD folder (dialogues_*.json and schema.json)")
    parser.add_argument("--limit", type=int, default=4, help="demo conversations (default 4)")
    parser.add_argument("--sgd-limit", type=int, default=3, help="SGD dialogues (default 3)")
    parser.add_argument("--services", choices=SERVICES, default="mixed",
                        help="which SGD dialogues to take (as `datasets import-sgd --services`)")
    parser.add_argument("--catalog-size", type=int, default=10, help="tasks per SGD catalog")
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    parser.add_argument("--protocol", choices=PROTOCOLS, default="free",
                        help="current task = the router's own previous decision (free) or the gold one")
    parser.add_argument("--db", help="SQLite file to keep the runs in (default: a temporary one)")
    return parser.parse_args()


def bench(runs: RunStore, factory: RouterFactory, dataset: str, limit: int,
          strategies: list[str], protocol: str) -> None:
    """Run every strategy on `dataset` and print the table."""
    results = []
    for strategy in strategies:
        config = RunConfig(dataset, strategy, protocol=protocol, limit=limit)
        started = time.perf_counter()
        run = runs.execute(config, factory.router(strategy), Catalog.load(DEFAULT_CATALOG),
                           lambda d, t, s=strategy: print(f"\r{dataset} {s}: {d}/{t} turns", end="",
                                                         file=sys.stderr, flush=True))
        print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        results.append((strategy, runs.get(run)["metrics"]))
    print(f"\n## {dataset}: {results[0][1]['turns']} labelled user turns, {limit} conversations, "
          f"{protocol} protocol\n")
    print(text_table(results + [("copy baseline", results[0][1]["baseline"])]))


def main() -> None:
    """Import the datasets, run the strategies, print the tables."""
    args = parse_args()
    db = args.db or str(Path(tempfile.mkdtemp(prefix="bench-")) / "bench.db")
    file = DatabaseFile(db)
    datasets = DatasetStore(file)
    runs = RunStore(file, datasets)
    factory = RouterFactory(Settings.from_env())
    if "demo" not in datasets.names():
        import_demo(datasets)
    bench(runs, factory, "demo", args.limit, args.strategies, args.protocol)
    if args.sgd:
        if "sgd" not in datasets.names():
            import_sgd(datasets, "sgd", args.sgd, args.sgd_limit, args.catalog_size, seed=0,
                       services=args.services)
        bench(runs, factory, "sgd", args.sgd_limit, args.strategies, args.protocol)


if __name__ == "__main__":
    main()
