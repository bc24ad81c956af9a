"""The pytest plugin behind the graded suite: points, hints, the score table, reports.

pytest loads it through the ``pytest11`` entry point, so it is active in every pytest
run of the environment but does nothing unless graded tests are collected. A graded
test carries ``@pytest.mark.points(n)`` and belongs to one exercise through
``@pytest.mark.exercise(name)``, usually set once per module with ``pytestmark``.

``pytest exercises/`` and ``pytest solutions/`` run the tests of ``lab.graded`` against
the folder they were started on. ``--impl PATH`` runs them against any folder holding
the same modules, such as a student's submission.
"""

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from ..hints import EXERCISES, HINTS

# Seconds a graded test may run before pytest-timeout fails it, unless the test sets
# its own ``@pytest.mark.timeout``. A student's endless loop costs one test, not the run.
DEFAULT_TIMEOUT = 60

RESULTS_KEY = pytest.StashKey[dict]()


@dataclass
class GradeResult:
    """The outcome of one graded test, as the score table and results.json show it."""

    nodeid: str
    name: str
    exercise: str
    points: float
    score: float
    status: str  # "passed", "failed", "not started", "timed out", "import error"
    message: str
    hidden: bool
    bonus: bool


def pytest_addoption(parser):
    group = parser.getgroup("lab", "vanishing-gradient lab grading")
    group.addoption("--impl", dest="lab_impl", metavar="PATH", default=None,
                    help="run the graded tests against this folder (solutions, exercises or a "
                    "path to a folder with activations.py, losses.py and model.py)")
    group.addoption("--results-json", dest="lab_results_json", metavar="PATH", default=None,
                    help="write the graded results to PATH in the Gradescope results.json format")


def pytest_configure(config):
    config.addinivalue_line("markers", "points(n): points a graded test is worth")
    config.addinivalue_line("markers", "exercise(name): the exercise a graded test belongs to")
    config.addinivalue_line("markers", "bonus: a graded test counted in the bonus line, not the total")
    config.addinivalue_line("markers", "hidden: a graded test whose result students do not see")
    config.stash[RESULTS_KEY] = {}


def is_graded(item):
    return item.get_closest_marker("points") is not None


def exercise_of(item):
    marker = item.get_closest_marker("exercise")
    return marker.args[0] if marker else "other"


def points_of(item):
    return float(item.get_closest_marker("points").args[0])


def pytest_collection_modifyitems(session, config, items):
    graded = [item for item in items if is_graded(item)]
    for item in graded:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT))
    if graded:
        config.stash[RESULTS_KEY]["started"] = time.monotonic()


def resolve_impl_spec(item):
    """Return the folder a graded test runs against: --impl, else the test file's folder."""
    option = item.config.getoption("lab_impl")
    if option:
        return option
    folder = Path(str(item.path)).parent
    if (folder / "activations.py").is_file():
        return str(folder)
    return "solutions"


_IMPLEMENTATIONS = {}


@pytest.fixture
def impl(request):
    """The Implementation under test (see ``lab.implementation``)."""
    from ..implementation import load_implementation

    spec = resolve_impl_spec(request.node)
    if spec not in _IMPLEMENTATIONS:
        _IMPLEMENTATIONS[spec] = load_implementation(spec)
    return _IMPLEMENTATIONS[spec]


def _classify(call, item):
    """Return ``(status, message)`` for a failed graded test."""
    from ..implementation import ImplementationError
    from .checks import GradedFailure

    excinfo = call.excinfo
    error = excinfo.value
    text = str(error).strip()
    if excinfo.errisinstance(NotImplementedError):
        return "not started", f"not started: {text or 'a function raises NotImplementedError'}"
    if excinfo.errisinstance(ImplementationError):
        return "import error", text
    if excinfo.errisinstance(GradedFailure):
        return "failed", text
    if excinfo.errisinstance(pytest.fail.Exception) and text.startswith("Timeout"):
        marker = item.get_closest_marker("timeout")
        seconds = marker.args[0] if marker and marker.args else DEFAULT_TIMEOUT
        return "timed out", (
            f"timed out after {seconds} s: look for a loop that never ends, or work done "
            f"once per element in Python instead of with TensorFlow ops"
        )
    if excinfo.errisinstance(AssertionError):
        return "failed", text or "assertion failed"
    location = _student_location(excinfo, item)
    first_line = text.splitlines()[0] if text else ""
    return "failed", f"{type(error).__name__}{location}: {first_line[:400]}"


