"""What the Validate tab does, as functions of the services and plain values (no gradio here)."""
from dataclasses import dataclass, field

import pandas as pd

from data.annotations import ANY, TO_DO, QueueFilter, label_name
from data.datasets import check_name
from router.generator import Generator, Mix, plan
from services import Services
from ui.errors import Refused
from ui.escaping import safe
from ui.validate_view import (assigned_text, chat, counts_frame, counts_text, describe, events_rows,
                              generated_text, guidelines_view)

MAX_TURNS = 30
ALL, ANYONE, ME = "(all)", "(anyone)", "(me)"


@dataclass
class ValidatePage:
    """The Validate tab's page state: the conversations opened, in order, for Back."""

    history: list[int] = field(default_factory=list)

    def visit(self, pk: int | None) -> "ValidatePage":
        """This history with `pk` appended (unless it is the last one already)."""
        fresh = pk is not None and (not self.history or self.history[-1] != pk)
        return ValidatePage([*self.history, pk] if fresh else list(self.history))


@dataclass
class Shown:
    """One conversation as the tab shows it; `slots` are (label, choices, value) per user turn."""

    pk: int | None
    info: str
    chat: list[dict] = field(default_factory=list)
    events: list[list] = field(default_factory=list)
    turns: list[str] = field(default_factory=list)
    slots: list[tuple[str, list[str], str]] = field(default_factory=list)


@dataclass
class Step:
    """The tab after a move in the queue: page state, counts, the conversation shown, a message."""

    page: ValidatePage
    counts: str
    shown: Shown
    frame: pd.DataFrame
    message: str = ""


def queue_filter(dataset: str | None, status: str | None, task: str | None, assigned: str | None,
                 user: str) -> QueueFilter:
    """The queue the filters choose; (me) is `user`."""
    who = user if assigned == ME else (None if assigned in (ANYONE, None) else assigned)
    return QueueFilter(None if dataset in (ALL, None) else dataset, status or TO_DO,
                       None if task in (ALL, None) else task, who)


def view(services: Services, pk: int | None) -> Shown:
    """Conversation `pk` with its suggested labels, or the empty queue."""
    if pk is None:
        return Shown(None, "The queue is empty.")
    store = services.annotations
    conv, row = store.suggestion(pk), store.row(pk)
    names = ["none"] + store.catalog_for(pk).names
    users = conv.user_indices()[:MAX_TURNS]
    labels = [label_name(conv.turns[k].task) for k in users]
    return Shown(pk, describe(row, store.assignees(pk), store.comment(pk)), chat(conv),
                 events_rows(conv, labels), [f"{k}: {t.content[:60]}" for k, t in enumerate(conv.turns)],
                 [(f"Turn {k}: {conv.turns[k].content[:80]}", names, label) for k, label in zip(users, labels)])


def go(services: Services, flt: QueueFilter, pk: int | None, page: ValidatePage, message: str = "") -> Step:
    """Show `pk` with the counts of the queue `flt`."""
    counts = services.annotations.counts(flt)
    return Step(page.visit(pk), counts_text(counts), view(services, pk), counts_frame(counts), message)


def require(pk: float | None) -> int:
    """The shown conversation's number; refused when none is shown (an empty number box sends 0)."""
    if not pk:
        raise Refused("Open a conversation first.", "pk")
    return int(pk)


def labels_of(services: Services, pk: int, values: list[str | None]) -> dict[int, str | None]:
    """The label of every user turn: the slots' values, the stored suggestion beyond them."""
    conv = services.annotations.suggestion(pk)
    chosen = {k: (None if v in (None, "none") else v) for k, v in zip(conv.user_indices(), values)}
    return {k: chosen.get(k, conv.turns[k].task) for k in conv.user_indices()}


def open_queue(services: Services, flt: QueueFilter, page: ValidatePage) -> Step:
    """The first conversation of the queue."""
    return go(services, flt, services.annotations.next_after(flt, None), page)


def open_one(services: Services, pk: float, page: ValidatePage) -> tuple[ValidatePage, Shown]:
    """Conversation `pk`, whatever its status."""
    step = go(services, QueueFilter(status=ANY), int(pk), page)
    return step.page, step.shown


def skip(services: Services, flt: QueueFilter, page: ValidatePage, pk: float | None, message: str = "") -> Step:
    """The conversation after `pk` in the queue."""
    return go(services, flt, services.annotations.next_after(flt, None if pk is None else int(pk)), page,
              message)


def confirm(services: Services, flt: QueueFilter, page: ValidatePage, pk: float | None,
            values: list[str | None], user: str) -> Step:
    """Validate the conversation with these labels and move on."""
    pk = require(pk)
    services.annotations.confirm(pk, labels_of(services, pk, values), user)
    return skip(services, flt, page, pk, f"Conversation #{pk} validated.")


def save_labels(services: Services, pk: float | None, values: list[str | None], user: str) -> str:
    """Store the labels without validating; say so."""
    pk = require(pk)
    services.annotations.relabel(pk, labels_of(services, pk, values), user)
    return f"Labels of conversation #{pk} saved."


