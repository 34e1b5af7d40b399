"""The validation queue: annotators confirm, relabel, flag, delete, fix typos; assignment and agreement."""
import json
import random
from dataclasses import dataclass

from sklearn.metrics import cohen_kappa_score

from data.datasets import GOLD_ORIGINS, DatasetStore, check_name
from data.db import DatabaseFile, Store, immediate, now
from data.tasks import TaskStore
from router.catalog import Catalog
from router.conversation import Conversation
from router.errors import InputError

SUGGESTION_ORIGINS = ("source", "router", "annotator")
STATUSES = ("unvalidated", "validated", "flagged", "deleted")
TO_DO = "to do"
ANY = "any"
ANONYMOUS = "anonymous"


class AnnotationError(InputError):
    """An annotation action that cannot apply (unknown conversation, task or turn)."""


@dataclass(frozen=True)
class QueueFilter:
    """Which conversations the queue shows; None means any."""

    dataset: str | None = None
    status: str = TO_DO
    task: str | None = None
    annotator: str | None = None


@dataclass(frozen=True)
class Disagreement:
    """Two annotators who labelled the same user turn differently."""

    conversation: int
    ext_id: str
    position: int
    content: str
    first: str
    first_label: str | None
    second: str
    second_label: str | None


@dataclass(frozen=True)
class Agreement:
    """Cohen's kappa over the user turns labelled by both annotators of a conversation."""

    kappa: float | None
    turns: int
    conversations: int
    disagreements: list[Disagreement]


def label_name(task: str | None) -> str:
    """A label as text, `none` for no task."""
    return task if task is not None else "none"


