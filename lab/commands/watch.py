"""``python -m lab watch [EXERCISE]``: re-run an exercise's graded tests each time its file is saved.

The command polls the modification times of the exercise files every ``--interval``
seconds. When a file changes it waits until the file stops changing, then runs the graded
tests of every exercise that lives in that file, as a pytest subprocess, and prints the
score lines and the first failure. Nothing runs until a file changes. Ctrl-C stops it
with exit code 0.

The exercise files come from ``lab.hints``: each Hint names the file (or files) its
exercise is written in. This module is also a small pytest plugin: the subprocess loads it
with ``-p lab.commands.watch`` and its ``--lab-exercise`` option keeps only the graded
tests marked with those exercises.
"""

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..cli import UsageError
from .arguments import positive_seconds

# The watcher itself only reads files; TensorFlow is imported by the pytest subprocess.
USES_TENSORFLOW = False

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
GRADED_TESTS = Path(__file__).resolve().parent.parent / "graded"

# After a change, the files must stay unchanged this long before the tests run, so an
# editor that writes a file in several steps does not trigger a run on half a file.
SETTLE_SECONDS = 0.3
SETTLE_LIMIT_SECONDS = 5.0

# Seconds the pytest subprocess gets to exit after Ctrl-C before it is killed.
STOP_TIMEOUT = 5.0

# A score line of the graded suite's table, such as "softmax  4/6" or "total  9/20".
SCORE_LINE = re.compile(r"^\S+\s+\d+(\.\d+)?/\d+(\.\d+)?(\s|$)")


def add_parser(subparsers):
    from ..hints import EXERCISES

    parser = subparsers.add_parser(
        "watch",
        help="re-run an exercise's graded tests each time its file is saved",
        description="Watch the exercise files and, each time one is saved, run the graded "
        "tests of the exercises written in it, printing the score lines and the first "
        "failure. Nothing runs until a file changes. Stop with Ctrl-C.",
    )
    parser.add_argument("exercise", nargs="?", metavar="EXERCISE",
                        help=f"watch only this exercise: {', '.join(EXERCISES)} "
                        f"(default: every exercise)")
    parser.add_argument("--interval", type=positive_seconds, default=1.0, metavar="S",
                        help="seconds between two looks at the files' modification times "
                        "(default: 1)")
    parser.add_argument("--impl", default="exercises", metavar="exercises|solutions|DIR",
                        help="folder whose files are watched and graded (default: exercises)")
    parser.add_argument("--verbose", action="store_true",
                        help="print pytest's whole output after each run instead of the summary")
    return parser


# --- Which files, which exercises ------------------------------------------------------------


def exercise_files():
    """Return {exercise: [file names]} from the hints, in the score table's order."""
    from ..hints import EXERCISES, HINTS

    return {name: [part.strip() for part in HINTS[name].file.split(",")] for name in EXERCISES}


def exercises_for(changed_files, selected=None):
    """Return the exercises written in any of ``changed_files``, limited to ``selected``."""
    return [
        exercise for exercise, files in exercise_files().items()
        if (selected is None or exercise in selected) and set(files) & set(changed_files)
    ]


def watched_files(selected=None):
    """Return the file names to watch, sorted: those of ``selected`` or of every exercise."""
    files = set()
    for exercise, names in exercise_files().items():
        if selected is None or exercise in selected:
            files.update(names)
    return sorted(files)


def take_snapshot(folder, files):
    """Return {file: (mtime_ns, size)} for each file, None for a missing one."""
    snapshot = {}
    for name in files:
        try:
            status = (folder / name).stat()
        except FileNotFoundError:
            snapshot[name] = None
        else:
            snapshot[name] = (status.st_mtime_ns, status.st_size)
    return snapshot


def wait_until_stable(folder, files, latest):
    """Poll until two snapshots SETTLE_SECONDS apart agree, for SETTLE_LIMIT_SECONDS at most."""
    deadline = time.monotonic() + SETTLE_LIMIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(SETTLE_SECONDS)
        current = take_snapshot(folder, files)
        if current == latest:
            break
        latest = current
    return latest


# --- Running the graded tests ------------------------------------------------------------------


def build_pytest_command(folder, exercises, results_path):
    return [
        sys.executable, "-m", "pytest", str(GRADED_TESTS),
        "--impl", str(folder),
        "-p", "lab.commands.watch",
        *(f"--lab-exercise={exercise}" for exercise in exercises),
        "--results-json", str(results_path),
        "-p", "no:cacheprovider",
        "-q",
    ]


