"""Grade many submissions, each in its own pytest process, and write their reports.

The steps of ``python -m lab grade``:

1. ``collect_graded_tests`` runs ``pytest --collect-only`` once on the lab's graded
   suite (plus the instructor's extra tests) and keeps the list of graded tests with
   their points. A submission whose run crashes still gets a line per test from it.
2. ``grade_submission`` copies one submission's three modules into a fresh scratch
   folder, runs the suite against the copy with a whole-run timeout, and merges the
   run's journal with the list of tests. A test that did not finish scores 0, and its
   output states why.
3. ``grade_batch`` does step 2 for every submission, ``jobs`` at a time, writes
   ``OUT/<name>/results.json`` as each one finishes, then the gradebook and summary
   (see ``lab.grading.reports``).
"""

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from . import format_points
from .gradescope import write_results, write_text_atomically
from .plugin import GradeResult
from .runner import ProcessRegistry, make_layout, remove_layout, run_pytest, signal_name
from .submissions import COPIED_FILES, SubmissionError, copy_submission

# Run statuses, as the gradebook's status column shows them.
GRADED = "graded"  # the test run finished; scores may still be low
TIMED_OUT = "timed out"  # the whole run passed --timeout and was killed
CRASHED = "crashed"  # the run ended before pytest finished: os._exit, a signal, ...
INVALID = "invalid"  # the submission could not be copied: missing file, zip bomb, ...
ERROR = "error"  # the graded suite itself could not run; nothing was graded

OUTPUT_FILE = "pytest-output.txt"
RESULTS_FILE = "results.json"

# Lines of a crashed run's output quoted in its report.
CRASH_OUTPUT_LINES = 15



class SuiteError(Exception):
    """The graded suite could not be collected, so no submission can be graded."""


class ExtraTestsError(SuiteError):
    """The instructor's extra tests could not be collected, or hold no graded test."""


@dataclass(frozen=True)
class GradedTest:
    """One graded test as collection found it."""

    nodeid: str
    name: str
    exercise: str
    points: float
    hidden: bool
    bonus: bool


@dataclass(frozen=True)
class Submission:
    """A submission to grade: its report name and its folder or .zip file."""

    name: str
    path: Path


@dataclass(frozen=True)
class BatchOptions:
    out: Path
    jobs: int
    timeout: float
    extra_tests: Path | None = None


@dataclass
class SubmissionReport:
    """The graded outcome of one submission, as its results.json and gradebook row show it."""

    name: str
    status: str
    note: str
    results: list
    execution_time: float
    output: str
    run_output: str | None = None  # the child's stdout and stderr, None when nothing ran

    @property
    def score(self):
        """Points from the core tests: the gradebook's total."""
        return sum(result.score for result in self.results if not result.bonus)

    @property
    def bonus(self):
        return sum(result.score for result in self.results if result.bonus)


@dataclass
class BatchResult:
    tests: list
    reports: list = field(default_factory=list)
    duration: float = 0.0


# -- collection ----------------------------------------------------------------------


def collect_graded_tests(options, registry=None):
    """Return the GradedTest list of the graded suite plus ``options.extra_tests``.

    Raises ExtraTestsError when an extra test file fails to collect or none of them is
    graded, and SuiteError when the lab's own suite cannot be collected.
    """
    layout = make_layout(options.extra_tests)
    manifest_path = layout.root / "manifest.json"
    try:
        outcome = run_pytest(
            layout, extra_tests=options.extra_tests is not None,
            arguments=["--collect-only", "--lab-manifest", str(manifest_path)],
            timeout=options.timeout, registry=registry,
        )
        manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else None
    finally:
        remove_layout(layout)
    if manifest is None:
        raise SuiteError(f"collecting the graded tests {_describe_failed_run(outcome, options.timeout)}")
    for error in manifest["errors"]:
        message = _last_error_line(error["message"])
        if error["nodeid"].startswith("extra_tests"):
            shown = error["nodeid"].removeprefix("extra_tests/")
            raise ExtraTestsError(f"--extra-tests {options.extra_tests}: {shown} could not be collected: {message}")
        raise SuiteError(f"the graded test file {error['nodeid']} could not be collected: {message}")
    tests = [GradedTest(**test) for test in manifest["tests"]]
    if options.extra_tests is not None and not any(_is_extra(test) for test in tests):
        raise ExtraTestsError(
            f"--extra-tests {options.extra_tests} contains no graded test; mark each test "
            f"with @pytest.mark.points(n) and @pytest.mark.exercise(name)"
        )
    if not tests:
        raise SuiteError("no graded tests were collected from the lab.graded package")
    return tests


def _is_extra(test):
    return test.nodeid.startswith("extra_tests/")


def _describe_failed_run(outcome, timeout):
    if outcome.timed_out:
        return f"timed out after {timeout:g} s"
    lines = [line for line in outcome.output.splitlines() if line.strip()]
    last = f": {lines[-1].strip()}" if lines else ""
    return f"failed ({_exit_description(outcome.returncode)}){last}"


