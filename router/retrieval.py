"""The candidate stage: before routing a large catalog, keep the current task and the k tasks most
relevant to the last user message and to the current task (TF-IDF and word vectors; README: Large catalogs)."""
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from pathlib import Path

import numpy as np

from router.catalog import Catalog, Task
from router.conversation import Turn, last_user_message

ABOVE, K = 20, 8  # defaults of ROUTER_CANDIDATES_ABOVE and ROUTER_CANDIDATES_K
NEIGHBOURS = 0.3  # weight of a task's likeness to the current task (its follow-ups: find -> buy)
FLOOR = 0.55  # a message matching no task better than this ("ok", "thanks") keeps the candidates


def task_text(task: Task) -> str:
    """What a task is searched by: its name in words, description, instructions and information."""
    infos = " ".join(f"{i.name.replace('_', ' ')} {i.description}" for i in task.infos)
    return f"{task.name.replace('_', ' ')} {task.description} {task.instructions} {infos}"


@cache
def word_vectors():
    """WordLlama's 256-d word vectors (MIT), loaded from the files its PyPI wheel ships, never downloaded."""
    import wordllama
    from safetensors import safe_open
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

    folder = Path(wordllama.__file__).parent  # WordLlama.load() seeks tokenizer/, the wheel has tokenizers/
    with safe_open(folder / "weights" / "l2_supercat_256.safetensors", framework="np") as f:
        table = f.get_tensor("embedding.weight")
    tokenizer = Tokenizer.from_file(str(folder / "tokenizers" / "l2_supercat_tokenizer_config.json"))
    return WordLlamaInference(table, tokenizer)


def unit_vectors(texts: list[str]) -> np.ndarray:
    """Texts as unit vectors, the mean of their word vectors; zero for a text without words."""
    vectors = word_vectors().embed(texts)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


class TaskIndex:
    """TF-IDF vectors of a catalog's tasks, fitted on those tasks alone, and (when asked) their word vectors."""

    def __init__(self, tasks: tuple[Task, ...]):
        from sklearn.feature_extraction.text import TfidfVectorizer  # only for catalogs that need it
        from sklearn.pipeline import FeatureUnion

        self.position = {t.name: k for k, t in enumerate(tasks)}
        self.vectorizer = FeatureUnion([
            ("words", TfidfVectorizer(sublinear_tf=True, stop_words="english")),
            ("chars", TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=(3, 5)))])
        self.texts = [task_text(t) for t in tasks]
        self.matrix = self.vectorizer.fit_transform(self.texts)

    @cached_property
    def vectors(self) -> np.ndarray:
        """Each task's text as one unit vector: mean of its word vectors."""
        return unit_vectors(self.texts)

    def scores(self, message: str, current: str | None) -> np.ndarray:
        """Lexical match of every task: cosine similarity to the message, plus some to the current task."""
        query = self.vectorizer.transform([message])
        if current in self.position:
            query = query + NEIGHBOURS * self.matrix[self.position[current]]
        return (query @ self.matrix.T).toarray()[0] / 2  # words and characters: two unit blocks

    def relevance(self, message: str, current: str | None) -> np.ndarray:
        """What candidates are ranked by: the lexical match plus the same match in word vectors."""
        query = unit_vectors([message])[0]
        if current in self.position:
            query = query + NEIGHBOURS * self.vectors[self.position[current]]
        return self.scores(message, current) + self.vectors @ query


@lru_cache(maxsize=8)
def task_index(tasks: tuple[Task, ...]) -> TaskIndex:
    """The index of a catalog version, built once: an edited catalog is another key."""
    return TaskIndex(tasks)


@dataclass(frozen=True)
class CandidateStage:
    """Which tasks a decision shows the router: all of a small catalog, else current + top `k`.

    A conversation keeps its previous candidates while they hold the current task and the new best
    match (or the best match is weak): the prompt's fixed part (the candidates) then stays the same,
    and its cache is reused.
    """

    above: int = ABOVE
    k: int = K

    def applies(self, catalog: Catalog) -> bool:
        """Whether the catalog is large enough to be cut to candidates."""
        return len(catalog) > self.above

    def select(self, catalog: Catalog, turns: list[Turn] | tuple[Turn, ...], current: str | None,
               previous: dict[str, float] | None = None) -> dict[str, float] | None:
        """Candidate tasks with their retrieval scores; None when the stage is off."""
        if not self.applies(catalog):
            return None
        index = task_index(catalog.tasks)
        message = last_user_message(turns)
        scores = index.relevance(message, current)
        ranked = [int(i) for i in np.argsort(-scores, kind="stable")
                  if catalog.tasks[int(i)].name != current][: self.k]
        best = catalog.tasks[ranked[0]].name if ranked and scores[ranked[0]] >= FLOOR else None
        if kept(previous, index, current, best):
            chosen = [index.position[name] for name in previous]
        else:
            chosen = ([index.position[current]] if current in index.position else []) + ranked
        return {catalog.tasks[i].name: round(float(scores[i]), 4) for i in chosen}


def kept(previous: dict[str, float] | None, index: TaskIndex, current: str | None, best: str | None) -> bool:
    """Whether the previous candidates still do: all in the catalog, with the current task and `best`
    (None: no strong match)."""
    return (previous is not None and all(name in index.position for name in previous)
            and (current is None or current in previous) and (best is None or best in previous))


def shown(catalog: Catalog, candidates: dict[str, float] | None) -> Catalog:
    """The catalog a decision shows the router: the candidates in catalog order (stable prompts)."""
    if candidates is None:
        return catalog
    return Catalog([t for t in catalog.tasks if t.name in candidates])
