"""The pytest plugin behind the graded suite: points, hints, the score table, reports.

pytest loads it through the ``pytest11`` entry point, so it is active in every pytest
run of the environment but does nothing unless graded tests are collected. A graded
test carries ``@pytest.mark.points(n)`` and belongs to one exercise through
``@pytest.mark.exercise(name)``, usually set once per module with ``pytestmark``.

``pytest exercises/`` and ``pytest solutions/`` run the tests of ``lab.graded`` against
the folder they were started on. ``--impl PATH`` runs them against any folder holding
the same modules, such as a student's submission.

The default output has no tracebacks for graded tests. Their failures leave
pytest's FAILURES section and short summary, and a "lab feedback" section lists them
instead, grouped by exercise with the exercise's hint once, then the score table.
An explicit ``--tb`` (short, long, native, line) brings back pytest's own sections,
with the hint and message in each graded report, and ``--tb=no`` leaves only the table.
"""

import linecache
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..hints import EXERCISES, HINTS
from . import format_points

# Seconds a graded test may run before pytest-timeout fails it, unless the test sets its
# own ``@pytest.mark.timeout`` or the run sets ``--timeout``. Each graded test does a few
# small tensor operations; a student's endless loop then costs one test, not the run.
DEFAULT_TIMEOUT = 10

LAB_MARKERS = ("points", "exercise", "bonus", "hidden")

RESULTS_KEY = pytest.StashKey[dict]()

LAB_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class GradeResult:
    """The outcome of one graded test, as the score table and results.json show it."""

    nodeid: str
    name: str
    exercise: str
    points: float
    score: float
    status: str  # "passed", "failed", "not started", "timed out", "import error", "skipped"
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
    config.stash[RESULTS_KEY] = {"tests": {}, "implementations": {}, "deselected": 0}

    spec = config.getoption("lab_impl")
    if spec:
        from ..implementation import ImplementationError, load_implementation

        try:
            load_implementation(spec)
        except ImplementationError as error:
            raise pytest.UsageError(f"--impl {spec}: {error}") from None


# Markers and selection ------------------------------------------------------------------


def is_graded(item):
    return item.get_closest_marker("points") is not None


def exercise_of(item):
    marker = item.get_closest_marker("exercise")
    return marker.args[0] if marker else "other"


def points_of(item):
    return float(item.get_closest_marker("points").args[0])


def _module_marks(module):
    marks = getattr(module, "pytestmark", [])
    marks = marks if isinstance(marks, list) else [marks]
    return [getattr(mark, "mark", mark) for mark in marks]


def _adopt_origin_markers(item):
    """Give a test imported into another module the ``pytestmark`` of the module defining it.

    ``exercises/test_graded.py`` star-imports every graded module, and with the tests it
    imports the ``pytestmark`` of whichever module came last. Those marks are dropped
    from the importing module, and each test gets the marks of its own module instead.
    """
    function = getattr(item, "function", None)
    collecting = item.getparent(pytest.Module)
    if function is None or collecting is None:
        return
    origin = sys.modules.get(function.__module__)
    if origin is None or origin is collecting.obj:
        return
    imported = _module_marks(collecting.obj)
    if any(mark.name in LAB_MARKERS or mark.name == "timeout" for mark in imported):
        collecting.own_markers[:] = [mark for mark in collecting.own_markers if mark not in imported]
    for mark in _module_marks(origin):
        # What item.add_marker does, for a Mark rather than a MarkDecorator.
        item.own_markers.append(mark)
        item.keywords[mark.name] = mark


def _user_timeout(config):
    """Return True when the run sets a timeout itself (``--timeout``, PYTEST_TIMEOUT, ini)."""
    option = config.getoption("timeout", default=None)
    try:
        ini = config.getini("timeout")
    except ValueError:  # pytest-timeout is not loaded
        ini = None
    return option is not None or bool(os.environ.get("PYTEST_TIMEOUT")) or bool(ini)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    for item in items:
        _adopt_origin_markers(item)
    graded = [item for item in items if is_graded(item)]
    user_timeout = _user_timeout(config)
    for item in graded:
        # `-k softmax` then selects every test of the softmax exercise.
        item.extra_keyword_matches.add(exercise_of(item))
        if item.get_closest_marker("timeout") is None and not user_timeout:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT, method="signal"))
    if graded:
        config.stash[RESULTS_KEY]["started"] = time.monotonic()


def pytest_deselected(items):
    graded = [item for item in items if is_graded(item)]
    if graded:
        graded[0].config.stash[RESULTS_KEY]["deselected"] += len(graded)


# The implementation under test ----------------------------------------------------------


def resolve_impl_spec(item):
    """Return the folder a graded test runs against: --impl, else the test file's folder."""
    option = item.config.getoption("lab_impl")
    if option:
        return option
    folder = Path(str(item.path)).parent
    if (folder / "activations.py").is_file():
        return str(folder)
    return "solutions"