def _last_error_line(text):
    lines = [line for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E ")]
    chosen = (errors or lines or ["unknown error"])[-1]
    return chosen.removeprefix("E").strip()


def _exit_description(returncode):
    if returncode is not None and returncode < 0:
        return f"killed by {signal_name(returncode)}"
    return f"exit code {returncode}"


# -- one submission --------------------------------------------------------------------


def grade_submission(submission, tests, options, *, threads=None, registry=None):
    """Copy, run and report one submission; return its SubmissionReport.

    Writes nothing to ``options.out``; ``write_submission_files`` does.
    """
    layout = make_layout(options.extra_tests)
    try:
        try:
            copied = copy_submission(submission.path, layout.submission)
        except SubmissionError as error:
            return invalid_report(submission.name, tests, str(error), INVALID)
        outcome = run_pytest(
            layout, extra_tests=options.extra_tests is not None,
            arguments=["--impl", str(layout.submission)],
            timeout=options.timeout, threads=threads, registry=registry,
        )
        prefixes = _scratch_prefixes(layout)
        return report_from_outcome(submission.name, tests, outcome, options.timeout,
                                   ignored=copied.ignored, prefixes=prefixes)
    finally:
        remove_layout(layout)


def _scratch_prefixes(layout):
    """Return the scratch paths to cut from messages, longest first, in both spellings."""
    prefixes = set()
    for folder in (layout.submission, layout.root):
        for spelling in (folder, folder.resolve()):
            prefixes.add(f"{spelling}{os.sep}")
    return sorted(prefixes, key=len, reverse=True)


def _strip_prefixes(text, prefixes):
    for prefix in prefixes:
        text = text.replace(prefix, "")
    return text


def report_from_outcome(name, tests, outcome, timeout, *, ignored=(), prefixes=()):
    """Merge a run's journal with the collected tests into a SubmissionReport."""
    recorded, running = _read_events(outcome.events)
    if outcome.finished:
        status, cause = GRADED, None
    elif outcome.timed_out:
        status, cause = TIMED_OUT, f"timed out after {timeout:g} s"
    elif outcome.returncode is not None and outcome.returncode < 0:
        status, cause = CRASHED, f"was killed by {signal_name(outcome.returncode)}"
    else:
        status, cause = CRASHED, f"exited early with code {outcome.returncode}"
    running_name = next((test.name for test in tests if test.nodeid == running), None)

    results = []
    for test in tests:
        event = recorded.get(test.nodeid)
        if event is not None:
            result = _result_from_event(test, event)
            result.message = _strip_prefixes(result.message, prefixes)
        elif status == GRADED:
            result = _zero(test, "not run", "not run: pytest reported no result for this test")
        elif test.nodeid == running:
            result = _zero(test, status, _running_message(status, cause, timeout))
        else:
            when = f"during {running_name}" if running_name else "before this test started"
            result = _zero(test, "not run", f"not run: the test run {cause} {when}")
        results.append(result)

    note = _note(status, cause, running_name, results)
    output = _student_output(status, cause, running_name, results, ignored, outcome, prefixes)
    return SubmissionReport(
        name=name, status=status, note=note, results=results,
        execution_time=outcome.duration, output=output,
        run_output=_strip_prefixes(outcome.output, prefixes),
    )


def _read_events(events):
    """Return ``({nodeid: result event}, nodeid of the test running at the end or None)``."""
    recorded = {}
    running = None
    for event in events:
        kind = event.get("event")
        if kind == "start":
            running = event.get("nodeid")
        elif kind == "result" and "nodeid" in event:
            recorded[event["nodeid"]] = event
            if running == event["nodeid"]:
                running = None
    return recorded, running


def _running_message(status, cause, timeout):
    if status == TIMED_OUT:
        return (
            f"timed out after {timeout:g} s: the whole test run was stopped while this test "
            f"was running; look for a loop that never ends"
        )
    return (
        f"the test process {cause} while this test was running, so the run stopped; look "
        f"for os._exit or other code that ends the interpreter"
    )


def _result_from_event(test, event):
    """Return the GradeResult of a journal event, trusting only its status and message.

    The journal is written by the submission's own process, which the submission's code
    can write to. So the points, exercise and flags come from the lab's collected test,
    and a test scores its points only when its status is "passed".
    """
    status = str(event.get("status", "failed"))
    return GradeResult(
        nodeid=test.nodeid, name=test.name, exercise=test.exercise, points=test.points,
        score=test.points if status == "passed" else 0.0, status=status,
        message=str(event.get("message", "")), hidden=test.hidden, bonus=test.bonus,
    )


def _zero(test, status, message):
    return GradeResult(
        nodeid=test.nodeid, name=test.name, exercise=test.exercise, points=test.points,
        score=0.0, status=status, message=message, hidden=test.hidden, bonus=test.bonus,
    )


def _note(status, cause, running_name, results):
    """Return the gradebook's one-line note on a run."""
    if status != GRADED:
        return f"{cause} during {running_name}" if running_name else f"{cause} before any test started"
    import_errors = [result.message for result in results if result.status == "import error"]
    return import_errors[0].splitlines()[0] if import_errors else ""


def _student_output(status, cause, running_name, results, ignored, outcome, prefixes):
    """Return the results.json top-level output: the score, what went wrong, what was ignored."""
    paragraphs = [_score_line(results)]
    during = f" while {running_name} was running" if running_name else " before any test started"
    if status == TIMED_OUT:
        paragraphs.append(
            f"The test run {cause}{during} and was stopped. Tests that had not finished "
            f"score 0. Look for a loop that never ends."
        )
    elif status == CRASHED:
        tail = _strip_prefixes("\n".join(outcome.output.splitlines()[-CRASH_OUTPUT_LINES:]), prefixes)
        paragraphs.append(
            f"The test process {cause}{during}, so the run stopped. Tests that had not "
            f"finished score 0. Look for os._exit or other code that ends the interpreter.\n"
            f"Last lines of the test run's output:\n{tail}"
        )
    if ignored:
        paragraphs.append(_ignored_line(ignored))
    return "\n\n".join(paragraphs)


def _score_line(results):
    core = [result for result in results if not result.bonus]
    bonus = [result for result in results if result.bonus]
    line = f"Score: {_fraction(core)}"
    if bonus:
        line += f", bonus {_fraction(bonus)}"
    return line + "."


def _fraction(results):
    """Return ``"score/points"`` summed over ``results``."""
    return f"{format_points(sum(r.score for r in results))}/{format_points(sum(r.points for r in results))}"


def _ignored_line(ignored, limit=10):
    shown = ", ".join(ignored[:limit])
    more = f" and {len(ignored) - limit} more" if len(ignored) > limit else ""
    return (
        f"Only the exercise modules ({', '.join(COPIED_FILES[:-1])} and {COPIED_FILES[-1]}) are "
        f"graded; these other entries were ignored: "
        f"{shown}{more}."
    )


def invalid_report(name, tests, reason, status):
    """Return the report of a submission that was not run: every test scores 0."""
    results = [_zero(test, "not run", f"not run: {reason}") for test in tests]
    closing = "tell your instructor" if status == ERROR else "fix the submission and submit it again"
    output = f"{_score_line(results)}\n\nNothing was graded: {reason}. Every test scores 0; {closing}."
    return SubmissionReport(name=name, status=status, note=reason, results=results,
                            execution_time=0.0, output=output)


def write_submission_files(out, report):
    """Write ``OUT/<name>/results.json`` and the run's output, replacing older ones."""
    folder = Path(out) / report.name
    write_results(folder / RESULTS_FILE, report.results, report.execution_time, report.output)
    output_path = folder / OUTPUT_FILE
    if report.run_output is None:
        output_path.unlink(missing_ok=True)
    else:
        write_text_atomically(output_path, report.run_output)


# -- the batch ---------------------------------------------------------------------------


def threads_per_run(jobs, cpus):
    """Return the thread cap for each run, or None to leave TensorFlow's default (one job)."""
    return None if jobs <= 1 else max(1, cpus // jobs)


def grade_batch(submissions, options, progress=None, cpus=None):
    """Grade ``submissions`` and write every report under ``options.out``; return a BatchResult.

    ``progress`` is called with each finished SubmissionReport, its position and the
    batch size. When the graded suite cannot be collected, every submission gets an
    ``error`` report, and SuiteError is raised after they are written. ExtraTestsError
    is raised before anything is written.
    """
    from .reports import write_gradebook, write_summary

    started = time.monotonic()
    registry = ProcessRegistry()
    try:
        tests = collect_graded_tests(options, registry)
    except ExtraTestsError:
        raise
    except SuiteError as error:
        reports = [invalid_report(sub.name, [], str(error), ERROR) for sub in submissions]
        for report in reports:
            write_submission_files(options.out, report)
        write_gradebook(options.out, reports, [])
        write_summary(options.out, reports, [])
        raise

    jobs = max(1, min(options.jobs, len(submissions)))
    threads = threads_per_run(jobs, cpus or os.cpu_count() or 1)
    result = BatchResult(tests=tests)

    def grade_and_write(submission):
        if registry.cancelled.is_set():
            return None
        report = grade_submission(submission, tests, options, threads=threads, registry=registry)
        if registry.cancelled.is_set():
            return None  # killed by an interrupt, so its outcome tells nothing about the code
        write_submission_files(options.out, report)
        return report

    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="lab-grade")
    try:
        futures = [pool.submit(grade_and_write, submission) for submission in submissions]
        for position, future in enumerate(as_completed(futures), start=1):
            report = future.result()
            result.reports.append(report)
            if progress is not None:
                progress(report, position, len(submissions))
    except BaseException:
        registry.kill_all()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)

    result.reports.sort(key=lambda report: report.name)
    write_gradebook(options.out, result.reports, tests)
    write_summary(options.out, result.reports, tests)
    result.duration = time.monotonic() - started
    return result
