"""`python -m router`: the command line. An entry point like app.py, so it may use data/."""
import argparse
import json
import sys

from router.catalog import Catalog, Info, Task
from router.errors import RouterError
from router.settings import Settings
from router.uploads import CATALOG_TYPES, DATASET_TYPES, check_upload


def parse_infos(items: list[str] | None) -> tuple[Info, ...]:
    """Infos from NAME=DESCRIPTION arguments."""
    infos = []
    for item in items or []:
        name, sep, description = item.partition("=")
        if not sep:
            raise RouterError(f"--info '{item}' must be NAME=DESCRIPTION")
        infos.append(Info(name.strip(), description.strip()))
    return tuple(infos)


def task_store(args):
    """The task store of the database chosen by --db or the settings."""
    from data.db import DatabaseFile
    from data.tasks import TaskStore

    settings = Settings.from_env()
    return TaskStore(DatabaseFile(args.db or settings.db_path), settings.max_tasks)


def show_catalog(catalog: Catalog, as_json: bool) -> None:
    """Print a catalog as a table or as JSON."""
    if as_json:
        print(catalog.to_json(), end="")
        return
    from tabulate import tabulate

    print(tabulate([(t.name, t.description, ", ".join(i.name for i in t.infos)) for t in catalog],
                   headers=["name", "description", "infos"], maxcolwidths=[None, 60, 40]))


def checked_file(path: str, types: tuple[str, ...]):
    """A file to import, checked for type, size (ROUTER_MAX_UPLOAD_MB) and text content."""
    return check_upload(path, types, Settings.from_env().max_upload_mb)


def catalog_file(path: str) -> Catalog:
    """A catalog file, checked like an upload, of at most ROUTER_MAX_TASKS tasks."""
    return Catalog.load(checked_file(path, CATALOG_TYPES), Settings.from_env().max_tasks)


def routing_settings(args) -> Settings:
    """The settings, with the candidate stage as --candidates-above / --candidates-k say."""
    from dataclasses import replace

    settings = Settings.from_env()
    given = {"candidates_above": args.candidates_above, "candidates_k": args.candidates_k}
    return replace(settings, **{k: v for k, v in given.items() if v is not None})


def add_candidate_options(parser: argparse.ArgumentParser) -> None:
    """--candidates-above and --candidates-k (ROUTER_CANDIDATES_ABOVE / _K by default)."""
    parser.add_argument("--candidates-above", type=int, metavar="N",
                        help="route catalogs of more than N tasks among retrieved candidates "
                             "(default: ROUTER_CANDIDATES_ABOVE or 20)")
    parser.add_argument("--candidates-k", type=int, metavar="K",
                        help="candidates beside the current task (default: ROUTER_CANDIDATES_K or 8)")


def emit(text: str, output: str | None) -> None:
    """Write `text` to the file `output`, or print it."""
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text, end="")


def cmd_tasks(args) -> None:
    """tasks list|add|edit|delete|import|export."""
    store = task_store(args)
    if args.action == "list":
        return show_catalog(store.catalog(), args.json)
    if args.action == "add":
        store.add(Task(args.name, args.description, args.instructions or "", parse_infos(args.info)))
    elif args.action == "edit":
        old = store.require(args.name).get(args.name)
        store.update(args.name, Task(args.rename or old.name,
                                     old.description if args.description is None else args.description,
                                     old.instructions if args.instructions is None else args.instructions,
                                     parse_infos(args.info) if args.info else
                                     (() if args.clear_infos else old.infos)))
    elif args.action == "delete":
        store.delete(args.name)
    elif args.action == "import":
        catalog = store.import_catalog(catalog_file(args.file), replace=args.replace)
        print(f"imported {args.file}: the catalog has {len(catalog)} tasks")
    elif args.action == "export":
        emit(store.export(args.shape), args.output)
    if args.action in ("add", "edit", "delete"):
        print(f"{args.action}: done; the catalog has {len(store.catalog())} tasks")


