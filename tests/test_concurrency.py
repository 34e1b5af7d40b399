"""Several real processes write labels to one database file at the same moment: none is lost."""
import subprocess
import sys
import time

from data.annotations import AnnotationStore, QueueFilter
from data.datasets import DatasetStore
from data.db import DatabaseFile
from router.conversation import Conversation, Turn
from tests.conftest import ROOT

WORKERS, ROUNDS = 4, 25
WORKER = """
import sys, time
from data.annotations import AnnotationStore, QueueFilter
from data.db import DatabaseFile
db, me, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
store = AnnotationStore(DatabaseFile(db))
shared, *own = store.queue(QueueFilter("d", status="any"))
while time.time() < start:
    time.sleep(0.005)
for k in range(%d):
    store.relabel(shared, {0: "meeting_minutes" if k %% 2 else None}, me)
    pk = own[(k + int(me[1:])) %% len(own)]
    store.confirm(pk, {0: "linkedin_post", 2: None}, me)
"""


def test_concurrent_annotators_lose_no_label(settings, small_catalog):
    file = DatabaseFile(settings.db_path)
    conversations = [Conversation(f"c{k}", (Turn("user", "hello"), Turn("assistant", "hi"),
                                            Turn("user", "write a post"))) for k in range(6)]
    DatasetStore(file).add("d", conversations, catalog=small_catalog)
    start = time.time() + 3
    procs = [subprocess.Popen([sys.executable, "-c", WORKER % ROUNDS, str(settings.db_path), f"w{i}",
                               str(start)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
             for i in range(WORKERS)]
    for proc in procs:
        assert proc.wait(timeout=240) == 0, proc.stderr.read()

    store = AnnotationStore(DatabaseFile(settings.db_path))
    for i in range(WORKERS):
        rows = list(store.db["labels"].rows_where("annotator = ?", [f"w{i}"]))
        assert len(rows) == ROUNDS * 3, f"worker w{i}: 1 relabel + 2 confirmed labels per round"
        changes = store.db["status_changes"].count_where("annotator = ?", [f"w{i}"])
        assert changes == ROUNDS
    assert store.counts(QueueFilter("d"))["validated"] == 5
