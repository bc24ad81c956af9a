"""Run the graded suite in a child pytest process, with a whole-run timeout.

Each run gets a scratch folder of its own, laid out the same way every time so that
pytest gives every test the same node id in every run:

    RUN/pytest.ini     an empty configuration file (``-c``), so that no ini file of the
                       submission or of the current directory is read
    RUN/extra_tests/   a copy of the instructor's ``--extra-tests`` folder, if any
    RUN/submission/    the submission's three modules
    RUN/tmp/           TMPDIR and pytest's ``--basetemp``

The child runs in its own session (process group). The group is killed with SIGKILL
when the run exceeds its timeout, and once more after it exits, so that processes a
submission started do not outlive its run. The journal (see ``lab.grading.journal``)
and the output are written to anonymous temporary files whose descriptors the child
inherits, so the submission's code cannot delete them by path.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import lab
from lab import graded

GRADED_MODULES = graded.MODULES
GRADED_FOLDER = Path(lab.__file__).resolve().parent / "graded"
LAB_PARENT = Path(lab.__file__).resolve().parent.parent

# How much of a run's output is kept for its report and for pytest-output.txt.
OUTPUT_TAIL_BYTES = 256 * 1024

# Plugins the child loads by name. Autoloading of installed plugins is off in the child,
# so a plugin that reorders or reruns tests cannot change a score.
PLUGINS = ("lab.grading.plugin", "pytest_timeout", "lab.grading.journal")

# Environment variables of the grader that must not reach the child.
DROPPED_VARIABLES = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONSTARTUP", "PYTHONINSPECT")


@dataclass
class RunLayout:
    """The scratch folder of one run and the paths inside it."""

    root: Path

    @property
    def ini(self):
        return self.root / "pytest.ini"

    @property
    def extra_tests(self):
        return self.root / "extra_tests"

    @property
    def submission(self):
        return self.root / "submission"

    @property
    def tmp(self):
        return self.root / "tmp"


@dataclass
class RunOutcome:
    """The journal events, exit status and output that a child run left behind."""

    events: list = field(default_factory=list)
    returncode: int | None = None
    timed_out: bool = False
    duration: float = 0.0
    output: str = ""

    @property
    def finished(self):
        """True when pytest reached the end of its session."""
        return any(event.get("event") == "finish" for event in self.events)


class ProcessRegistry:
    """The child processes running now, so that an interrupt can kill them all."""

    def __init__(self):
        self._lock = threading.Lock()
        self._processes = set()
        self.cancelled = threading.Event()

    def add(self, process):
        with self._lock:
            self._processes.add(process)
        # A run started while kill_all was running would otherwise be missed.
        if self.cancelled.is_set():
            kill_group(process)

    def remove(self, process):
        with self._lock:
            self._processes.discard(process)

    def kill_all(self):
        self.cancelled.set()
        with self._lock:
            processes = list(self._processes)
        for process in processes:
            kill_group(process)


def make_layout(extra_tests=None):
    """Create a fresh run folder in the system temporary folder; copy ``extra_tests`` into it.

    Every run gets its own top-level temporary folder, so a submission that deletes the
    folders above its own copy cannot reach another submission's run.
    """
    layout = RunLayout(Path(tempfile.mkdtemp(prefix="lab-grade-")))
    layout.ini.write_text("[pytest]\n")
    layout.tmp.mkdir()
    if extra_tests is not None:
        copy_tree(Path(extra_tests), layout.extra_tests)
    return layout


def remove_layout(layout):
    shutil.rmtree(layout.root, ignore_errors=True)


def copy_tree(source, destination):
    """Copy the regular files below ``source``, skipping caches and hidden entries."""
    ignore = shutil.ignore_patterns("__pycache__", ".*", "*.pyc")
    shutil.copytree(source, destination, ignore=ignore, symlinks=False)


def pytest_command(layout, *, extra_tests, arguments):
    """Return the child's command line: the graded suite, the extra tests and ``arguments``."""
    command = [
        sys.executable, "-m", "pytest",
        "-c", str(layout.ini), "--rootdir", str(layout.root),
        # Keeps conftest.py files of the folders above the graded suite out of the run.
        "--confcutdir", str(GRADED_FOLDER),
        "-p", "no:cacheprovider", "-q",
        "--basetemp", str(layout.tmp / "pytest"),
    ]
    for plugin in PLUGINS:
        command += ["-p", plugin]
    command += ["--pyargs", *GRADED_MODULES]
    if extra_tests:
        command.append(str(layout.extra_tests))
    return command + list(arguments)


def child_environment(layout, threads=None):
    """Return the child's environment: no plugin autoloading, no bytecode, fixed hashing.

    ``threads`` caps TensorFlow's and OpenMP's thread pools when several runs share the
    machine; a value the user exported wins.
    """
    env = {key: value for key, value in os.environ.items() if key not in DROPPED_VARIABLES}
    python_path = [str(LAB_PARENT)] + [part for part in env.get("PYTHONPATH", "").split(os.pathsep) if part]
    env.update(
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(python_path),
        TMPDIR=str(layout.tmp),
    )
    if threads is not None:
        for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
            env.setdefault(name, str(threads))
    return env


def run_pytest(layout, *, extra_tests, arguments, timeout, threads=None, registry=None):
    """Run pytest in ``layout`` for at most ``timeout`` seconds; return its RunOutcome."""
    with tempfile.TemporaryFile() as journal, tempfile.TemporaryFile() as output:
        journal_fd = journal.fileno()
        command = pytest_command(
            layout, extra_tests=extra_tests,
            arguments=[*arguments, "--lab-journal-fd", str(journal_fd)],
        )
        started = time.monotonic()
        process = subprocess.Popen(
            command, cwd=layout.root, env=child_environment(layout, threads),
            stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            pass_fds=(journal_fd,), start_new_session=True,
        )
        if registry is not None:
            registry.add(process)
        timed_out = False
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            kill_group(process)
            process.wait()
            if registry is not None:
                registry.remove(process)
        duration = time.monotonic() - started
        return RunOutcome(
            events=read_journal(journal),
            returncode=process.returncode,
            timed_out=timed_out,
            duration=duration,
            output=read_tail(output),
        )


def kill_group(process):
    """Send SIGKILL to the process group that ``process`` leads, if any of it is left."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def read_journal(file):
    """Return the events of a journal file; a torn last line (a killed writer) is dropped."""
    file.seek(0)
    events = []
    for line in file.read().decode("utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def read_tail(file, limit=OUTPUT_TAIL_BYTES):
    file.seek(0, os.SEEK_END)
    size = file.tell()
    file.seek(max(0, size - limit))
    return file.read().decode("utf-8", errors="replace")


def signal_name(returncode):
    """Return ``SIGKILL`` for a return code of -9, and so on."""
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"