def cmd_route(args) -> None:
    """Route every user turn of every conversation in a JSONL file."""
    from router.conversation import read_jsonl
    from router.services import RouterFactory

    catalog = catalog_file(args.catalog) if args.catalog else task_store(args).catalog()
    conversations = read_jsonl(args.conversation, catalog, Settings.from_env().max_tasks)
    router = RouterFactory(routing_settings(args)).router(args.strategy, args.backend, args.model, args.adapter)
    results = []
    for conv in conversations:
        decisions = router.route(conv, catalog)
        turns = [conv.turns[k] for k in conv.user_indices()]
        results.append({"id": conv.id, "decisions": [
            {"turn": k, "content": t.content, **d.to_dict()} for k, t, d in
            zip(conv.user_indices(), turns, decisions)]})
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


def cmd_generate(args) -> None:
    """Generate labelled conversations into a dataset, printing progress and what could not be read."""
    from data.annotations import AnnotationStore
    from router.generator import Generator, Mix, plan
    from router.services import RouterFactory

    settings = Settings.from_env()
    store = task_store(args)
    catalog = store.catalog()
    cases = plan(catalog, [t.strip() for t in args.tasks.split(",") if t.strip()], args.count,
                 Mix(args.switch, args.end, args.uncovered, args.smalltalk), args.seed)
    backend = RouterFactory(settings).backend(args.backend, args.model, args.adapter)
    report = Generator(backend, settings.prompts_dir).run(
        catalog, cases, lambda k, n: print(f"generated {k}/{n}", file=sys.stderr, flush=True))
    for failure in report.failures:
        print(f"could not read a {failure.case.kind} conversation for {failure.case.task}: "
              f"{failure.reason}\n--- raw output ---\n{failure.raw}\n---", file=sys.stderr)
    AnnotationStore(store.file).add_generated(args.dataset, report.conversations, catalog)
    print(f"stored {len(report.conversations)} conversations in dataset '{args.dataset}', "
          f"{len(report.failures)} could not be read")
def stores(args):
    """Dataset and run stores of the database chosen by --db or the settings."""
    from data.datasets import DatasetStore
    from data.db import DatabaseFile
    from data.runs import RunStore

    settings = Settings.from_env()
    file = DatabaseFile(args.db or settings.db_path)
    datasets = DatasetStore(file, settings.max_tasks)
    return datasets, RunStore(file, datasets)


def progress_line(label: str):
    """A callback printing `label done/total` on one line of stderr."""
    def show(done: int, total: int) -> None:
        print(f"\r{label} {done}/{total}", end="\n" if done == total else "", file=sys.stderr,
              flush=True)
    return show


def cmd_eval(args) -> None:
    """Evaluate a model x strategy on a dataset (resuming an unfinished identical run)."""
    from router.evaluation import RunConfig
    from router.metrics import text_table
    from router.services import RouterFactory

    datasets, runs = stores(args)
    config = RunConfig(args.dataset, args.strategy, args.backend, args.model, args.adapter,
                       args.protocol, args.limit)
    router = RouterFactory(routing_settings(args)).router(args.strategy, args.backend, args.model,
                                                         args.adapter)
    catalog = task_store(args).catalog()
    try:
        run = runs.execute(config, router, catalog, progress_line("routed turns"), fresh=args.fresh)
    except KeyboardInterrupt:
        raise RouterError("interrupted; the same command resumes the run where it stopped")
    metrics = runs.get(run)["metrics"]
    if args.json:
        print(json.dumps({"run": run, "config": config.__dict__, "metrics": metrics}, indent=2))
    else:
        print(f"run {run}: {config.title} on {args.dataset}")
        print(text_table([(config.title, metrics), ("copy baseline", metrics["baseline"])]))


