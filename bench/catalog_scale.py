"""Routing over catalogs of 10, 100 and 1,000 tasks, with and without the candidate stage.

    OMP_NUM_THREADS=1 python bench/catalog_scale.py /work/shared/sgd [--limit 12] [--sizes 10 100 1000]
        [--full-up-to 100] [--recall-limit 200] [--k 8] [--strategy S] [--base] [--retrievers N]

Catalogs: 10 tasks is each SGD dev dialogue's own catalog (its services' intents and distractors);
100 and 1,000 hold every intent of the dev schema, then those of the train schema (a name both use
gets the service's prefix), the synthetic bank's tasks and generated distractors (data/distractors.py).

1. Retrieval alone, over `--recall-limit` dev dialogues (gold previous label as the current task,
   candidates kept from one turn to the next as the router keeps them): recall@k of the gold task,
   over all turns with a gold task and over the start/switch turns only.
2. Routing, over `--limit` dialogues (free protocol, the default router: shipped adapter, default
   strategy; `--strategy` and `--base` (no adapter) pick another), each setting in a process of its
   own so that its peak resident memory is its own: decision p50/p95, peak RSS, recall@k, turn
   accuracy, how often the candidate set changed from one decision to the next, tokens read, and
   the time the router spent reading ahead between turns (as the Chat does while the user types).
   Without the candidate stage only up to `--full-up-to` tasks (1,000 tasks would not fit).

With `--retrievers N`, it compares retrievers instead, on N dialogues and the 1,000-task catalog
(query: the last user message alone): TF-IDF on words, on words and characters, dense vectors
(mean-pooled last hidden states of the embedded base model), those two fused by reciprocal rank,
WordLlama's word vectors, and TF-IDF on words and characters plus the word vectors (the one kept).
"""
import argparse
import json
import random
import resource
import subprocess
import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.distractors import distractor_tasks  # noqa: E402
from data.sgd import read_schema, read_sgd, snake  # noqa: E402
from data.synthetic import load_bank  # noqa: E402
from router.catalog import Catalog, Task  # noqa: E402
from router.conversation import Conversation  # noqa: E402
from router.evaluation import Evaluation  # noqa: E402
from router.metrics import share, summarize  # noqa: E402
from router.retrieval import CandidateStage, TaskIndex, task_text, unit_vectors  # noqa: E402
from router.strategies import DEFAULT_STRATEGY  # noqa: E402

OFF = sys.maxsize  # a candidate stage that never starts


def extra_tasks(root: Path, dev: set[tuple[str, str]], taken: set[str]) -> list[Task]:
    """Intents of the train schema not in dev (renamed with their service where a name is taken), then the bank's."""
    out = []
    for (service, intent), task in read_schema(root / "train").items():
        if (service, intent) in dev:
            continue
        name = task.name if task.name not in taken else f"{snake(service)}_{task.name}"
        if name not in taken:
            taken.add(name)
            out.append(replace(task, name=name))
    return out + [b.task for b in load_bank().tasks if b.task.name not in taken]


def big_catalog(root: Path, size: int, seed: int = 0) -> Catalog:
    """Every dev intent, then other tasks up to `size`, shuffled."""
    schema = read_schema(root / "dev")
    dev = list(schema.values())
    taken = {t.name for t in dev}
    rng = random.Random(seed)
    others = extra_tasks(root, set(schema), taken)
    rng.shuffle(others)
    others += distractor_tasks(max(0, size - len(dev) - len(others)), taken | {t.name for t in others}, seed)
    chosen = dev + others[: size - len(dev)]
    rng.shuffle(chosen)
    return Catalog(chosen)


def dialogues(root: Path, limit: int, size: int) -> list[tuple[Conversation, Catalog]]:
    """Dev dialogues with the catalog each is routed over."""
    conversations = read_sgd(root / "dev", limit=limit)
    if size <= 10:
        return [(c, c.tasks) for c in conversations]
    catalog = big_catalog(root, size)
    return [(replace(c, tasks=None), catalog) for c in conversations]


