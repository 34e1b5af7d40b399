"""Which calibration of constrained routing: every form and power, from one scoring pass.

    python bench/calibration_sweep.py --dataset demo [--adapter router/adapters/smollm2-router] [--limit N]

Routes every labelled user turn of a dataset of the database once, with the gold previous label
as the current task (the gold protocol), keeping each decision's label log-probabilities and its
content-free prior (`constrained_calibrated`'s second prompt). Every calibration is then a
function of those two, so one pass prints the metrics of each form at each power (alpha 0: plain
constrained). Forms: `full` divides every label by the prior; `keep-none` divides the tasks only,
none keeping its log-probability; `tasks` reweighs the tasks among themselves and keeps the
model's probability of none (the strategy's choice). Under the free protocol the current task
depends on the earlier decisions, so confirm a choice there with `python cli.py eval`.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from router.evaluation import cases, key  # noqa: E402
from router.metrics import Judged, metrics  # noqa: E402
from router.settings import Settings  # noqa: E402
from router.strategies import NONE, calibrate, calibrate_tasks  # noqa: E402
from services import Services  # noqa: E402

FORMS = {
    "full": lambda logps, prior, alpha, none: calibrate(logps, prior, alpha),
    "keep-none": lambda logps, prior, alpha, none: calibrate(
        logps, [0.0 if k == none else q for k, q in enumerate(prior)], alpha),
    "tasks": calibrate_tasks,
}
ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)


def scored(services: Services, dataset: str, adapter: str | None, limit: int | None) -> list[dict]:
    """Each labelled turn's candidates, log-probabilities, prior and gold labels."""
    router = services.routers.router("constrained_calibrated", "local", None, adapter)
    strategy, kept = router.strategy, []
    plain = strategy.scores

    def keeping(backend, prompt, candidates, session):
        logps, prior = plain(backend, prompt, candidates, session)
        kept.append({"candidates": candidates, "logps": logps, "prior": prior})
        return logps, prior

    strategy.scores = keeping
    turns, catalog = [], services.tasks.catalog()
    conversations = services.datasets.conversations(dataset)[:limit]
    for number, conv in enumerate(conversations, 1):
        for position, gold, previous in cases(conv):
            router.decide(conv.tasks or catalog, conv.turns[: position + 1], previous, session=conv.id)
            turns.append({**kept[-1], "conv": key(conv), "position": position, "gold": gold, "previous": previous})
        router.forget(conv.id)
        print(f"\rscored {number}/{len(conversations)} conversations", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return turns


def judged(turns: list[dict], form: str, alpha: float) -> list[Judged]:
    """The decisions one calibration makes on the scored turns."""
    out = []
    for t in turns:
        probs = FORMS[form](t["logps"], t["prior"], alpha, t["candidates"].index(NONE))
        best = t["candidates"][max(range(len(probs)), key=probs.__getitem__)]
        out.append(Judged(t["conv"], t["position"], "", t["gold"], t["previous"],
                          None if best == NONE else best, True, 0.0))
    return out


def main() -> None:
    """Score once, print one row per form and power."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="a dataset of the database (ROUTER_DB)")
    parser.add_argument("--adapter", help="PEFT adapter folder (default: the base model)")
    parser.add_argument("--limit", type=int, help="first N conversations only")
    args = parser.parse_args()
    turns = scored(Services(Settings.from_env()), args.dataset, args.adapter, args.limit)
    print(f"{args.dataset}, {len(turns)} turns, gold protocol, {args.adapter or 'base model'}")
    print("form      alpha  turn_acc  task_sel  start_R  switch_R/P   end_R/P")
    for form in FORMS:
        for alpha in ALPHAS if form == "full" else ALPHAS[1:]:
            m = metrics(judged(turns, form, alpha))
            p = m["points"]
            print(f"{form:9s} {alpha:5.2f}  {m['turn_accuracy']:8.3f}  {m['task_selection']:8.3f}  "
                  f"{two(p['start']['recall']):>7s}  {two(p['switch']['recall'])}/{two(p['switch']['precision'])}  "
                  f"{two(p['end']['recall'])}/{two(p['end']['precision'])}")


def two(value: float | None) -> str:
    """A share with two decimals, n/a when undefined (no case)."""
    return "n/a" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