def run_graded(folder, exercises):
    """Run the graded tests of ``exercises`` on ``folder``; return (exit code, output, results).

    ``results`` is the parsed results.json the grading plugin writes, or None when pytest
    stopped before writing it. Ctrl-C stops the subprocess before it propagates.
    """
    with tempfile.TemporaryDirectory(prefix="lab-watch-") as scratch:
        results_path = Path(scratch) / "results.json"
        process = subprocess.Popen(
            build_pytest_command(folder, exercises, results_path), cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            output, _ = process.communicate()
        except KeyboardInterrupt:
            stop(process)
            raise
        try:
            results = json.loads(results_path.read_text())
        except (OSError, ValueError):
            results = None
    return process.returncode, output, results


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def score_lines(output):
    """Return the graded suite's score lines ("sigmoid  2/2", ..., "total  2/2") from pytest output."""
    lines = output.splitlines()
    for start, line in enumerate(lines):
        if "lab score" in line:
            break
    else:
        return []
    return [line for line in lines[start + 1:] if SCORE_LINE.match(line)]


def first_failure(results):
    """Return (test name, exercise, message without the hint) of the first failed test, or None."""
    from ..hints import HINTS

    for test in (results or {}).get("tests", []):
        if test.get("status") == "passed":
            continue
        message = test.get("output", "")
        hint = HINTS.get(test.get("number"))
        if hint is not None and message.startswith(hint.render()):
            message = message[len(hint.render()):].lstrip("\n")
        return test.get("name", "?"), test.get("number", "?"), message
    return None


def indent(text, prefix="    "):
    return "\n".join(prefix + line for line in text.splitlines())


def report(exit_code, output, results, exercises, seconds):
    """Print the score lines and the first failure of one run."""
    scores = score_lines(output)
    if exit_code == 5:  # pytest's exit code when no test was collected
        print(f"  no graded tests found for {', '.join(exercises)}")
        return
    if not scores:
        # pytest stopped before grading: a usage error, a crash or an internal error.
        tail = "\n".join(output.splitlines()[-15:])
        print(f"  pytest exited with code {exit_code} before the score table:")
        print(indent(tail))
        return
    for line in scores:
        print(f"  {line}")
    failure = first_failure(results)
    if failure is not None:
        name, exercise, message = failure
        print(f"  first failure: {name}")
        print(indent(message or "(no message)"))
        print(f"  hint: python -m lab hint {exercise}")
    print(f"  ({seconds:.1f} s)", flush=True)


# --- The loop ------------------------------------------------------------------------------------


def resolve_folder(spec):
    from ..implementation import ImplementationError, check_folder, resolve_path

    try:
        folder = resolve_path(spec)
        check_folder(folder)
    except ImplementationError as error:
        raise UsageError(str(error)) from None
    return folder


def run(args):
    from ..hints import EXERCISES

    if args.exercise is not None and args.exercise not in EXERCISES:
        raise UsageError(f"unknown exercise {args.exercise!r}; choose one of {', '.join(EXERCISES)}")
    selected = None if args.exercise is None else {args.exercise}
    folder = resolve_folder(args.impl)
    files = watched_files(selected)

    # Everything from the banner on sits inside the try, so Ctrl-C at any moment after
    # the banner exits 0.
    try:
        snapshot = take_snapshot(folder, files)
        missing = [name for name in files if snapshot[name] is None]
        if len(missing) == len(files):
            raise UsageError(
                f"--impl {folder} contains none of {', '.join(files)}; pass the folder of your "
                f"exercises (the default, exercises) or copy the files from exercises/ into it"
            )
        print(f"Watching {', '.join(files)} in {folder} every {args.interval:g} s; save a file to "
              f"run its graded tests, Ctrl-C to stop.", flush=True)
        if missing:
            print(f"  not there yet: {', '.join(missing)}", flush=True)

        while True:
            time.sleep(args.interval)
            current = take_snapshot(folder, files)
            if current == snapshot:
                continue
            current = wait_until_stable(folder, files, current)
            changed = [name for name in files if current[name] != snapshot[name]]
            snapshot = current
            exercises = exercises_for(changed, selected)
            if not exercises:
                continue
            print(f"\n[{time.strftime('%H:%M:%S')}] {', '.join(changed)} changed: running "
                  f"{', '.join(exercises)}", flush=True)
            started = time.monotonic()
            exit_code, output, results = run_graded(folder, exercises)
            if args.verbose:
                print(output, flush=True)
            else:
                report(exit_code, output, results, exercises, time.monotonic() - started)
    except KeyboardInterrupt:
        print("\nwatch stopped", file=sys.stderr)
        return 0


# --- pytest plugin: select tests by exercise -------------------------------------------------------
# pytest takes every module-level name starting with "pytest_" for a hook and rejects
# unknown ones, so only hooks may carry that prefix in this module.


def pytest_addoption(parser):
    parser.addoption("--lab-exercise", action="append", default=[], metavar="NAME",
                     help="run only the graded tests of this exercise (repeatable)")


def pytest_collection_modifyitems(config, items):
    wanted = set(config.getoption("--lab-exercise"))
    if not wanted:
        return
    kept, deselected = [], []
    for item in items:
        marker = item.get_closest_marker("exercise")
        exercise = marker.args[0] if marker and marker.args else None
        (kept if exercise in wanted else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
