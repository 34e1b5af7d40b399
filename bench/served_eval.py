"""Decisions per second of an evaluation run against served models at 1, 4, 16 and 64 turns in flight.

    python bench/served_eval.py [--conversations N] [--latency 0.3] [--limit 32] [--every 40]
                                [--serve-conversations N] [--no-serve]

Two servers, in one run:
- the stand-in OpenAI-compatible server (tests/routing_standin.py) made to behave like a busy
  one: `--latency` seconds per request, at most `--limit` requests in flight (more get a 429
  with Retry-After), and a 429 for every `--every`-th request;
- `transformers serve` on the embedded model (as tests/test_openai_backend.py starts it).
Each level routes the same demo conversations under the gold protocol into its own run of a
temporary SQLite database (predictions stored as they arrive), then prints decisions/s, the
speed-up over one in flight, retries, failed turns, and whether every level chose the same labels.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.datasets import DatasetStore  # noqa: E402
from data.db import DatabaseFile  # noqa: E402
from data.runs import RunStore  # noqa: E402
from data.samples import import_demo  # noqa: E402
from router.embedded import embedded_model_dir  # noqa: E402
from router.evaluation import RunConfig  # noqa: E402
from router.services import RouterFactory  # noqa: E402
from router.settings import Settings  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.routing_standin import BusyServer  # noqa: E402
from tests.test_openai_backend import Served  # noqa: E402

LEVELS = (1, 4, 16, 64)


def measure(runs: RunStore, url: str, model: str, strategy: str, limit: int) -> list[tuple]:
    """(level, decisions, seconds, retries, failed, labels) of a gold run at each level."""
    settings = Settings.from_env({**os.environ, "ROUTER_OPENAI_BASE_URL": url,
                                  "ROUTER_BACKEND_TIMEOUT": "300", "ROUTER_BACKEND_TRIES": "8"})
    config = RunConfig("demo", strategy, "openai", model, protocol="gold", limit=limit)
    out = []
    for level in LEVELS:
        router = RouterFactory(settings).router(strategy, "openai", model)
        start, last = time.perf_counter(), []
        run = runs.execute(config, router, runs.datasets.catalog("demo"), lambda d, t: last.append(
            time.perf_counter()), fresh=True, concurrency=level)
        seconds = last[-1] - start  # until the last decision is stored, metrics left out
        metrics = runs.get(run)["metrics"]
        out.append((level, metrics["turns"] + metrics["failed"], seconds, metrics["retries"],
                    metrics["failed"], runs.labels(run)))
        print(f"  {level:>3} in flight: {out[-1][1] / seconds:7.2f} decisions/s", file=sys.stderr, flush=True)
    return out


def table(name: str, results: list[tuple]) -> None:
    """Print one server's figures."""
    base = results[0][1] / results[0][2]
    print(f"\n{name}")
    print(f"{'in flight':>9} {'decisions':>9} {'seconds':>8} {'decisions/s':>11} {'speed-up':>8} "
          f"{'retries':>7} {'failed':>6}")
    for level, decisions, seconds, retries, failed, _ in results:
        rate = decisions / seconds
        print(f"{level:>9} {decisions:>9} {seconds:>8.1f} {rate:>11.2f} {rate / base:>7.1f}x "
              f"{retries:>7} {failed:>6}")
    same = all(r[5] == results[0][5] for r in results)
    print(f"same labels at every level: {'yes' if same else 'NO'}")


def main() -> None:
    """Measure the stand-in, then transformers serve, and print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=24, help="demo conversations (stand-in)")
    parser.add_argument("--latency", type=float, default=0.3, help="stand-in seconds per request")
    parser.add_argument("--limit", type=int, default=32, help="stand-in requests in flight")
    parser.add_argument("--every", type=int, default=40, help="stand-in: a 429 every n-th request")
    parser.add_argument("--serve-conversations", type=int, default=4,
                        help="demo conversations (transformers serve)")
    parser.add_argument("--no-serve", action="store_true", help="skip transformers serve")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="served-eval-"))
    file = DatabaseFile(folder / "bench.db")
    datasets = DatasetStore(file)
    import_demo(datasets, "demo")
    runs = RunStore(file, datasets)
    busy = BusyServer(latency_s=args.latency, limit=args.limit, every=args.every)
    with busy.start() as server:
        print("stand-in server", file=sys.stderr)
        standin = measure(runs, f"{server.url}/v1", "standin", "constrained", args.conversations)
    table(f"stand-in server: {args.latency:g} s per request, {args.limit} in flight at most, "
          f"a 429 every {args.every} requests ({busy.refused} refused in all), constrained, gold", standin)
    if args.no_serve:
        return
    model = str(embedded_model_dir(Settings.from_env().model_cache))
    with open(folder / "serve.log", "w") as log:
        served = Served(model, free_port(), log)
        served.start()
        try:
            print("transformers serve", file=sys.stderr)
            real = measure(runs, served.url, model, "zero_shot", args.serve_conversations)
        finally:
            served.stop()
    table("transformers serve on the embedded model (CPU), zero_shot, gold", real)


if __name__ == "__main__":
    main()