class AnnotationStore(Store):
    """Annotation actions over the datasets' conversations, turns and labels."""

    def __init__(self, file: DatabaseFile, datasets: DatasetStore | None = None,
                 tasks: TaskStore | None = None):
        super().__init__(file)
        self.datasets = datasets or DatasetStore(file)
        self.tasks = tasks or TaskStore(file)

    # -- the queue -------------------------------------------------------------------------

    def where(self, flt: QueueFilter, status: bool = True) -> tuple[str, list]:
        """SQL conditions on conversations `c` joined to datasets `d` for a filter."""
        clauses, params = [], []
        if flt.dataset:
            clauses.append("d.name = ?")
            params.append(flt.dataset)
        if flt.annotator:
            clauses.append("EXISTS (SELECT 1 FROM assignments a WHERE a.conversation_id = c.id "
                           "AND a.annotator = ?)")
            params.append(flt.annotator)
        if flt.task:
            clauses.append("EXISTS (SELECT 1 FROM labels l WHERE l.conversation_id = c.id AND l.task = ? "
                           "AND l.id IN (SELECT max(id) FROM labels WHERE conversation_id = c.id "
                           "GROUP BY position))")
            params.append(flt.task)
        if status:
            clauses.append(self.status_clause(flt, params))
        return " AND ".join(clauses) or "1", params

    @staticmethod
    def status_clause(flt: QueueFilter, params: list) -> str:
        """The condition for the filter's status; `to do` depends on the annotator."""
        if flt.status == ANY:
            return "1"
        if flt.status in STATUSES:
            params.append(flt.status)
            return "c.status = ?"
        if flt.status != TO_DO:
            raise AnnotationError(f"unknown status '{flt.status}'", field="status")
        if not flt.annotator:
            return "c.status = 'unvalidated'"
        params.append(flt.annotator)
        return ("c.status IN ('unvalidated', 'validated') AND NOT EXISTS (SELECT 1 FROM status_changes s "
                "WHERE s.conversation_id = c.id AND s.status = 'validated' AND s.annotator = ?)")

    def queue(self, flt: QueueFilter) -> list[int]:
        """Row ids of the conversations the filter selects, oldest first."""
        sql, params = self.where(flt)
        return [r["id"] for r in self.db.query(
            f"SELECT c.id FROM conversations c JOIN datasets d ON d.id = c.dataset_id WHERE {sql} "
            "ORDER BY c.id", params)]

    def next_after(self, flt: QueueFilter, pk: int | None) -> int | None:
        """The queue's first conversation after `pk` (wrapping around), or None when empty."""
        ids = self.queue(flt)
        later = [i for i in ids if pk is None or i > pk]
        return (later or ids or [None])[0]

    def counts(self, flt: QueueFilter) -> dict:
        """Conversations per status, the filter's own count and progress (validated share)."""
        sql, params = self.where(flt, status=False)
        rows = self.db.query(f"SELECT c.status, count(*) AS n FROM conversations c JOIN datasets d "
                             f"ON d.id = c.dataset_id WHERE {sql} GROUP BY c.status", params)
        out = {s: 0 for s in STATUSES} | {r["status"]: r["n"] for r in rows}
        live = sum(out[s] for s in STATUSES if s != "deleted")
        return out | {"selected": len(self.queue(flt)),
                      "progress": out["validated"] / live if live else 0.0}

    # -- one conversation ------------------------------------------------------------------

    def row(self, pk: int) -> dict:
        """The conversation's row with its dataset name, or AnnotationError."""
        row = next(self.db.query("SELECT c.*, d.name AS dataset FROM conversations c JOIN datasets d "
                                 "ON d.id = c.dataset_id WHERE c.id = ?", [pk]), None)
        if row is None:
            raise AnnotationError(f"no conversation #{pk}", field="conversation")
        return row

    def suggestion(self, pk: int) -> Conversation:
        """The conversation with, per user turn, its latest label from the source, router or annotators."""
        self.row(pk)
        return self.datasets.load(pk, SUGGESTION_ORIGINS)

    def catalog_for(self, pk: int) -> Catalog:
        """The conversation's own catalog, else its dataset's, else the current one."""
        row = self.row(pk)
        if row["catalog"]:
            return Catalog.from_list(json.loads(row["catalog"]), max_tasks=None)
        return self.datasets.catalog(row["dataset"]) or self.tasks.catalog()

    def assignees(self, pk: int) -> list[str]:
        """Annotators the conversation is assigned to."""
        return [r["annotator"] for r in self.db["assignments"].rows_where(
            "conversation_id = ?", [pk], order_by="annotator")]

    def comment(self, pk: int) -> str:
        """The comment of the latest flag, if any."""
        row = next(self.db["status_changes"].rows_where(
            "conversation_id = ? AND status = 'flagged'", [pk], order_by="id desc", limit=1), None)
        return (row or {}).get("comment") or ""

    def check_labels(self, pk: int, labels: dict[int, str | None]) -> None:
        """Raise AnnotationError unless every position is a user turn and every task is in the catalog."""
        users = set(self.suggestion(pk).user_indices())
        catalog = self.catalog_for(pk)
        for position, task in labels.items():
            if position not in users:
                raise AnnotationError(f"turn {position} is not a user turn of conversation #{pk}",
                                      field=f"turns[{position}]")
            if task is not None and task not in catalog:
                raise AnnotationError(f"unknown task '{task}' (catalog: {', '.join(catalog.names)})",
                                      field=f"turns[{position}].task")

    # -- actions ---------------------------------------------------------------------------

    def set_status(self, pk: int, status: str, annotator: str, comment: str | None = None) -> None:
        """Change a conversation's status, recording who, when, why and what it was."""
        previous = self.row(pk)["status"]
        self.db.execute("UPDATE conversations SET status = ? WHERE id = ?", [status, pk])
        self.db["status_changes"].insert({"conversation_id": pk, "status": status, "previous": previous,
                                          "comment": comment, "annotator": annotator,
                                          "created_at": now()})

    def relabel(self, pk: int, labels: dict[int, str | None], annotator: str = ANONYMOUS) -> None:
        """Record the annotator's labels for user turns without changing the status."""
        with immediate(self.db):
            self.check_labels(pk, labels)
            self.datasets.set_labels(pk, labels, "annotator", annotator)

    def confirm(self, pk: int, labels: dict[int, str | None], annotator: str = ANONYMOUS) -> None:
        """Record the labels of every user turn as the annotator's and mark the conversation validated."""
        with immediate(self.db):
            missing = set(self.suggestion(pk).user_indices()) - set(labels)
            if missing:
                raise AnnotationError(f"no label for user turns {sorted(missing)}", field="labels")
            self.check_labels(pk, labels)
            self.datasets.set_labels(pk, labels, "annotator", annotator)
            self.set_status(pk, "validated", annotator)

    def flag(self, pk: int, comment: str, annotator: str = ANONYMOUS) -> None:
        """Put the conversation aside for later review, with a comment."""
        with immediate(self.db):
            self.set_status(pk, "flagged", annotator, comment.strip() or None)

    def delete(self, pk: int, annotator: str = ANONYMOUS) -> None:
        """Mark the conversation for deletion: hidden from datasets, restorable."""
        with immediate(self.db):
            if self.row(pk)["status"] != "deleted":
                self.set_status(pk, "deleted", annotator)

    def restore(self, pk: int, annotator: str = ANONYMOUS) -> str:
        """Bring a deleted conversation back with the status it had; return that status."""
        with immediate(self.db):
            if self.row(pk)["status"] != "deleted":
                return self.row(pk)["status"]
            last = next(self.db["status_changes"].rows_where(
                "conversation_id = ? AND status = 'deleted'", [pk], order_by="id desc", limit=1), None)
            status = (last or {}).get("previous") or "unvalidated"
            self.set_status(pk, status, annotator, "restored")
        return status

    def fix_turn(self, pk: int, position: int, text: str, annotator: str = ANONYMOUS) -> None:
        """Replace a turn's text, keeping the old text in the edit history."""
        if not text.strip():
            raise AnnotationError("the new text is empty", field=f"turns[{position}].content")
        with immediate(self.db):
            row = next(self.db["turns"].rows_where("conversation_id = ? AND position = ?",
                                                   [pk, position]), None)
            if row is None:
                raise AnnotationError(f"conversation #{pk} has no turn {position}",
                                      field=f"turns[{position}]")
            self.db.execute("UPDATE turns SET content = ? WHERE conversation_id = ? AND position = ?",
                            [text, pk, position])
            self.db["turn_edits"].insert({"conversation_id": pk, "position": position,
                                          "old_content": row["content"], "new_content": text,
                                          "annotator": annotator, "created_at": now()})

    def edits(self, pk: int) -> list[dict]:
        """The typo fixes of a conversation, oldest first."""
        return list(self.db["turn_edits"].rows_where("conversation_id = ?", [pk], order_by="id"))

    # -- several annotators ----------------------------------------------------------------

    def assign(self, dataset: str, annotators: list[str], double_share: float = 0.0,
               seed: int = 0) -> dict[str, int]:
        """Split a dataset's live conversations among annotators, a share of them to two; return counts."""
        names = sorted({a.strip() for a in annotators if a.strip()})
        if not names:
            raise AnnotationError("name at least one annotator", field="annotators")
        if not 0.0 <= double_share <= 1.0 or (double_share and len(names) < 2):
            raise AnnotationError("the double share must lie in [0, 1] and needs two annotators",
                                  field="double_share")
        ids = self.datasets.conversation_ids(dataset)
        order = random.Random(seed).sample(ids, len(ids))
        doubled = set(order[: round(double_share * len(order))])
        rows = []
        for k, pk in enumerate(order):
            rows.append({"conversation_id": pk, "annotator": names[k % len(names)], "created_at": now()})
            if pk in doubled:
                rows.append({"conversation_id": pk, "annotator": names[(k + 1) % len(names)],
                             "created_at": now()})
        with immediate(self.db):
            marks = ",".join("?" * len(ids))
            self.db.execute(f"DELETE FROM assignments WHERE conversation_id IN ({marks})", ids)
            self.db["assignments"].insert_all(rows)
        return {n: sum(r["annotator"] == n for r in rows) for n in names}

    def annotator_labels(self, pk: int) -> dict[str, dict[int, str | None]]:
        """Per annotator, their latest label of each user turn of conversation `pk`."""
        out: dict[str, dict[int, str | None]] = {}
        for r in self.db.query("SELECT annotator, position, task FROM labels WHERE id IN "
                               "(SELECT max(id) FROM labels WHERE conversation_id = ? AND origin = "
                               "'annotator' GROUP BY annotator, position)", [pk]):
            out.setdefault(r["annotator"], {})[r["position"]] = r["task"]
        return out

    def agreement(self, dataset: str | None = None) -> Agreement:
        """Cohen's kappa and disagreements over conversations assigned to two annotators."""
        sql, params = self.where(QueueFilter(dataset=dataset, status=ANY))
        rows = self.db.query(
            f"SELECT c.id, c.ext_id FROM conversations c JOIN datasets d ON d.id = c.dataset_id "
            f"WHERE {sql} AND c.status != 'deleted' AND (SELECT count(*) FROM assignments a "
            f"WHERE a.conversation_id = c.id) = 2 ORDER BY c.id", params)
        first, second, disagreements, conversations = [], [], [], 0
        for row in rows:
            pair = self.assignees(row["id"])
            labels = self.annotator_labels(row["id"])
            if not all(a in labels for a in pair):
                continue
            conversations += 1
            turns = self.suggestion(row["id"]).turns
            for position in sorted(set(labels[pair[0]]) & set(labels[pair[1]])):
                a, b = labels[pair[0]][position], labels[pair[1]][position]
                first.append(label_name(a))
                second.append(label_name(b))
                if a != b:
                    disagreements.append(Disagreement(row["id"], row["ext_id"], position,
                                                      turns[position].content, pair[0], a, pair[1], b))
        return Agreement(kappa(first, second), len(first), conversations, disagreements)

    # -- guidelines and export -------------------------------------------------------------

    def guidelines(self) -> str:
        """The annotation guidelines in effect (Markdown)."""
        row = next(self.db["guidelines"].rows_where(order_by="id desc", limit=1), None)
        return (row or {}).get("text") or ""

    def save_guidelines(self, text: str, annotator: str = ANONYMOUS) -> None:
        """Replace the guidelines, keeping earlier versions."""
        with immediate(self.db):
            self.db["guidelines"].insert({"text": text, "annotator": annotator, "created_at": now()})

    def export_validated(self, dataset: str, name: str) -> list[Conversation]:
        """Copy a dataset's validated conversations, with their gold labels, into a new dataset."""
        if check_name(name) in self.datasets.names():
            raise AnnotationError(f"dataset '{name}' exists already", field="name")
        conversations = [validated_copy(c) for c in self.datasets.conversations(
            dataset, ("validated",), GOLD_ORIGINS)]
        if not conversations:
            raise AnnotationError(f"dataset '{dataset}' has no validated conversation", field="dataset")
        with immediate(self.db):
            self.datasets.add(name, conversations, source=f"validated:{dataset}",
                              catalog=self.datasets.catalog(dataset), status="validated")
        return conversations

    def add_generated(self, dataset: str, conversations: list[Conversation], catalog: Catalog) -> None:
        """Put generated conversations, labelled by construction, unvalidated into the queue."""
        if conversations:
            with immediate(self.db):
                self.datasets.add(dataset, conversations, source="generated", catalog=catalog)


def validated_copy(conv: Conversation) -> Conversation:
    """The conversation without the row id and status of its old dataset."""
    meta = {k: v for k, v in conv.meta.items() if k not in ("pk", "status")}
    return Conversation(conv.id, conv.turns, conv.source, conv.tasks, meta)


def kappa(first: list[str], second: list[str]) -> float | None:
    """Cohen's kappa of two label lists; None without pairs or when it is undefined (one label only)."""
    if not first:
        return None
    if len(set(first) | set(second)) == 1:
        return None
    return float(cohen_kappa_score(first, second))
