"""Runs queued training jobs one at a time, each in its own process, and notices the ones that died."""
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

from data.heartbeat import STALE_S, stale
from data.jobs import ACTIVE, JobStore
from data.training import output_dir
from router.settings import ROOT, Settings
from router.training.config import TrainConfig

LOG_TAIL = 40
KILLED = "the process ended without finishing (killed? out of memory?)"


def pid_alive(pid: int | None) -> bool:
    """Whether process `pid` runs (not a zombie) and is a `cli.py train` command."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z" and b"cli.py" in cmdline and b"train" in cmdline


def tail(path: Path, lines: int = LOG_TAIL) -> str:
    """The last lines of a text file ('' if missing)."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Runner:
    """The job queue's engine: launches `python cli.py train` subprocesses, reaps and reattaches."""

    def __init__(self, jobs: JobStore, settings: Settings, stale_after: float = STALE_S):
        self.jobs, self.settings, self.stale_after = jobs, settings, stale_after
        self.children: dict[int, subprocess.Popen] = {}
        self.exits: dict[int, int] = {}
        self.lock = threading.Lock()
        self.watcher: threading.Thread | None = None

    def submit(self, config: TrainConfig, evaluate: bool = True) -> int:
        """Queue a job for `config`; it starts when no other job runs."""
        config.validate()
        job = self.jobs.create({}, evaluate=evaluate)
        if not config.output_dir:
            config.output_dir = str(output_dir(self.settings, job))
        config.save(Path(config.output_dir) / "config.json")
        self.jobs.set(job, config=asdict(config))
        self.poll()
        return job

    def poll(self) -> None:
        """Mark dead jobs failed with their log tail, then start the next queued job if none runs."""
        with self.lock:
            for job in self.jobs.active():
                if not self.alive(job):
                    self.fail(job)
            claimed = self.jobs.claim_next()
            if claimed:
                self.launch(claimed)

    def alive(self, job: dict) -> bool:
        """Whether a running job's process still runs: a child of ours, else a live pid or heartbeat.

        A job started by another app instance (or before a restart) counts as alive while its
        process runs on this machine or its heartbeat is fresh (data.heartbeat).
        """
        child = self.children.get(job["id"])
        if child is not None and child.poll() is None:
            return True
        if child is not None:
            self.exits[job["id"]] = self.children.pop(job["id"]).returncode
            return False
        return pid_alive(job["pid"]) or not stale(job["heartbeat_at"], self.stale_after)

    def fail(self, job: dict) -> None:
        """Mark a job whose process ended without saying so failed; its log keeps the output's tail."""
        current = self.jobs.get(job["id"])
        if current["status"] not in ACTIVE:
            return
        code = self.exits.pop(job["id"], None)
        error = KILLED + (f" [killed by signal {-code}]" if code and code < 0 else
                          f" [exit status {code}]" if code else "")
        self.jobs.log(job["id"], f"the job's process ended unexpectedly: {error}; its output ends with:\n"
                                 f"{tail(self.log_path(job))}")
        self.jobs.mark(job["id"], "failed", error=error)

    def log_path(self, job: dict) -> Path:
        """The file that receives a job's output."""
        return Path(job["config"]["output_dir"]) / "job.log"

    def command(self, job: dict) -> list[str]:
        """The command line that runs a job."""
        return [sys.executable, str(ROOT / "cli.py"), "--db", str(self.settings.db_path), "train",
                str(Path(job["config"]["output_dir"]) / "config.json"), "--job", str(job["id"]),
                *([] if job["evaluate"] else ["--no-eval"])]

    def launch(self, job: dict) -> None:
        """Start a job's process; it outlives the app (its own session) and writes to job.log."""
        path = self.log_path(job)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as out:
            child = subprocess.Popen(self.command(job), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
        self.children[job["id"]] = child
        self.jobs.set(job["id"], pid=child.pid)

    def stop(self, job: int) -> str:
        """Ask a job to stop (a running one saves a checkpoint first)."""
        return self.jobs.request_stop(job)

    def resume(self, job: int) -> None:
        """Queue a stopped or failed job again; it resumes from its last checkpoint."""
        self.jobs.resume(job)
        self.poll()

    def watch(self, interval: float = 2.0) -> None:
        """Poll in a daemon thread, so that the queue moves while nobody looks."""
        if self.watcher is not None:
            return

        def loop():
            while True:
                time.sleep(interval)
                try:
                    self.poll()
                except Exception as e:  # keep watching: the next poll may succeed
                    print(f"job runner: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        self.watcher = threading.Thread(target=loop, name="job-runner", daemon=True)
        self.watcher.start()
