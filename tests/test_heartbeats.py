"""Honest statuses: runs and jobs beat while their process lives; real processes killed with SIGKILL."""
import os
import signal
import subprocess
import sys
import time

from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.jobs import JobStore
from data.runner import KILLED, Runner
from data.runs import RunStore
from router.catalog import Catalog
from router.conversation import Conversation, Turn
from router.decision import Decision
from router.evaluation import RunConfig
from router.events import event_between
from router.training.config import TrainConfig
from tests.conftest import ROOT
from tests.test_training import wait_for

CONFIG = RunConfig("beats", "constrained", "local", "copy")
RUN_SCRIPT = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from data.datasets import DatasetStore
from data.db import DatabaseFile
from data.runs import RunStore
from router.catalog import Catalog
from tests.test_heartbeats import CONFIG, CopyRouter

file = DatabaseFile(sys.argv[1])
RunStore(file, DatasetStore(file), interval=0.2).execute(CONFIG, CopyRouter(0.3), Catalog())
"""


class CopyRouter:
    """A stand-in router that keeps the current task, taking `delay` seconds per decision."""

    class Backend:
        model = "copy"

    def __init__(self, delay: float = 0.0):
        self.delay, self.backend, self.calls = delay, self.Backend(), 0

    def decide(self, catalog, turns, current, session=None) -> Decision:
        """The current task again."""
        self.calls += 1
        time.sleep(self.delay)
        return Decision(current, current, event_between(current, current), True, self.delay, "copy", "copy")

    attempt = decide  # it never fails

    def prepare(self, catalog, turns, current, session) -> None:
        """Nothing to read ahead."""

    def forget(self, session: str) -> None:
        """Nothing cached."""


def conversations(count: int) -> list[Conversation]:
    """Conversations of two labelled user turns each."""
    return [Conversation(f"c{k}", (Turn("user", "Minutes please", "meeting_minutes", True),
                                   Turn("assistant", "Who attended?"),
                                   Turn("user", "Thanks", None, True))) for k in range(count)]


def test_a_run_whose_process_was_killed_shows_interrupted_then_resumes(settings, small_catalog):
    file = DatabaseFile(settings.db_path)
    datasets = DatasetStore(file)
    datasets.add("beats", conversations(20), catalog=small_catalog)
    worker = subprocess.Popen([sys.executable, "-c", RUN_SCRIPT, str(settings.db_path)], cwd=ROOT)
    runs = RunStore(file, datasets, stale_after=1.5)
    try:
        wait_for(lambda: file.db["predictions"].count >= 3, 120, "a few routed turns")
        [run] = [r["id"] for r in runs.listing()]
        assert runs.get(run)["status"] == "running", "a live run beats"
        time.sleep(2)
        assert runs.get(run)["status"] == "running", "still beating after longer than stale_after"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    routed = file.db["predictions"].count
    wait_for(lambda: runs.get(run)["status"] == "interrupted", 10, "the stale heartbeat")
    assert "stopped without finishing" in runs.get(run)["error"]
    assert [r["status"] for r in runs.listing()] == ["interrupted"]
    router = CopyRouter()
    assert runs.execute(CONFIG, router, Catalog()) == run, "the same run resumes"
    assert runs.get(run)["status"] == "done" and router.calls == 40 - routed
    assert file.db["predictions"].count == 40


def test_a_killed_training_job_says_it_was_killed_not_its_last_loss(settings):
    class StandInJob(Runner):
        def command(self, job: dict) -> list[str]:
            return [sys.executable, "-c", "import time; print('step 3: train loss 0.4213', flush=True); "
                                          "time.sleep(120)"]

    jobs = JobStore(DatabaseFile(settings.db_path))
    runner = StandInJob(jobs, settings)
    job = runner.submit(TrainConfig(datasets=["tiny"]), evaluate=False)
    wait_for(lambda: "train loss" in runner.log_path(jobs.get(job)).read_text(), 60, "the job's output")
    os.kill(jobs.get(job)["pid"], signal.SIGKILL)
    wait_for(lambda: runner.poll() or jobs.get(job)["status"] == "failed", 30, "the killed job")
    row = jobs.get(job)
    assert row["error"] == f"{KILLED} [killed by signal 9]"
    assert "ended unexpectedly" in row["log"] and "step 3: train loss 0.4213" in row["log"]


def test_a_job_of_another_instance_lives_while_it_beats(settings):
    jobs = JobStore(DatabaseFile(settings.db_path))
    job = jobs.create({"output_dir": str(settings.data_dir / "jobs" / "x")}, status="running")
    jobs.set(job, pid=2**22 + 1, heartbeat_at=time.time())  # a process this machine does not run
    runner = Runner(jobs, settings, stale_after=2)
    runner.poll()
    assert jobs.get(job)["status"] == "running"
    jobs.set(job, heartbeat_at=time.time() - 3)
    runner.poll()
    assert (jobs.get(job)["status"], jobs.get(job)["error"]) == ("failed", KILLED)