def recall_table(root: Path, sizes: list[int], limit: int, ks: list[int]) -> None:
    """Recall@k of retrieval alone, gold previous label as the current task."""
    print(f"retrieval alone, {limit} SGD dev dialogues, gold previous label as current task")
    print(f"{'tasks':>6}{'k':>4}{'recall':>9}{'start/switch':>14}{'turns':>7}{'ms/decision':>13}{'index s':>9}")
    for size in sizes:
        pairs = dialogues(root, limit, size)
        start = time.perf_counter()
        CandidateStage(above=0).select(pairs[0][1], pairs[0][0].turns[:1], None)  # builds the index
        built = time.perf_counter() - start
        for k in ks:
            stage, hits, moves, count, spent = CandidateStage(above=0, k=k), [], [], 0, 0.0
            for conv, catalog in pairs:
                labels, shown = conv.gold_labels(), None
                for position, gold, previous in zip(conv.user_indices(), labels, [None] + labels[:-1]):
                    start = time.perf_counter()
                    shown = stage.select(catalog, conv.turns[: position + 1], previous, shown)
                    spent, count = spent + time.perf_counter() - start, count + 1
                    if gold is not None:
                        hits.append(gold in shown)
                        if gold != previous:
                            moves.append(gold in shown)
            print(f"{size:>6}{k:>4}{share(hits):>9.3f}{share(moves):>14.3f}{len(hits):>7}"
                  f"{1000 * spent / count:>13.1f}{built:>9.2f}")


def route_one(root: Path, size: int, limit: int, above: int, k: int, strategy: str, base: bool) -> dict:
    """Route `limit` dialogues over `size` tasks (free protocol) and return the figures as a dict."""
    from router.services import RouterFactory
    from router.settings import Settings

    settings = replace(Settings.from_env(), candidates_above=above, candidates_k=k)
    router = RouterFactory(settings).router(strategy, "local", None, None if base else settings.default_adapter)
    pairs = dialogues(root, limit, size)
    router.decide(pairs[0][1], pairs[0][0].turns[:1], None)  # warm-up (and the index), not timed
    decisions, judged, ahead, prepare = [], [], [], router.prepare

    def timed(*args) -> None:
        start = time.perf_counter()
        prepare(*args)
        ahead.append(time.perf_counter() - start)

    router.prepare = timed  # reading ahead between turns is untimed in the decision: timed here

    def keep(conversation: str, _key, _position: int, decision) -> None:
        decisions.append((conversation, decision, router.backend.last_read))

    for conv, catalog in pairs:
        judged += Evaluation(router, catalog, "free", save=partial(keep, conv.id)).run([conv])
    m = summarize(judged)
    changed = [set(d.candidates or ()) != set(p.candidates or ())
               for (c, d, _), (pc, p, _) in zip(decisions[1:], decisions) if c == pc]
    return {"tasks": size, "stage": above != OFF, "turns": m["turns"], "p50": m["latency"]["p50"],
            "p95": m["latency"]["p95"], "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "recall": m["recall_at_k"], "accuracy": m["turn_accuracy"], "changed": share(changed),
            "read": share([r for _, _, r in decisions]), "ahead": float(np.median(ahead)) if ahead else 0.0}


def route_table(root: Path, sizes: list[int], limit: int, full_up_to: int, k: int, strategy: str,
                base: bool) -> None:
    """Each setting in its own process; one line each."""
    print(f"\nrouting, {limit} SGD dev dialogues, free protocol, {'base model' if base else 'shipped adapter'}, "
          f"{strategy}, k={k}")
    print(f"{'tasks':>6}{'stage':>7}{'turns':>7}{'p50 s':>8}{'p95 s':>8}{'peak RSS MB':>13}"
          f"{'recall':>8}{'turn acc':>10}{'set changed':>13}{'tokens read':>13}{'ahead p50 s':>13}")
    for size in sizes:
        for above in ([0, OFF] if size <= full_up_to else [0]):
            out = subprocess.run([sys.executable, __file__, str(root), "--one", str(size), str(above),
                                  "--limit", str(limit), "--k", str(k), "--strategy", strategy]
                                 + ["--base"] * base,
                                 capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"{r['tasks']:>6}{'on' if r['stage'] else 'off':>7}{r['turns']:>7}{r['p50']:>8.3f}"
                  f"{r['p95']:>8.3f}{r['rss_mb']:>13.0f}{r['recall']:>8.3f}{r['accuracy']:>10.3f}"
                  f"{r['changed']:>13.2f}{r['read']:>13.0f}{r['ahead']:>13.3f}", flush=True)