def cmd_datasets(args) -> None:
    """datasets list|import|import-sgd|import-synthetic|import-demo|export."""
    datasets, _ = stores(args)
    if args.action == "list":
        from tabulate import tabulate

        print(tabulate(datasets.summary(), headers="keys"))
    elif args.action == "import":
        catalog = catalog_file(args.catalog) if args.catalog else task_store(args).catalog()
        count = datasets.import_jsonl(args.name, checked_file(args.file, DATASET_TYPES), catalog)
        print(f"imported {count} conversations into '{args.name}'")
    elif args.action == "import-sgd":
        from data.sgd import import_sgd

        count = import_sgd(datasets, args.name, args.folder, args.limit, args.catalog_size, args.seed,
                           progress_line("read dialogues"), args.services, args.ends)
        print(f"imported {count} SGD dialogues into '{args.name}'")
    elif args.action == "import-synthetic":
        from data.synthetic import import_synthetic

        count = import_synthetic(datasets, args.name, args.count, args.seed)
        print(f"imported {count} synthetic conversations into '{args.name}'")
    elif args.action == "import-demo":
        from data.samples import import_demo

        print(f"imported {import_demo(datasets, args.name)} demo conversations into '{args.name}'")
    elif args.action == "export":
        emit(datasets.export_jsonl(args.name), args.output)


def cmd_train(args) -> None:
    """Run a training job from its config file (as a new job, or as job --job of the queue).

    The job's row beats (data.heartbeat) from before the heavy imports until the process ends.
    """
    import os
    import traceback
    from dataclasses import asdict

    from data.db import DatabaseFile
    from data.heartbeat import Heartbeat
    from data.jobs import JobStore
    from router.training.config import TrainConfig

    settings = Settings.from_env()
    file = DatabaseFile(args.db or settings.db_path)
    jobs, config = JobStore(file), TrainConfig.load(args.config)
    job = args.job or jobs.create(asdict(config), evaluate=not args.no_eval, status="running")
    jobs.set(job, pid=os.getpid(), status="running")
    try:
        with Heartbeat(file, "jobs", job):
            from data.training import TrainingJob

            status = TrainingJob(file, settings, job, config).run(evaluate=not args.no_eval)
    except BaseException as e:
        jobs.log(job, traceback.format_exc())
        jobs.mark(job, "failed", error=f"{type(e).__name__}: {e}")
        raise
    print(f"job {job}: {status}")


