"""The hand-written test sets: they load through the real imports, hold every event, and no training takes them."""
import json
from collections import Counter

import pytest

from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.jobs import JobStore
from data.migrations import DEFAULT_CATALOG
from data.synthetic import BANK
from data.testsets import NAMES, SOURCE, HeldOutError, set_file
from data.training import gather
from router.catalog import Catalog
from router.conversation import read_jsonl
from router.events import Event
from router.training.config import TrainConfig
from tests.conftest import ROOT

EXPECTED = {"sales": (30, 163), "helpdesk": (30, 163)}  # conversations, labelled user turns (README)
TUNING = ROOT / "bench" / "tuning" / "shop.jsonl"  # rules are chosen on it


def stored(settings) -> DatasetStore:
    """The datasets of the test's database."""
    return DatasetStore(DatabaseFile(settings.db_path))


@pytest.mark.parametrize("name", NAMES)
def test_a_test_set_imports_with_its_counts_catalog_labels_and_every_event(cli, settings, name):
    status, _, err = cli("datasets", "import", str(set_file(name)), "--name", name)
    assert status == 0, err
    datasets = stored(settings)
    row = next(r for r in datasets.summary() if r["name"] == name)
    assert (row["conversations"], row["labelled_turns"]) == EXPECTED[name]
    conversations = datasets.conversations(name)
    for conv in conversations:
        assert conv.source == SOURCE and len(conv.tasks) >= 8
        assert all(t.labelled for t in conv.turns if t.role == "user"), conv.id
        assert set(conv.gold_labels()) <= set(conv.tasks.names) | {None}, conv.id
    events = Counter(e for conv in conversations for e in conv.gold_events())
    assert all(events[e] > 0 for e in Event), events
    assert 15 <= events[Event.SWITCH] <= 25 and events[Event.CONTINUE] > events[Event.START]


def test_the_import_testset_command_keeps_the_sets_catalog_read_from_mojodex_and_native_shapes(cli, settings):
    for name in NAMES:
        status, out, err = cli("datasets", "import-testset", name)
        assert status == 0 and f"into '{name}'" in out, err
    datasets = stored(settings)
    assert [r["source"] for r in datasets.summary()] == [SOURCE, SOURCE]
    sales, helpdesk = (datasets.catalog(name) for name in NAMES)
    first = json.loads(set_file("sales").read_text(encoding="utf-8").splitlines()[0])
    assert "name_for_system" in first["tasks"][0] and sales.get("pricing_quote").infos
    assert helpdesk.get("password_reset").instructions
    assert cli("datasets", "import-testset", "sales")[0] == 2  # the dataset exists already


def test_the_catalogs_are_new_to_the_demo_and_the_synthetic_bank():
    bank = {t["name"] for t in json.loads(BANK.read_text(encoding="utf-8"))["tasks"]}
    seen = bank | set(Catalog.load(DEFAULT_CATALOG).names)
    for name in NAMES:
        tasks = set(read_jsonl(set_file(name))[0].tasks.names)
        assert 8 <= len(tasks) <= 10 and not tasks & seen, tasks & seen


def sentences(conversations) -> set[str]:
    """The user messages of more than three words (short replies such as "yes" or "2" recur anywhere)."""
    return {t.content for c in conversations for t in c.turns if t.role == "user" and len(t.content.split()) > 3}


def test_the_tuning_set_shares_no_task_or_message_with_the_test_sets():
    tuning = read_jsonl(TUNING)
    held = [c for name in NAMES for c in read_jsonl(set_file(name))]
    assert len(tuning) == 24 and {c.source for c in tuning} == {"tuning"}
    assert not set(tuning[0].tasks.names) & {n for c in held for n in c.tasks.names}
    assert not sentences(tuning) & sentences(held)


def test_the_train_command_refuses_a_test_set_and_the_job_says_why(cli, settings, tmp_path):
    cli("datasets", "import-testset", "sales")
    config = TrainConfig(datasets=["sales"], max_steps=1).save(tmp_path / "config.json")
    status, _, err = cli("train", str(config))
    assert status == 2 and "dataset 'sales' holds 30 test-set conversation(s)" in err
    job = JobStore(DatabaseFile(settings.db_path)).get(1)
    assert job["status"] == "failed" and "never trained on" in job["error"]


def test_test_set_conversations_mixed_into_or_copied_to_another_dataset_are_refused(cli, settings, tmp_path):
    cli("datasets", "import-demo", "--name", "mix")
    cli("datasets", "import-demo", "--name", "demo")
    assert cli("datasets", "import", str(set_file("helpdesk")), "--name", "mix")[0] == 0
    cli("datasets", "import-testset", "sales")
    copy = tmp_path / "renamed.jsonl"
    assert cli("datasets", "export", "sales", "-o", str(copy))[0] == 0
    assert cli("datasets", "import", str(copy), "--name", "copy")[0] == 0
    datasets, default = stored(settings), Catalog.load(DEFAULT_CATALOG)
    for names, culprit in ((["demo", "mix"], "mix"), (["copy"], "copy")):
        with pytest.raises(HeldOutError, match=f"dataset '{culprit}' holds"):
            gather(datasets, TrainConfig(datasets=names), default)
    kept = gather(datasets, TrainConfig(datasets=["demo"]), default)
    assert len(kept) == 45 and SOURCE not in {c.source for c in kept}


def test_the_train_tab_refuses_a_test_set_before_queueing_a_job(services):
    from data.testsets import import_testset
    from ui.train_actions import launch

    import_testset(services.datasets, "helpdesk", "hd")
    with pytest.raises(HeldOutError, match="dataset 'hd' holds 30 test-set"):
        launch(services, ["hd"], False, {})
    assert services.jobs.listing() == []