def dense_vectors(backend, texts: list[str], batch: int = 32) -> np.ndarray:
    """Mean-pooled last hidden states of the backend's model, one unit vector per text."""
    import torch

    tokenizer, net = backend.tokenizer, backend.net
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    out = []
    with torch.inference_mode():
        for k in range(0, len(texts), batch):
            enc = tokenizer(texts[k: k + batch], return_tensors="pt", padding=True, truncation=True, max_length=64)
            mask = enc["attention_mask"][..., None]
            pooled = (net.model(**enc).last_hidden_state * mask).sum(1) / mask.sum(1)
            out.append(torch.nn.functional.normalize(pooled, dim=-1))
    return torch.cat(out).numpy()


def ranks(scores: np.ndarray) -> np.ndarray:
    """The rank of every score, 0 for the best."""
    out = np.empty(len(scores))
    out[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
    return out


def retriever_table(root: Path, limit: int, k: int) -> None:
    """Recall@k of six retrievers on the 1,000-task catalog, the last user message as the query."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from router.backends import create_backend
    from router.settings import Settings

    pairs = dialogues(root, limit, 1000)
    catalog, texts = pairs[0][1], [task_text(t) for t in pairs[0][1].tasks]
    words = TfidfVectorizer(sublinear_tf=True, stop_words="english")
    word_matrix, index = words.fit_transform(texts), TaskIndex(catalog.tasks)
    backend = create_backend("local", adapter=None, settings=Settings.from_env())
    start = time.perf_counter()
    vectors = dense_vectors(backend, texts)
    centre = vectors.mean(axis=0)
    print(f"dense index of {len(texts)} tasks: {time.perf_counter() - start:.1f} s")

    def dense(message: str) -> np.ndarray:
        query = dense_vectors(backend, [message])[0] - centre
        return (vectors - centre) @ query / np.linalg.norm(vectors - centre, axis=1) / np.linalg.norm(query)

    retrievers = {"words": lambda m: (words.transform([m]) @ word_matrix.T).toarray()[0],
                  "words+chars": lambda m: index.scores(m, None), "dense": dense,
                  "fused (RRF)": lambda m: 1 / (60 + ranks(index.scores(m, None))) + 1 / (60 + ranks(dense(m))),
                  "word vectors": lambda m: index.vectors @ unit_vectors([m])[0],
                  "kept": lambda m: index.relevance(m, None)}
    print(f"{'retriever':<14}{'recall@' + str(k):>10}{'start/switch':>14}{'turns':>7}{'ms/query':>10}")
    for name, score in retrievers.items():
        hits, moves, start = [], [], time.perf_counter()
        for conv, _ in pairs:
            labels = conv.gold_labels()
            for position, gold, previous in zip(conv.user_indices(), labels, [None] + labels[:-1]):
                if gold is not None:
                    top = {catalog.tasks[i].name for i in np.argsort(-score(conv.turns[position].content),
                                                                     kind="stable")[:k]}
                    hits.append(gold == previous or gold in top)
                    moves += [gold in top] if gold != previous else []
        print(f"{name:<14}{share(hits):>10.3f}{share(moves):>14.3f}{len(hits):>7}"
              f"{1000 * (time.perf_counter() - start) / len(hits):>10.1f}", flush=True)


def main() -> None:
    """Parse the arguments; print both tables (or, with --one, one setting's figures as JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sgd", help="SGD folder holding dev/ and train/")
    parser.add_argument("--limit", type=int, default=12, help="dialogues routed per setting")
    parser.add_argument("--recall-limit", type=int, default=200, help="dialogues for retrieval alone")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--full-up-to", type=int, default=100, help="largest catalog routed without the stage")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--strategy", default=DEFAULT_STRATEGY, help="routing strategy (default: the default one)")
    parser.add_argument("--base", action="store_true", help="route with the base model, without the shipped adapter")
    parser.add_argument("--retrievers", type=int, metavar="N", help="compare retrievers on N dialogues")
    parser.add_argument("--one", type=int, nargs=2, metavar=("SIZE", "ABOVE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    root = Path(args.sgd)
    if args.one:
        print(json.dumps(route_one(root, args.one[0], args.limit, args.one[1], args.k, args.strategy, args.base)))
        return
    if args.retrievers:
        return retriever_table(root, args.retrievers, args.k)
    recall_table(root, args.sizes, args.recall_limit, sorted({4, args.k, 12}))
    route_table(root, args.sizes, args.limit, args.full_up_to, args.k, args.strategy, args.base)


if __name__ == "__main__":
    main()
