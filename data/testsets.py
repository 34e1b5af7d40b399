"""The hand-written test sets of data/testsets/ (sales, helpdesk): evaluated on, never trained on."""
from pathlib import Path

from data.datasets import DatasetStore
from router.conversation import read_jsonl
from router.errors import InputError

FOLDER = Path(__file__).with_name("testsets")
NAMES = ("sales", "helpdesk")
SOURCE = "testset"  # the `source` of every test-set conversation: what keeps them out of training


class HeldOutError(InputError):
    """A test set that does not exist, or a training dataset that holds test-set conversations."""


def set_file(name: str) -> Path:
    """The JSONL file of test set `name`."""
    if name not in NAMES:
        raise HeldOutError(f"no test set called '{name}' (test sets: {', '.join(NAMES)})", field="name")
    return FOLDER / f"{name}.jsonl"


def import_testset(store: DatasetStore, name: str, dataset: str | None = None) -> int:
    """Import test set `name` into dataset `dataset` (default: `name`) with the catalog its lines carry."""
    conversations = read_jsonl(set_file(name), max_tasks=store.max_tasks)
    return store.add(dataset or name, conversations, source=SOURCE, catalog=conversations[0].tasks)


def refuse_testsets(store: DatasetStore, names: list[str]) -> None:
    """Raise HeldOutError naming the first of datasets `names` that holds test-set conversations."""
    for name in names:
        held = store.ids_from_source(name, SOURCE)
        if held:
            raise HeldOutError(
                f"dataset '{name}' holds {len(held)} test-set conversation(s) (source '{SOURCE}', "
                f"first '{held[0]}'): test sets are for evaluation only and are never trained on; "
                "choose datasets without them", field="datasets")