def add_eval_parsers(sub, strategies: list[str], backends: list[str]) -> None:
    """The `eval` and `datasets` subcommands."""
    ev = sub.add_parser("eval", help="evaluate a model x strategy on a labelled dataset")
    ev.add_argument("--dataset", required=True)
    ev.add_argument("--strategy", choices=strategies, default="constrained")
    ev.add_argument("--backend", choices=backends, default="local")
    ev.add_argument("--model", help="model name, folder or hub id (default: embedded)")
    ev.add_argument("--adapter", help="PEFT adapter folder")
    ev.add_argument("--protocol", choices=["free", "gold"], default="free",
                    help="current task = the router's own previous decision (live use) "
                         "or the gold previous label")
    ev.add_argument("--limit", type=int, help="first N conversations only")
    ev.add_argument("--fresh", action="store_true", help="start anew instead of resuming")
    add_candidate_options(ev)
    ev.add_argument("--json", action="store_true")
    ds = sub.add_parser("datasets", help="manage labelled datasets").add_subparsers(
        dest="action", required=True)
    ds.add_parser("list", help="list the datasets")
    imp = ds.add_parser("import", help="import a JSONL file (all or nothing)")
    imp.add_argument("file")
    imp.add_argument("--name", required=True)
    imp.add_argument("--catalog", help="catalog JSON file (default: the database's)")
    sgd = ds.add_parser("import-sgd", help="import a Schema-Guided Dialogue folder")
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
    syn = ds.add_parser("import-synthetic",
                        help="write labelled training conversations from data/synthetic_bank.json")
    syn.add_argument("--name", required=True)
    syn.add_argument("--count", type=int, default=2000, help="how many conversations")
    syn.add_argument("--seed", type=int, default=0, help="the same seed writes the same conversations")
    ds.add_parser("import-demo", help="import the shipped demo dataset").add_argument(
        "--name", default="demo")
    exp = ds.add_parser("export", help="export a dataset as JSONL")
    exp.add_argument("name")
    exp.add_argument("-o", "--output")


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    from router.backends import backend_names
    from router.strategies import STRATEGIES

    parser = argparse.ArgumentParser(prog="python -m router", description="Router Playground CLI")
    parser.add_argument("--db", help="SQLite database (default: ROUTER_DB or var/playground.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    tasks = sub.add_parser("tasks", help="manage the task catalog").add_subparsers(dest="action", required=True)
    tasks.add_parser("list", help="list the tasks").add_argument("--json", action="store_true")
    add = tasks.add_parser("add", help="add a task")
    add.add_argument("name")
    add.add_argument("--description", required=True)
    edit = tasks.add_parser("edit", help="edit a task")
    edit.add_argument("name")
    edit.add_argument("--rename")
    edit.add_argument("--description")
    edit.add_argument("--clear-infos", action="store_true")
    for p in (add, edit):
        p.add_argument("--instructions")
        p.add_argument("--info", action="append", metavar="NAME=DESCRIPTION",
                       help="information the task must collect (repeatable)")
    tasks.add_parser("delete", help="delete a task").add_argument("name")
    imp = tasks.add_parser("import", help="import a catalog JSON file (ours or Mojodex's shape)")
    imp.add_argument("file")
    imp.add_argument("--replace", action="store_true", help="replace the catalog instead of merging")
    exp = tasks.add_parser("export", help="export the catalog as JSON")
    exp.add_argument("--shape", choices=["native", "mojodex"], default="native")
    exp.add_argument("-o", "--output")
    route = sub.add_parser("route", help="route the user turns of conversations")
    route.add_argument("--conversation", required=True, help="JSONL file of conversations")
    route.add_argument("--strategy", choices=list(STRATEGIES), default="constrained")
    route.add_argument("--backend", choices=backend_names(), default="local")
    route.add_argument("--model", help="model name, folder or hub id (default: embedded)")
    route.add_argument("--adapter", help="PEFT adapter folder")
    route.add_argument("--catalog", help="catalog JSON file (default: the database's)")
    route.add_argument("--json", action="store_true")
    add_candidate_options(route)
    gen = sub.add_parser("generate", help="generate labelled conversations into a dataset")
    gen.add_argument("--tasks", required=True, help="comma-separated task names of the catalog")
    gen.add_argument("--count", type=int, required=True)
    gen.add_argument("--dataset", required=True, help="dataset to add them to (created if missing)")
    for kind in ("switch", "end", "uncovered", "smalltalk"):
        gen.add_argument(f"--{kind}", type=float, default=0.0, help=f"share of {kind} cases")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--backend", choices=backend_names(), default="local")
    gen.add_argument("--model", help="model name, folder or hub id (default: embedded)")
    gen.add_argument("--adapter", help="PEFT adapter folder")
    add_eval_parsers(sub, list(STRATEGIES), backend_names())
    train = sub.add_parser("train", help="fine-tune the router model (LoRA; QLoRA on CUDA)")
    train.add_argument("config", help="training configuration JSON file")
    train.add_argument("--job", type=int, help="run this queued job of the database")
    train.add_argument("--no-eval", action="store_true",
                       help="skip the base vs fine-tuned evaluation on the held-out conversations")
    return parser


COMMANDS = {"tasks": cmd_tasks, "route": cmd_route, "generate": cmd_generate,
            "eval": cmd_eval, "datasets": cmd_datasets, "train": cmd_train}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; domain errors print one line and exit 2."""
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except RouterError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