def _student_location(excinfo, item):
    """Return `` at file:line`` for the deepest frame outside the lab package, or ''."""
    lab_root = Path(__file__).resolve().parent.parent
    location = ""
    for entry in excinfo.traceback:
        path = Path(str(entry.path))
        if path.suffix == ".py" and not path.resolve().is_relative_to(lab_root) and "site-packages" not in path.parts:
            location = f" at {path}:{entry.lineno + 1}"
    return location


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not is_graded(item) or report.when == "teardown" and report.passed:
        return
    if report.when == "call" or report.failed:
        results = item.config.stash[RESULTS_KEY].setdefault("tests", {})
        exercise = exercise_of(item)
        points = points_of(item)
        if report.passed:
            status, message = "passed", ""
        elif report.skipped:
            status, message = "failed", "skipped"
        else:
            status, message = _classify(call, item)
            hint = HINTS.get(exercise)
            report.longrepr = f"{hint.render()}\n\n{message}" if hint else message
        results[item.nodeid] = GradeResult(
            nodeid=item.nodeid,
            name=item.name,
            exercise=exercise,
            points=points,
            score=points if status == "passed" else 0.0,
            status=status,
            message=message,
            hidden=item.get_closest_marker("hidden") is not None,
            bonus=item.get_closest_marker("bonus") is not None,
        )


def graded_results(config):
    """Return the GradeResult objects recorded so far, in test order."""
    return list(config.stash[RESULTS_KEY].get("tests", {}).values())


def score_table(results):
    """Return ``(rows, total, max_total, bonus, max_bonus)`` grouped by exercise."""
    order = {name: index for index, name in enumerate(EXERCISES)}
    by_exercise = {}
    for result in results:
        by_exercise.setdefault(result.exercise, []).append(result)
    rows = []
    for exercise in sorted(by_exercise, key=lambda name: (order.get(name, len(order)), name)):
        tests = by_exercise[exercise]
        score = sum(test.score for test in tests)
        possible = sum(test.points for test in tests)
        not_started = all(test.status == "not started" for test in tests)
        rows.append((exercise, score, possible, not_started, any(test.bonus for test in tests)))
    core = [row for row in rows if not row[4]]
    bonus = [row for row in rows if row[4]]
    return rows, sum(r[1] for r in core), sum(r[2] for r in core), sum(r[1] for r in bonus), sum(r[2] for r in bonus)


def _points(value):
    return f"{value:g}"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    results = graded_results(config)
    if not results:
        return
    rows, total, max_total, bonus, max_bonus = score_table(results)
    write = terminalreporter.write_line
    terminalreporter.section("lab score")
    width = max(len(row[0]) for row in rows + [("total",)])
    for exercise, score, possible, not_started, is_bonus in rows:
        if is_bonus:
            continue
        note = "  not started" if not_started else ""
        write(f"{exercise:<{width}}  {_points(score)}/{_points(possible)}{note}")
    write(f"{'total':<{width}}  {_points(total)}/{_points(max_total)}")
    if max_bonus:
        bonus_rows = [row for row in rows if row[4]]
        started = not all(row[3] for row in bonus_rows)
        note = "" if started else "  not started"
        write(f"{'bonus':<{width}}  {_points(bonus)}/{_points(max_bonus)}{note}")
    write("This score covers the public tests run on this machine; the final grade may include more tests.")


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("lab_results_json")
    if not path:
        return
    from .gradescope import write_results

    results = graded_results(session.config)
    started = session.config.stash[RESULTS_KEY].get("started", time.monotonic())
    write_results(Path(path), results, time.monotonic() - started)