@pytest.fixture
def impl(request):
    """Return the Implementation under test (see ``lab.implementation``), one per folder and run."""
    from ..implementation import load_implementation

    spec = resolve_impl_spec(request.node)
    loaded = request.config.stash[RESULTS_KEY]["implementations"]
    if spec not in loaded:
        loaded[spec] = load_implementation(spec)
    return loaded[spec]


# Classifying failures -------------------------------------------------------------------


def _timeout_seconds(item):
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return marker.args[0]
    if marker is not None and "timeout" in marker.kwargs:
        return marker.kwargs["timeout"]
    return item.config.getoption("timeout", default=None) or DEFAULT_TIMEOUT


def _implementation_folder(item):
    implementation = getattr(item, "funcargs", {}).get("impl")
    return getattr(implementation, "path", None)


def _student_frame(excinfo, item):
    """Return ``(path, line)`` of the deepest traceback frame in the student's code, or None.

    That is a frame inside the implementation folder when the test used one, otherwise
    any frame outside the lab package and the installed libraries.
    """
    folder = _implementation_folder(item)
    found = None
    traceback = excinfo.tb
    while traceback is not None:
        path = Path(traceback.tb_frame.f_code.co_filename)
        if path.suffix == ".py" and path.is_absolute():
            resolved = path.resolve()
            if folder is not None:
                inside = resolved.is_relative_to(Path(folder).resolve())
            else:
                inside = not resolved.is_relative_to(LAB_ROOT) and "site-packages" not in path.parts
            if inside:
                found = (resolved, traceback.tb_lineno)
        traceback = traceback.tb_next
    return found


def _describe_frame(frame):
    if frame is None:
        return ""
    path, line = frame
    code = linecache.getline(str(path), line).strip()
    return f" at {path}:{line}" + (f" (`{code}`)" if code else "")


def _clean_error_text(text):
    """Drop TensorFlow's runtime decorations from an error message and keep its first line."""
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text.strip())
    first_line = text.splitlines()[0] if text else ""
    first_line = re.sub(r"\s*name: ?$", "", first_line)
    return first_line[:400]


def _raised_by_student(excinfo, item):
    """Return True when the innermost frame of the exception lies in the student's folder."""
    folder = _implementation_folder(item)
    traceback = excinfo.tb
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    if traceback is None or folder is None:
        return False
    path = Path(traceback.tb_frame.f_code.co_filename)
    return path.is_absolute() and path.resolve().is_relative_to(Path(folder).resolve())


