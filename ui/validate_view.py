"""What the Validate tab shows, as Markdown, chat messages and rows; user text escaped."""
import pandas as pd

from data.annotations import STATUSES, label_name
from router.conversation import Conversation
from router.events import event_between
from ui.escaping import safe


def events_rows(conv: Conversation | None, labels: list[str | None]) -> list[list]:
    """Rows turn, message, label, event that follow from the labels being edited."""
    if conv is None:
        return []
    rows, previous = [], None
    for position, value in zip(conv.user_indices(), labels):
        current = None if value in (None, "none") else value
        rows.append([position, conv.turns[position].content, label_name(current),
                     event_between(previous, current).value])
        previous = current
    return rows


def chat(conv: Conversation) -> list[dict]:
    """The conversation as chat messages, text escaped."""
    return [{"role": t.role, "content": safe(t.content)} for t in conv.turns]


def describe(row: dict, assignees: list[str], comment: str) -> str:
    """The header of the shown conversation, user text escaped."""
    parts = [f"**#{int(row['id'])}** {safe(row['ext_id'])} in **{safe(row['dataset'])}**",
             f"status **{safe(row['status'])}**", f"source {safe(row['source'] or '-')}"]
    if assignees:
        parts.append("assigned to " + ", ".join(safe(a) for a in assignees))
    text = " · ".join(parts)
    return text + (f"\n\nFlag comment: {safe(comment)}" if comment else "")


def counts_text(counts: dict) -> str:
    """Counts per status and progress, as Markdown."""
    per_status_md = " · ".join(f"{safe(s)} {int(counts[s])}" for s in STATUSES)
    return (f"**{int(counts['selected'])}** in this queue · {per_status_md} · progress "
            f"**{counts['progress']:.0%}** validated")


def assigned_text(counts: dict[str, int]) -> str:
    """How many conversations each annotator was given, names escaped."""
    return "Assigned: " + ", ".join(f"{safe(a)} {n}" for a, n in counts.items())


def generated_text(stored: int, dataset: str, failed: int) -> str:
    """The report of a generation, the dataset name escaped."""
    return (f"Stored **{int(stored)}** labelled conversations in **{safe(dataset)}** (unvalidated, in "
            f"the queue); **{int(failed)}** could not be read (below, with the reason and the raw output).")


def guidelines_view(text: str) -> str:
    """The guidelines as Markdown; raw HTML in them shows as text."""
    return safe(text)


def counts_frame(counts: dict) -> pd.DataFrame:
    """Conversations per status, for the bar plot."""
    return pd.DataFrame({"status": list(STATUSES), "conversations": [counts[s] for s in STATUSES]})
