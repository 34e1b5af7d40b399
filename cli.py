"""Router Playground's command line (`python cli.py --help`): an entry point like app.py.

The services are built once per command, each part on first use; one handler per subcommand.
"""
import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from data.testsets import NAMES as TESTSETS
from router.backends import backend_names
from router.catalog import Catalog, Info, Task, json_files
from router.errors import CatalogError, RouterError
from router.evaluation import PROTOCOLS
from router.settings import Settings
from router.strategies import DEFAULT_STRATEGY, STRATEGIES
from router.training.config import describe_fields
from router.uploads import CATALOG_TYPES, DATASET_TYPES, check_upload
from services import Services


def parse_infos(items: list[str] | None) -> tuple[Info, ...]:
    """Infos from NAME=DESCRIPTION arguments."""
    infos = []
    for item in items or []:
        name, sep, description = item.partition("=")
        if not sep:
            raise RouterError(f"--info '{item}' must be NAME=DESCRIPTION")
        infos.append(Info(name.strip(), description.strip()))
    return tuple(infos)


def checked_file(services: Services, path: str, types: tuple[str, ...]) -> Path:
    """A file to import, checked for type, size (ROUTER_MAX_UPLOAD_MB) and text content."""
    return check_upload(path, types, services.settings.max_upload_mb)


def catalog_file(services: Services, path: str | None) -> Catalog:
    """A catalog file checked like an upload, of at most ROUTER_MAX_TASKS tasks; the database's if None."""
    if path is None:
        return services.tasks.catalog()
    return Catalog.load(checked_file(services, path, CATALOG_TYPES), services.settings.max_tasks)


def emit(text: str, output: str | None) -> None:
    """Write `text` to the file `output`, or print it."""
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")