def back(services: Services, flt: QueueFilter, page: ValidatePage, pk: float | None) -> Step:
    """The conversation opened before this one."""
    history = list(page.history)
    while history and pk is not None and history[-1] == int(pk):
        history.pop()
    if not history:
        raise Refused("Nothing to go back to.", "back")
    return go(services, flt, history[-1], ValidatePage(history))


def flag(services: Services, flt: QueueFilter, page: ValidatePage, pk: float | None, comment: str | None,
         user: str) -> Step:
    """Flag the conversation for review with a comment and move on."""
    pk = require(pk)
    services.annotations.flag(pk, comment or "", user)
    return skip(services, flt, page, pk, f"Conversation #{pk} flagged for review.")


def delete_or_restore(services: Services, flt: QueueFilter, page: ValidatePage, pk: float | None,
                      user: str) -> Step:
    """Mark the conversation deleted, or restore a deleted one; it stays shown."""
    pk, store = require(pk), services.annotations
    if store.row(pk)["status"] == "deleted":
        message = f"Conversation #{pk} restored as {safe(store.restore(pk, user))}."
    else:
        store.delete(pk, user)
        message = f"Conversation #{pk} marked for deletion (restorable)."
    return go(services, flt, pk, page, message)


def turn_number(turn: str) -> int:
    """The position in a 'position: text' choice."""
    return int(str(turn).split(":")[0])


def fix_typo(services: Services, pk: float | None, turn: str | None, text: str | None, user: str) -> Shown:
    """Correct the text of one turn."""
    pk = require(pk)
    if not turn:
        raise Refused("Choose the turn to fix.", "typo_turn")
    services.annotations.fix_turn(pk, turn_number(turn), text or "", user)
    return view(services, pk)


def turn_text(services: Services, pk: float | None, turn: str | None) -> str:
    """The current text of the chosen turn."""
    if pk is None or not turn:
        return ""
    return services.annotations.suggestion(int(pk)).turns[turn_number(turn)].content


def events_of(services: Services, pk: float | None, values: list[str | None]) -> list[list]:
    """The events that follow from the labels being edited."""
    return events_rows(services.annotations.suggestion(int(pk)) if pk is not None else None, values)


def save_guidelines(services: Services, text: str, user: str, admins: set[str] | None = None) -> str:
    """Store new guidelines, if `user` is one of the `admins` (None: everyone may); their view."""
    if admins is not None and user not in admins:
        raise Refused(f"Only {', '.join(sorted(admins))} may change the guidelines "
                      "(ROUTER_ADMINS).", "guide_text")
    services.annotations.save_guidelines(text, user)
    return guidelines_view(text)


def chosen_dataset(dataset: str | None, refusal: str) -> str:
    """The dataset chosen in the filters, refused when it is (all)."""
    if dataset in (ALL, None):
        raise Refused(refusal, "dataset")
    return dataset


def assign(services: Services, dataset: str | None, annotators: str, share: float) -> str:
    """Split the dataset among the annotators, a share to two of them."""
    dataset = chosen_dataset(dataset, "Choose a dataset to split.")
    return assigned_text(services.annotations.assign(dataset, annotators.split(","), float(share)))


def agreement(services: Services, dataset: str | None) -> tuple[str, list[list]]:
    """Cohen's kappa and the disagreements, as Markdown and rows."""
    result = services.annotations.agreement(None if dataset in (ALL, None) else dataset)
    kappa_md = "undefined" if result.kappa is None else f"{result.kappa:.3f}"
    rows = [[d.conversation, d.ext_id, d.position, d.content, d.first, label_name(d.first_label),
             d.second, label_name(d.second_label)] for d in result.disagreements]
    return (f"Cohen's kappa **{kappa_md}** over {int(result.turns)} user turns of "
            f"{int(result.conversations)} doubly annotated conversations; {len(rows)} disagreements "
            "(open one by its number to resolve it)."), rows


def export(services: Services, dataset: str | None, name: str | None) -> tuple[str, str]:
    """Store the validated conversations as a new dataset and write it out; the file and a message."""
    dataset = chosen_dataset(dataset, "Choose the dataset whose validated conversations to export.")
    name = check_name((name or "").strip())
    conversations = services.annotations.export_validated(dataset, name)
    path = services.datasets.write_export(name, services.settings.exports_dir)
    return str(path), f"Exported {len(conversations)} validated conversations as dataset '{safe(name)}'."


def generate(services: Services, tasks: list[str], count: float, mix: Mix, dataset: str, backend: str,
             model: str, progress=lambda done, total: None) -> tuple[str, list[list]]:
    """Generate labelled conversations into `dataset`; the report and the outputs that failed."""
    catalog = services.tasks.catalog()
    cases = plan(catalog, list(tasks or []), int(count), mix)
    generator = Generator(services.routers.backend(backend, model.strip() or None), services.settings.prompts_dir)
    progress(0, len(cases))
    report = generator.run(catalog, cases, progress)
    services.annotations.add_generated(dataset.strip(), report.conversations, catalog)
    rows = [[f.case.kind, f.case.task, f.reason, f.raw] for f in report.failures]
    return generated_text(len(report.conversations), dataset.strip(), len(rows)), rows