def _classify(call, item):
    """Return ``(status, message)`` for a failed graded test."""
    from ..implementation import ImplementationError
    from .checks import GradedFailure

    excinfo = call.excinfo
    error = excinfo.value
    text = str(error).strip()
    if excinfo.errisinstance(NotImplementedError) and _raised_by_student(excinfo, item):
        return "not started", f"not started: {text or 'a function raises NotImplementedError'}"
    if excinfo.errisinstance(ImplementationError):
        return "import error", text
    if excinfo.errisinstance(GradedFailure):
        return "failed", text
    if excinfo.errisinstance(pytest.fail.Exception) and text.startswith("Timeout"):
        return "timed out", (
            f"timed out after {_timeout_seconds(item)} s: look for a loop that never ends, or "
            f"work done once per element in Python instead of with TensorFlow ops"
        )
    if excinfo.errisinstance(AssertionError):
        return "failed", text or "assertion failed"
    where = _describe_frame(_student_frame(excinfo, item))
    return "failed", f"{type(error).__name__}{where}: {_clean_error_text(text)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not is_graded(item) or report.when == "teardown" and report.passed:
        return
    if report.when != "call" and not report.failed and not report.skipped:
        return
    exercise = exercise_of(item)
    if report.passed:
        status, message = "passed", ""
    elif report.skipped:
        status, message = "skipped", "skipped"
    else:
        status, message = _classify(call, item)
        hint = HINTS.get(exercise)
        text = f"{hint.render()}\n\n{message}" if hint else message
        if status == "failed" and not call.excinfo.errisinstance(AssertionError) \
                and item.config.option.tbstyle in ("long", "short", "native"):
            text = f"{text}\n\n{report.longrepr}"
        report.longrepr = text
    points = points_of(item)
    item.config.stash[RESULTS_KEY]["tests"][item.nodeid] = GradeResult(
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


# The terminal: feedback and score -------------------------------------------------------


def graded_results(config):
    """Return the GradeResult objects recorded so far, in test order."""
    return list(config.stash[RESULTS_KEY]["tests"].values())


def score_table(results):
    """Return ``(rows, total, max_total, bonus, max_bonus)`` grouped by exercise.

    Each row is ``(exercise, score, possible, not_started, is_bonus)``.
    """
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
    return (rows, sum(row[1] for row in core), sum(row[2] for row in core),
            sum(row[1] for row in bonus), sum(row[2] for row in bonus))


def _points_word(value):
    return f"{format_points(value)} point" if value == 1 else f"{format_points(value)} points"


def _compact(config):
    """Return True when graded failures are listed by the lab instead of by pytest."""
    return config.option.tbstyle == "auto"


def _graded_report(config, report):
    return report.nodeid in config.stash[RESULTS_KEY]["tests"]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Around pytest's own summary: take graded failures out of it, then add the lab's."""
    results = graded_results(config)
    hidden = {}
    if results and _compact(config):
        # pytest's FAILURES, ERRORS and short summary read these lists; the exit status
        # and the final "N failed" line are computed elsewhere and stay as they are.
        for category in ("failed", "error"):
            reports = terminalreporter.stats.get(category)
            if reports:
                hidden[category] = reports[:]
                reports[:] = [report for report in reports if not _graded_report(config, report)]
    try:
        return (yield)
    finally:
        for category, reports in hidden.items():
            terminalreporter.stats[category][:] = reports
        if results:
            if _compact(config) and not terminalreporter.no_summary:
                _write_feedback(terminalreporter, results)
            _write_score(terminalreporter, config, results)


def _indent(text, prefix):
    return "\n".join(prefix + line for line in text.splitlines())


def _by_exercise(results):
    """Return ``[(exercise, [GradeResult, ...]), ...]`` in the order of EXERCISES."""
    order = {name: index for index, name in enumerate(EXERCISES)}
    groups = {}
    for result in results:
        groups.setdefault(result.exercise, []).append(result)
    return sorted(groups.items(), key=lambda group: (order.get(group[0], len(order)), group[0]))


def _write_feedback(terminalreporter, results):
    """List the failed graded tests by exercise: the hint once, then each message.

    An exercise whose tests all fail with one message (not started, an import error)
    gets that message once instead of once per test.
    """
    if all(result.status == "passed" for result in results):
        return
    terminalreporter.ensure_newline()
    terminalreporter.section("lab feedback", sep="=")
    write = terminalreporter.write_line
    any_not_started = False
    for exercise, tests in _by_exercise(results):
        failed = [test for test in tests if test.status != "passed"]
        if not failed:
            continue
        if len(failed) == len(tests) and all(test.status == "not started" for test in tests):
            any_not_started = True
            write(f"{exercise}: {failed[0].message}")
            continue
        lost = sum(test.points for test in failed)
        possible = sum(test.points for test in tests)
        write(f"{exercise}: {len(failed)} of {len(tests)} tests failed, "
              f"{format_points(lost)} of {format_points(possible)} points lost")
        hint = HINTS.get(exercise)
        if hint is not None:
            write(_indent(hint.render(), "  "))
        if len(failed) > 1 and len({test.message for test in failed}) == 1:
            write(f"  FAILED {', '.join(test.name for test in failed)}")
            write(_indent(failed[0].message, "    "))
            continue
        for test in failed:
            write(f"  FAILED {test.name} ({_points_word(test.points)})")
            write(_indent(test.message, "    "))
    if any_not_started:
        write("python -m lab hint EXERCISE prints the hint for an exercise.")


def _write_score(terminalreporter, config, results):
    rows, total, max_total, bonus, max_bonus = score_table(results)
    lines = [(exercise, f"{format_points(score)}/{format_points(possible)}",
              "  not started" if not_started else "")
             for exercise, score, possible, not_started, is_bonus in rows if not is_bonus]
    lines.append(("total", f"{format_points(total)}/{format_points(max_total)}", ""))
    if max_bonus:
        bonus_rows = [row for row in rows if row[4]]
        note = "  not started" if all(row[3] for row in bonus_rows) else ""
        names = ", ".join(row[0] for row in bonus_rows)
        lines.append(("bonus", f"{format_points(bonus)}/{format_points(max_bonus)}", f"{note}  ({names})"))

    terminalreporter.ensure_newline()
    terminalreporter.section("lab score", sep="=")
    name_width = max(len(line[0]) for line in lines)
    score_width = max(len(line[1]) for line in lines)
    for name, score, note in lines:
        terminalreporter.write_line(f"{name:<{name_width}}  {score:>{score_width}}{note}")
    deselected = config.stash[RESULTS_KEY]["deselected"]
    if deselected:
        terminalreporter.write_line(
            f"{deselected} graded tests were not selected (-k, -m or a node id); the total "
            f"covers the {len(results)} that ran."
        )
    terminalreporter.write_line(
        "This score covers the public tests run on this machine; the final grade may "
        "include more tests."
    )


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("lab_results_json")
    if not path:
        return
    from .gradescope import write_results

    stash = session.config.stash[RESULTS_KEY]
    started = stash.get("started", time.monotonic())
    write_results(Path(path), graded_results(session.config), time.monotonic() - started)