def progress_line(label: str, every: float = 5.0):
    """A callback printing `label done/total` to stderr: redrawn in place on a terminal, elsewhere
    (a log, a pipe, CI) a line at each tenth done or every `every` seconds, and at the end."""
    if sys.stderr.isatty():
        def redraw(done: int, total: int) -> None:
            print(f"\r{label} {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)
        return redraw
    last = {"time": time.monotonic(), "tenth": 0}

    def line(done: int, total: int) -> None:
        tenth, now = 10 * done // max(total, 1), time.monotonic()
        if done == total or tenth > last["tenth"] or now - last["time"] >= every:
            last.update(time=now, tenth=tenth)
            print(f"{label} {done}/{total}", file=sys.stderr, flush=True)
    return line


def tasks_list(services: Services, args) -> None:
    """Print the catalog as a table or as JSON."""
    catalog = services.tasks.catalog()
    if args.json:
        print(catalog.to_json(), end="")
        return
    from tabulate import tabulate

    print(tabulate([(t.name, t.description, ", ".join(i.name for i in t.infos)) for t in catalog],
                   headers=["name", "description", "infos"], maxcolwidths=[None, 60, 40]))


def tasks_add(services: Services, args) -> None:
    """Add a task."""
    services.tasks.add(Task(args.name, args.description, args.instructions or "", parse_infos(args.info)))
    changed(services, "add")


def tasks_edit(services: Services, args) -> None:
    """Change a task's name, description, instructions or infos; what is not given stays."""
    old = services.tasks.require(args.name).get(args.name)
    infos = parse_infos(args.info) if args.info else (() if args.clear_infos else old.infos)
    services.tasks.update(args.name, Task(args.rename or old.name,
                                          old.description if args.description is None else args.description,
                                          old.instructions if args.instructions is None else args.instructions,
                                          infos))
    changed(services, "edit")


def tasks_delete(services: Services, args) -> None:
    """Delete a task."""
    services.tasks.delete(args.name)
    changed(services, "delete")


def changed(services: Services, action: str) -> None:
    """Say that the catalog changed and how many tasks it holds."""
    print(f"{action}: done; the catalog has {len(services.tasks.catalog())} tasks")


def tasks_import(services: Services, args) -> None:
    """Merge (or replace the catalog with) catalog or Mojodex task files, a folder for its .json files."""
    files = [checked_file(services, f, CATALOG_TYPES) for f in json_files(args.files)]
    if not files:
        raise CatalogError("no .json file to import", file=", ".join(args.files))
    catalog = services.tasks.import_catalog(Catalog.load_all(files, services.settings.max_tasks),
                                            replace=args.replace)
    print(f"imported {', '.join(f.name for f in files)}: the catalog has {len(catalog)} tasks")


def tasks_export(services: Services, args) -> None:
    """Write the catalog in our shape or Mojodex's."""
    emit(services.tasks.export(args.shape), args.output)


def route(services: Services, args) -> None:
    """Route every user turn of every conversation in a JSONL file."""
    from router.conversation import read_jsonl

    catalog = catalog_file(services, args.catalog)
    conversations = read_jsonl(args.conversation, catalog, services.settings.max_tasks)
    adapter = services.settings.adapter_for(args.backend, args.model, args.adapter)
    router = services.routers.router(args.strategy, args.backend, args.model, adapter)
    results = []
    for conv in conversations:
        decisions = router.route(conv, catalog)
        results.append({"id": conv.id, "decisions": [
            {"turn": k, "content": conv.turns[k].content, **d.to_dict()}
            for k, d in zip(conv.user_indices(), decisions)]})
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        for result in results:
            print_route(result)


def print_route(result: dict) -> None:
    """Human-readable decisions of one conversation."""
    print(f"== {result['id']}")
    for d in result["decisions"]:
        print(f"turn {d['turn']}  user: {d['content']}")
        print(f"  label {d['label'] or 'none'}  event {d['event']}  "
              f"valid {'yes' if d['valid'] else 'NO'}  latency {d['latency']:.3f} s")
        if d["scores"]:
            ranked = sorted(d["scores"].items(), key=lambda kv: -kv[1])
            print("  scores " + " | ".join(f"{name} {p:.3f}" for name, p in ranked))
        if d["candidates"] is not None:
            print("  candidates " + " | ".join(f"{name} {s:.3f}" for name, s in d["candidates"].items()))
        if d["raw"] is not None:
            print(f"  raw    {d['raw']!r}")


def generate(services: Services, args) -> None:
    """Generate labelled conversations into a dataset, printing progress and what could not be read."""
    from router.generator import Generator, Mix, plan

    catalog = services.tasks.catalog()
    cases = plan(catalog, [t.strip() for t in args.tasks.split(",") if t.strip()], args.count,
                 Mix(args.switch, args.end, args.uncovered, args.smalltalk), args.seed)
    backend = services.routers.backend(args.backend, args.model, args.adapter)
    report = Generator(backend, services.settings.prompts_dir).run(
        catalog, cases, lambda k, n: print(f"generated {k}/{n}", file=sys.stderr, flush=True))
    for failure in report.failures:
        print(f"could not read a {failure.case.kind} conversation for {failure.case.task}: "
              f"{failure.reason}\n--- raw output ---\n{failure.raw}\n---", file=sys.stderr)
    services.annotations.add_generated(args.dataset, report.conversations, catalog)
    print(f"stored {len(report.conversations)} conversations in dataset '{args.dataset}', "
          f"{len(report.failures)} could not be read")


def evaluate(services: Services, args) -> None:
    """Evaluate a model x strategy on a dataset (resuming an unfinished identical run)."""
    from router.embedded import EMBEDDED
    from router.evaluation import RunConfig
    from router.prices import load_prices, priced

    adapter = services.settings.adapter_for(args.backend, args.model, args.adapter)
    config = RunConfig(args.dataset, args.strategy, args.backend, args.model, adapter, args.protocol, args.limit)
    router = services.routers.router(args.strategy, args.backend, args.model, adapter)
    try:
        run = services.runs.execute(config, router, services.tasks.catalog(), progress_line("routed turns"),
                                    fresh=args.fresh, concurrency=args.concurrency)
    except KeyboardInterrupt:
        raise RouterError("interrupted; the same command resumes the run where it stopped") from None
    metrics = priced(services.runs.get(run)["metrics"], args.model or EMBEDDED,
                     load_prices(services.settings.prices_path))
    if args.json:
        print(json.dumps({"run": run, "config": config.__dict__, "metrics": metrics}, indent=2))
    else:
        print_eval(run, config, metrics, services.settings.backend_tries)


def print_eval(run: int, config, metrics: dict, tries: int) -> None:
    """A run's metrics beside the copy baseline, then its retries and failed turns."""
    from router.metrics import text_table

    print(f"run {run}: {config.title} on {config.dataset}")
    print(text_table([(config.title, metrics), ("copy baseline", metrics["baseline"])]))
    if metrics["retries"]:
        print(f"{metrics['retries']} request(s) tried again (rate limits, server errors)")
    if metrics["failed"]:
        print(f"{metrics['failed']} turn(s) failed after {tries} tries and are not scored; "
              "the same command routes them again")


def datasets_list(services: Services, args) -> None:
    """Print the datasets with their sizes."""
    from tabulate import tabulate

    print(tabulate(services.datasets.summary(), headers="keys"))


def datasets_import(services: Services, args) -> None:
    """Import a JSONL file, all or nothing."""
    count = services.datasets.import_jsonl(args.name, checked_file(services, args.file, DATASET_TYPES),
                                           catalog_file(services, args.catalog))
    print(f"imported {count} conversations into '{args.name}'")


def datasets_import_sgd(services: Services, args) -> None:
    """Import a Schema-Guided Dialogue folder."""
    from data.sgd import import_sgd

    count = import_sgd(services.datasets, args.name, args.folder, args.limit, args.catalog_size, args.seed,
                       progress_line("read dialogues"), args.services, args.ends)
    print(f"imported {count} SGD dialogues into '{args.name}'")


def datasets_import_synthetic(services: Services, args) -> None:
    """Write labelled training conversations from data/synthetic_bank.json."""
    from data.synthetic import import_synthetic

    count = import_synthetic(services.datasets, args.name, args.count, args.seed, args.hard_negatives)
    print(f"imported {count} synthetic conversations into '{args.name}'")


def datasets_import_demo(services: Services, args) -> None:
    """Import the shipped demo dataset."""
    from data.samples import import_demo

    print(f"imported {import_demo(services.datasets, args.name)} demo conversations into '{args.name}'")


def datasets_import_testset(services: Services, args) -> None:
    """Import a shipped test set (data/testsets/), never to be trained on."""
    from data.testsets import import_testset

    name = args.name or args.testset
    print(f"imported {import_testset(services.datasets, args.testset, name)} test-set conversations "
          f"into '{name}' (evaluate on it; training refuses it)")


def datasets_export(services: Services, args) -> None:
    """Write a dataset as JSONL."""
    emit(services.datasets.export_jsonl(args.name), args.output)


def train(services: Services, args) -> None:
    """Run a training job from its config file (as a new job, or as job --job of the queue).

    The job's row beats (data.heartbeat) from before the heavy imports until the process ends.
    """
    import os
    import traceback
    from dataclasses import asdict

    from data.heartbeat import Heartbeat
    from router.training.config import TrainConfig

    jobs, config = services.jobs, TrainConfig.load(args.config)
    job = args.job or jobs.create(asdict(config), evaluate=not args.no_eval, status="running")
    jobs.set(job, pid=os.getpid(), status="running")
    try:
        with Heartbeat(services.file, "jobs", job):
            from data.training import TrainingJob

            status = TrainingJob(services.file, services.settings, job, config).run(evaluate=not args.no_eval)
    except BaseException as e:
        jobs.log(job, traceback.format_exc())
        jobs.mark(job, "failed", error=f"{type(e).__name__}: {e}")
        raise
    print(f"job {job}: {status}")


def candidate_options(parser: argparse.ArgumentParser) -> None:
    """--candidates-above and --candidates-k (ROUTER_CANDIDATES_ABOVE / _K by default)."""
    parser.add_argument("--candidates-above", type=int, metavar="N",
                        help="route catalogs of more than N tasks among retrieved candidates "
                             "(default: ROUTER_CANDIDATES_ABOVE or 20)")
    parser.add_argument("--candidates-k", type=int, metavar="K",
                        help="candidates beside the current task (default: ROUTER_CANDIDATES_K or 8)")


def with_candidates(settings: Settings, args) -> Settings:
    """The settings, with the candidate stage as --candidates-above / --candidates-k say (route, eval)."""
    given = {"candidates_above": getattr(args, "candidates_above", None),
             "candidates_k": getattr(args, "candidates_k", None)}
    return replace(settings, **{k: v for k, v in given.items() if v is not None})


def model_options(parser: argparse.ArgumentParser, routes: bool = False) -> None:
    """--backend, --model, --adapter: the model a command runs (`routes`: the default router's adapter)."""
    parser.add_argument("--backend", choices=backend_names(), default="local")
    parser.add_argument("--model", help="model name, folder or hub id (default: embedded)")
    parser.add_argument("--adapter", help="PEFT adapter folder" + (
        "; default: the default router's (the shipped router/adapters/smollm2-router, or ROUTER_ADAPTER) on the "
        "embedded model; none: the base model" if routes else ""))


def command(sub, name: str, handler, **options) -> argparse.ArgumentParser:
    """A subcommand run by `handler(services, args)`."""
    parser = sub.add_parser(name, **options)
    parser.set_defaults(handler=handler)
    return parser


def add_task_parsers(sub) -> None:
    """tasks list|add|edit|delete|import|export."""
    tasks = sub.add_parser("tasks", help="manage the task catalog").add_subparsers(dest="action", required=True)
    command(tasks, "list", tasks_list, help="list the tasks").add_argument("--json", action="store_true")
    add = command(tasks, "add", tasks_add, help="add a task")
    add.add_argument("name")
    add.add_argument("--description", required=True)
    edit = command(tasks, "edit", tasks_edit, help="edit a task")
    edit.add_argument("name")
    edit.add_argument("--rename")
    edit.add_argument("--description")
    edit.add_argument("--clear-infos", action="store_true")
    for p in (add, edit):
        p.add_argument("--instructions")
        p.add_argument("--info", action="append", metavar="NAME=DESCRIPTION",
                       help="information the task must collect (repeatable)")
    command(tasks, "delete", tasks_delete, help="delete a task").add_argument("name")
    imp = command(tasks, "import", tasks_import,
                  help="import catalog JSON files (ours or Mojodex's shape, or one Mojodex task each) or folders")
    imp.add_argument("files", nargs="+", metavar="FILE_OR_FOLDER")
    imp.add_argument("--replace", action="store_true", help="replace the catalog instead of merging")
    exp = command(tasks, "export", tasks_export, help="export the catalog as JSON")
    exp.add_argument("--shape", choices=["native", "mojodex"], default="native")
    exp.add_argument("-o", "--output")


def add_model_parsers(sub) -> None:
    """route, generate, eval, train: the commands that run a model."""
    rt = command(sub, "route", route, help="route the user turns of conversations")
    rt.add_argument("--conversation", required=True, help="JSONL file of conversations")
    rt.add_argument("--strategy", choices=list(STRATEGIES), default=DEFAULT_STRATEGY,
                    help=f"how the model is asked (default: {DEFAULT_STRATEGY})")
    rt.add_argument("--catalog", help="catalog JSON file (default: the database's)")
    rt.add_argument("--json", action="store_true")
    gen = command(sub, "generate", generate, help="generate labelled conversations into a dataset")
    gen.add_argument("--tasks", required=True, help="comma-separated task names of the catalog")
    gen.add_argument("--count", type=int, required=True)
    gen.add_argument("--dataset", required=True, help="dataset to add them to (created if missing)")
    for kind in ("switch", "end", "uncovered", "smalltalk"):
        gen.add_argument(f"--{kind}", type=float, default=0.0, help=f"share of {kind} cases")
    gen.add_argument("--seed", type=int, default=0)
    ev = command(sub, "eval", evaluate, help="evaluate a model x strategy on a labelled dataset")
    ev.add_argument("--dataset", required=True)
    ev.add_argument("--strategy", choices=list(STRATEGIES), default=DEFAULT_STRATEGY,
                    help=f"how the model is asked (default: {DEFAULT_STRATEGY})")
    ev.add_argument("--protocol", choices=list(PROTOCOLS), default="free",
                    help="current task = the router's own previous decision (live use) or the gold previous label")
    ev.add_argument("--limit", type=int, help="first N conversations only")
    ev.add_argument("--fresh", action="store_true",
                    help="start anew instead of resuming (or of routing failed turns again)")
    ev.add_argument("--concurrency", type=int,
                    help="turns routed at once (default 16 for served backends, 1 for local)")
    ev.add_argument("--json", action="store_true")
    for parser in (rt, gen, ev):
        model_options(parser, routes=parser is not gen)
    for parser in (rt, ev):
        candidate_options(parser)
    tr = command(sub, "train", train, help="fine-tune the router model (LoRA; QLoRA on CUDA)",
                 formatter_class=argparse.RawDescriptionHelpFormatter,
                 epilog="fields of the configuration file (a JSON object):\n" + describe_fields())
    tr.add_argument("config", help="training configuration JSON file")
    tr.add_argument("--job", type=int, help="run this queued job of the database")
    tr.add_argument("--no-eval", action="store_true",
                    help="skip the base vs fine-tuned evaluation on the held-out conversations")


def add_dataset_parsers(sub) -> None:
    """datasets list|import|import-sgd|import-synthetic|import-demo|import-testset|export."""
    ds = sub.add_parser("datasets", help="manage labelled datasets").add_subparsers(dest="action", required=True)
    command(ds, "list", datasets_list, help="list the datasets")
    imp = command(ds, "import", datasets_import, help="import a JSONL file (all or nothing)")
    imp.add_argument("file")
    imp.add_argument("--name", required=True)
    imp.add_argument("--catalog", help="catalog JSON file (default: the database's)")
    sgd = command(ds, "import-sgd", datasets_import_sgd, help="import a Schema-Guided Dialogue folder")
    sgd.add_argument("folder")
    sgd.add_argument("--name", required=True)
    sgd.add_argument("--limit", type=int, help="N dialogues only")
    sgd.add_argument("--services", choices=["mixed", "single", "multi", "all"], default="mixed",
                     help="mixed: single- and multi-service dialogues in turn, a seeded sample of each; "
                          "single or multi: a seeded sample of those only; all: the first in file order")
    sgd.add_argument("--ends", choices=["acts", "state"], default="acts",
                     help="acts: a user turn that only thanks or says goodbye is none (an end); "
                          "state: SGD's active intent as it is")
    sgd.add_argument("--catalog-size", type=int, default=10, help="tasks per conversation")
    sgd.add_argument("--seed", type=int, default=0, help="seed of the sample and of the distractor tasks")
    syn = command(ds, "import-synthetic", datasets_import_synthetic,
                  help="write labelled training conversations from data/synthetic_bank.json")
    syn.add_argument("--name", required=True)
    syn.add_argument("--count", type=int, default=2000, help="how many conversations")
    syn.add_argument("--seed", type=int, default=0, help="the same seed writes the same conversations")
    syn.add_argument("--hard-negatives", type=float, default=0.0, metavar="SHARE",
                     help="share of detail turns followed by a turn that stays on the task though it reads like "
                          "leaving it: 'yes', 'thanks, and ...', another task named (default 0: the shipped recipe)")
    command(ds, "import-demo", datasets_import_demo, help="import the shipped demo dataset").add_argument(
        "--name", default="demo")
    tst = command(ds, "import-testset", datasets_import_testset,
                  help="import a shipped hand-written test set of data/testsets/ (never trained on)")
    tst.add_argument("testset", choices=list(TESTSETS))
    tst.add_argument("--name", help="dataset name (default: the test set's)")
    exp = command(ds, "export", datasets_export, help="export a dataset as JSONL")
    exp.add_argument("name")
    exp.add_argument("-o", "--output")


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    parser = argparse.ArgumentParser(prog="python cli.py", description="Router Playground's command line")
    parser.add_argument("--db", help="SQLite database (default: ROUTER_DB or var/playground.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    add_task_parsers(sub)
    add_model_parsers(sub)
    add_dataset_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command on services built once; domain errors print one line and exit 2."""
    args = build_parser().parse_args(argv)
    settings = with_candidates(Settings.from_env(), args)
    services = Services(replace(settings, db_path=Path(args.db)) if args.db else settings)
    try:
        args.handler(services, args)
    except RouterError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
