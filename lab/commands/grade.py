"""``python -m lab grade``: grade many submissions and write Gradescope reports.

Each submission (a folder or a .zip file with activations.py, losses.py and model.py) is
copied into a scratch folder and graded in a pytest process of its own with the lab's
copy of the graded tests. See docs/grading.md for the files written and their formats.

Exit codes: 0 when every submission got a results.json (whatever its score), 1 when the
graded suite itself could not run or a report could not be written, 2 for bad options.
"""

import importlib.util
import os
import signal
import sys
from pathlib import Path

from ..cli import UsageError
from .arguments import positive_int, positive_seconds

DEFAULT_TIMEOUT = 300.0

# Names of the batch's own files in --out, which a submission folder must not shadow.
RESERVED_NAMES = {"gradebook.csv", "summary.json"}


def available_cpus():
    """Return the number of CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "grade",
        help="grade submission folders or .zip files and write Gradescope results.json reports",
        description="Grade each SUBMISSION (a folder or .zip file holding activations.py, "
        "losses.py and model.py) with the lab's graded tests, each in its own pytest "
        "process on a scratch copy. Writes OUT/<name>/results.json in the Gradescope "
        "format, OUT/gradebook.csv and OUT/summary.json.",
    )
    parser.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION",
                        help="a submission folder or .zip file; its name (the folder name "
                        "or the file name without .zip) names its report folder")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder for the reports, created if missing; reports of "
                        "earlier runs for the same names are replaced")
    parser.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                        help="submissions graded at the same time (default: the number of "
                        f"CPU cores, {available_cpus()} here)")
    parser.add_argument("--timeout", type=positive_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help="limit on one submission's whole test run, in seconds; a run "
                        "past it is killed and its unfinished tests score 0 (default: "
                        f"{DEFAULT_TIMEOUT:g}); each test also has its own limit")
    parser.add_argument("--extra-tests", type=Path, default=None, metavar="DIR",
                        help="a folder of the instructor's own graded test files (marked "
                        "with points and exercise like the lab's), graded with the lab's "
                        "tests; tests marked hidden are hidden from students")
    return parser


def check_requirements():
    missing = [name for name in ("pytest", "pytest_timeout") if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(
            f"grading needs {' and '.join(missing)}, which is not installed; install the "
            f"lab with its test extras: pip install -e '.[test]'"
        )


def build_submissions(paths):
    """Return the Submission list for the given paths, sorted by name, or raise UsageError."""
    from ..grading.batch import Submission
    from ..grading.submissions import is_archive, submission_name

    by_name = {}
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"submission not found: {path}")
        if not path.is_dir() and not is_archive(path):
            raise UsageError(f"submission {path} is neither a folder nor a .zip file")
        name = submission_name(path)
        if not name or name in (".", ".."):
            raise UsageError(f"submission {path} has no usable name; give its folder by name")
        if name in RESERVED_NAMES:
            raise UsageError(f"submission {path} is named {name}, which --out uses for its own file; rename it")
        if name in by_name:
            raise UsageError(
                f"submissions {by_name[name].path} and {path} are both named {name!r}, and each "
                f"name gets one report folder; rename one of them"
            )
        by_name[name] = Submission(name=name, path=path)
    return [by_name[name] for name in sorted(by_name)]


def check_out_folder(out, submissions):
    """Reject an --out that is a file or overlaps a submission; create it otherwise."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder for the reports")
    resolved = out.resolve()
    for submission in submissions:
        source = submission.path.resolve()
        report_folder = resolved / submission.name
        if source.is_dir() and (resolved.is_relative_to(source) or source.is_relative_to(report_folder)):
            raise UsageError(
                f"--out {out} overlaps submission {submission.path}; reports would be written "
                f"into it, so choose a folder outside the submissions"
            )
        if report_folder.exists() and not report_folder.is_dir():
            raise UsageError(f"{report_folder} is a file, but the report of {submission.name} goes there; move it")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"could not create --out {out}: {error.strerror}") from None


