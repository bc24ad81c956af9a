"""A pytest plugin for the test runs that ``python -m lab grade`` starts.

The batch grader loads it with ``-p lab.grading.journal`` next to the lab's own plugin.

- ``--lab-journal-fd N``: write one JSON line per event to file descriptor N, which the
  grader opened and passed down: ``start`` when a test begins, ``result`` with the
  test's GradeResult when it ends, ``finish`` when the session ends. Each line is flushed
  at once, so the results of finished tests survive a run that is killed, hangs or calls
  ``os._exit``, and the last ``start`` without a ``result`` names the test that was running.
- ``--lab-manifest PATH``: with ``--collect-only``, write the graded tests collected
  (node id, name, exercise, points, hidden, bonus) and any collection errors as JSON.

With either option it also lowers two resource limits of the run before any test starts:
no core dumps, and no file larger than MAX_FILE_BYTES. CPython ignores SIGXFSZ, so a
write past the limit raises OSError (EFBIG, "File too large"): a student's endless
``print`` fails its test instead of filling the disk.
"""

import json
import os
import resource
from dataclasses import asdict

from .plugin import RESULTS_KEY, exercise_of, is_graded, points_of

MAX_FILE_BYTES = 64 * 1024 * 1024


def pytest_addoption(parser):
    group = parser.getgroup("lab-grade", "batch grading (set by python -m lab grade)")
    group.addoption("--lab-journal-fd", dest="lab_journal_fd", type=int, default=None, metavar="N",
                    help="write one JSON line per test event to this open file descriptor")
    group.addoption("--lab-manifest", dest="lab_manifest", default=None, metavar="PATH",
                    help="write the collected graded tests and collection errors to PATH as JSON")


def pytest_configure(config):
    fd = config.getoption("lab_journal_fd")
    manifest = config.getoption("lab_manifest")
    if fd is None and manifest is None:
        return
    _limit_resources()
    if fd is not None:
        config.pluginmanager.register(JournalWriter(config, fd), "lab-journal-writer")
    if manifest is not None:
        config.pluginmanager.register(ManifestWriter(manifest), "lab-manifest-writer")


def _limit_resources():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if hard == resource.RLIM_INFINITY or hard > MAX_FILE_BYTES:
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))


class JournalWriter:
    """Appends test events to the grader's file descriptor as JSON lines."""

    def __init__(self, config, fd):
        self.config = config
        self.file = os.fdopen(fd, "a", encoding="utf-8")

    def _write(self, event):
        self.file.write(json.dumps(event) + "\n")
        self.file.flush()

    def pytest_runtest_logstart(self, nodeid, location):
        self._write({"event": "start", "nodeid": nodeid})

    def pytest_runtest_logfinish(self, nodeid, location):
        # The lab's plugin has recorded the test's result by now, teardown included.
        result = self.config.stash[RESULTS_KEY].get("tests", {}).get(nodeid)
        if result is not None:
            self._write({"event": "result", **asdict(result)})

    def pytest_sessionfinish(self, session, exitstatus):
        self._write({"event": "finish", "exitstatus": int(exitstatus)})
        self.file.close()


class ManifestWriter:
    """Records the graded tests a collection finds, and the files that failed to collect."""

    def __init__(self, path):
        self.path = path
        self.tests = []
        self.errors = []

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append({"nodeid": report.nodeid, "message": str(report.longrepr)[-4000:]})

    def pytest_collection_finish(self, session):
        self.tests = [
            {
                "nodeid": item.nodeid,
                "name": item.name,
                "exercise": exercise_of(item),
                "points": points_of(item),
                "hidden": item.get_closest_marker("hidden") is not None,
                "bonus": item.get_closest_marker("bonus") is not None,
            }
            for item in session.items if is_graded(item)
        ]

    def pytest_sessionfinish(self, session, exitstatus):
        with open(self.path, "w", encoding="utf-8") as file:
            json.dump({"tests": self.tests, "errors": self.errors}, file, indent=2)