def check_extra_tests(folder):
    if folder is None:
        return
    if folder.is_file() and folder.suffix.lower() == ".zip":
        raise UsageError(
            f"--extra-tests {folder} is a zip file, not a folder; unzip it and give the "
            f"folder that contains the test files"
        )
    if not folder.is_dir():
        raise UsageError(f"--extra-tests {folder} is not a folder; give the folder holding the test files")
    test_files = [path for pattern in ("test_*.py", "*_test.py") for path in folder.rglob(pattern)]
    if not test_files:
        raise UsageError(f"--extra-tests {folder} contains no test_*.py or *_test.py file")


def format_progress(report, position, total):
    """Return the progress line of one finished submission."""
    from ..grading import format_points

    max_score = sum(result.points for result in report.results if not result.bonus)
    bonus = f" (+{format_points(report.bonus)} bonus)" if report.bonus else ""
    note = f": {report.note}" if report.status != "graded" and report.note else ""
    width = len(str(total))
    return (
        f"[{position:>{width}}/{total}] {report.name}  "
        f"{format_points(report.score)}/{format_points(max_score)}{bonus}  "
        f"{report.execution_time:.1f} s  {report.status}{note}"
    )


def format_summary(result, summary, jobs, out):
    """Return the closing lines: counts by status, mean score, hardest tests, files written."""
    from ..grading import format_points
    from ..grading.reports import hardest_tests

    statuses = ", ".join(f"{count} {status}" for status, count in summary["statuses"].items())
    lines = [
        f"Graded {_count(summary['submissions'], 'submission')} "
        f"in {result.duration:.1f} s with {_count(jobs, 'job')}: {statuses}.",
        f"Mean score {format_points(summary['mean_score'])}/"
        f"{format_points(summary['max_score'])}.",
    ]
    hardest = [f"{test['name']} {test['pass_rate']:.0%}" for test in hardest_tests(summary)
               if test["pass_rate"] < 1.0]
    if hardest:
        lines.append(f"Lowest pass rates: {', '.join(hardest)}.")
    lines.append(f"Reports written to {out}: gradebook.csv, summary.json, <name>/results.json.")
    return "\n".join(lines)


def run(args):
    from ..grading.batch import BatchOptions, ExtraTestsError, SuiteError, grade_batch
    from ..grading.reports import summary_payload

    check_requirements()
    submissions = build_submissions(args.submissions)
    check_out_folder(args.out, submissions)
    extra_tests = args.extra_tests.resolve() if args.extra_tests is not None else None
    check_extra_tests(extra_tests)
    cpus = available_cpus()
    jobs = args.jobs if args.jobs is not None else cpus
    options = BatchOptions(out=args.out, jobs=jobs, timeout=args.timeout, extra_tests=extra_tests)

    jobs_used = min(jobs, len(submissions))

    def on_finished(report, position, total):
        print(format_progress(report, position, total), flush=True)

    print(f"Grading {_count(len(submissions), 'submission')} with {_count(jobs_used, 'job')}, "
          f"timeout {args.timeout:g} s each", flush=True)
    # The test runs live in sessions of their own, so a SIGTERM sent to the grader does not
    # reach them. Turned into an interrupt, it makes the batch kill them before it exits.
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    try:
        result = grade_batch(submissions, options, progress=on_finished, cpus=cpus)
    except ExtraTestsError as error:
        raise UsageError(str(error)) from None
    except SuiteError as error:
        print(f"python -m lab grade: error: {error}; every submission's results.json reports it",
              file=sys.stderr)
        return 1
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        print(f"python -m lab grade: error: could not write{where}: {error.strerror or error}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
    summary = summary_payload(result.reports, result.tests)
    print(format_summary(result, summary, jobs_used, args.out))
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _count(number, noun):
    return f"{number} {noun}{'' if number == 1 else 's'}"
