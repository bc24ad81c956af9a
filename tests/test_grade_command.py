"""``python -m lab grade`` end to end, on submissions these tests write.

Each graded submission is a pytest process that imports TensorFlow, so one batch grades
every kind of submission at once. It holds a correct one, stubs, a syntax error, an
endless loop, ``os._exit`` at import and inside a function, a folder carrying its own
conftest.py and test file, a wrong loss, code that deletes files, a zip, and five
submissions that are rejected before they run. The expected scores of the submissions whose run finishes come
from the lab's own plugin, run directly on the same folder
(``pytest --pyargs lab.graded --impl FOLDER --results-json FILE``).
"""

import csv
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from lab import graded
from lab.commands.grade import format_progress, format_summary
from lab.grading import format_points
from lab.grading.batch import CRASHED, GRADED, TIMED_OUT, GradedTest, report_from_outcome
from lab.grading.reports import gradebook_text, summary_payload
from lab.grading.runner import RunOutcome
from lab.grading.submissions import COPIED_FILES, SubmissionError, copy_submission, submission_name

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = PROJECT_ROOT / "solutions"
EXERCISES = PROJECT_ROOT / "exercises"

# The endless-loop submission is stopped by the whole-run timeout, which must exceed the
# run time of a normal submission: about 25 s with two jobs on a loaded two-core machine.
# The loop's run starts third of ten, so the other worker grades the rest meanwhile.
LOOP_TIMEOUT = 90

VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
TOP_LEVEL_FIELDS = {"score", "max_score", "execution_time", "output", "visibility",
                    "stdout_visibility", "extra_data", "tests", "leaderboard",
                    "output_format", "test_output_format", "test_name_format"}
TEST_FIELDS = {"score", "max_score", "status", "name", "name_format", "number", "output",
               "output_format", "tags", "visibility", "extra_data"}

EXTRA_TESTS = '''
import math

import numpy as np
import pytest
import tensorflow as tf

pytestmark = pytest.mark.exercise("instructor")


@pytest.mark.points(1)
def test_instructor_softmax_columns(impl):
    probs = impl.softmax(tf.constant([[1.0, 2.0], [3.0, 4.0], [0.0, -1.0]]))
    np.testing.assert_allclose(np.sum(probs, axis=0), [1.0, 1.0], atol=1e-6)


@pytest.mark.points(2)
@pytest.mark.hidden
def test_instructor_loss_is_a_mean(impl):
    probs = tf.fill((10, 4), 0.1)
    loss = impl.loss(tf.constant([0, 1, 2, 3]), probs)
    assert abs(float(loss) - math.log(10.0)) < 1e-5
'''
EXTRA_POINTS = {"test_instructor_softmax_columns": 1.0, "test_instructor_loss_is_a_mean": 2.0}

CHEAT_CONFTEST = '''
import pathlib

import pytest

pathlib.Path({marker!r}).write_text("the submission's conftest.py ran")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
'''
CHEAT_TEST = '''
import pathlib

import pytest


@pytest.mark.points(1000)
@pytest.mark.exercise("sigmoid")
def test_cheat_full_marks():
    pathlib.Path({marker!r}).write_text("the submission's test file ran")
'''

DELETER_HEADER = '''
import shutil
from pathlib import Path

_here = Path(__file__).resolve().parent
for _target in (_here.parent / "sentinel.txt", Path.cwd() / "sentinel.txt",
                Path.cwd().parent / "sentinel.txt", Path("..") / "sentinel.txt"):
    try:
        _target.unlink()
    except OSError:
        pass
shutil.rmtree(_here.parent / "all_correct", ignore_errors=True)
'''

# The gradebook's status column for each submission, and the words each invalid report must contain.
EXPECTED_STATUS = {
    "all_correct": GRADED, "all_stubs": GRADED, "cheat": GRADED, "deleter": GRADED,
    "busy_loop": TIMED_OUT, "exit_at_import": CRASHED, "exit_in_predict": CRASHED,
    "loss_sum": GRADED, "syntax_error": GRADED, "zip_correct": GRADED,
    "empty": "invalid", "missing_model": "invalid", "symlink_outside": "invalid",
    "zip_bomb": "invalid", "zip_traversal": "invalid",
}
INVALID_REASONS = {
    "empty": "the submission folder is empty",
    "missing_model": "missing model.py",
    "symlink_outside": "symbolic link",
    "zip_bomb": "zip bomb",
    "zip_traversal": "points outside the archive",
}


# -- helpers --------------------------------------------------------------------------


def run_grade(*args, cwd=None, timeout=1200):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "lab", "grade", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env,
    )


def copy_folder(source, destination):
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


def edit(path, old, new):
    """Replace ``old`` by ``new`` in ``path``; fail if ``old`` is not there (the source changed)."""
    text = path.read_text()
    assert old in text, f"{old!r} not found in {path}; update the test's edit"
    path.write_text(text.replace(old, new, 1))


def snapshot(folder):
    """Return ``{relative path: sha256}`` of every file and link below ``folder``."""
    state = {}
    for path in sorted(folder.rglob("*")):
        relative = str(path.relative_to(folder))
        if path.is_symlink():
            state[relative] = f"link to {os.readlink(path)}"
        elif path.is_file():
            state[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def zip_folder(source, archive, prefix, extra=()):
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(source.glob("*.py")):
            bundle.write(path, f"{prefix}{path.name}")
        for name, data in extra:
            bundle.writestr(name, data)
    return archive


def write_submissions(root, marker):
    """Write every submission of the batch under ``root``; return their paths by name."""
    subs = {}
    subs["all_correct"] = copy_folder(SOLUTIONS, root / "all_correct")
    subs["all_stubs"] = copy_folder(EXERCISES, root / "all_stubs")

    subs["syntax_error"] = copy_folder(SOLUTIONS, root / "syntax_error")
    activations = subs["syntax_error"] / "activations.py"
    activations.write_text("def broken(:\n" + activations.read_text())

    subs["busy_loop"] = copy_folder(SOLUTIONS, root / "busy_loop")
    with open(subs["busy_loop"] / "activations.py", "a") as file:
        file.write("\n\ndef softmax(logits):\n    while True:\n        pass\n")

    subs["exit_at_import"] = copy_folder(SOLUTIONS, root / "exit_at_import")
    activations = subs["exit_at_import"] / "activations.py"
    activations.write_text("import os\nos._exit(0)\n" + activations.read_text())

    # The experiment's tests are the first to call predict, after the loss's tests.
    subs["exit_in_predict"] = copy_folder(SOLUTIONS, root / "exit_in_predict")
    with open(subs["exit_in_predict"] / "model.py", "a") as file:
        file.write("\n\ndef _exit_instead(self, x):\n    import os\n    os._exit(3)\n\n\n"
                   "MultiClassLogisticRegression.predict = _exit_instead\n")

    subs["cheat"] = copy_folder(EXERCISES, root / "cheat")
    (subs["cheat"] / "conftest.py").write_text(CHEAT_CONFTEST.format(marker=str(marker)))
    (subs["cheat"] / "test_cheat.py").write_text(CHEAT_TEST.format(marker=str(marker)))
    (subs["cheat"] / "pytest.ini").write_text("[pytest]\naddopts = -p no:lab\n")

    subs["loss_sum"] = copy_folder(SOLUTIONS, root / "loss_sum")
    edit(subs["loss_sum"] / "losses.py", "return tf.reduce_mean(per_example)",
         "return tf.reduce_sum(per_example)")

    subs["deleter"] = copy_folder(SOLUTIONS, root / "deleter")
    activations = subs["deleter"] / "activations.py"
    activations.write_text(DELETER_HEADER + activations.read_text())

    subs["zip_correct"] = zip_folder(SOLUTIONS, root / "zip_correct.zip", "exercises/")
    subs["zip_bomb"] = zip_folder(SOLUTIONS, root / "zip_bomb.zip", "",
                                  extra=[("weights.bin", bytes(20 * 1024 * 1024))])
    subs["zip_traversal"] = zip_folder(SOLUTIONS, root / "zip_traversal.zip", "",
                                       extra=[("../escape.py", "print('escaped')\n")])

    subs["empty"] = root / "empty"
    subs["empty"].mkdir()
    subs["missing_model"] = copy_folder(SOLUTIONS, root / "missing_model")
    (subs["missing_model"] / "model.py").unlink()

    outside = root.parent / "outside"
    outside.mkdir()
    shutil.copy(SOLUTIONS / "activations.py", outside / "activations.py")
    subs["symlink_outside"] = copy_folder(SOLUTIONS, root / "symlink_outside")
    (subs["symlink_outside"] / "activations.py").unlink()
    (subs["symlink_outside"] / "activations.py").symlink_to(outside / "activations.py")
    return subs


def direct_results(folder, destination):
    """Start the lab's plugin on ``folder`` without the batch grader; return the process."""
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs", *graded.MODULES,
         "--impl", str(folder), "--results-json", str(destination)],
        cwd=destination.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def by_name(payload):
    return {test["name"]: test for test in payload["tests"]}


def lab_tests(payload):
    """The results.json tests of the lab's own suite, without the instructor's extra tests."""
    return [test for test in payload["tests"] if not test["extra_data"]["nodeid"].startswith("extra_tests/")]


# -- the batch --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Grade every submission in one call; return what the tests need to check it."""
    base = tmp_path_factory.mktemp("grade")
    subs_root = base / "subs"
    subs_root.mkdir()
    marker = base / "cheat-ran.txt"
    subs = write_submissions(subs_root, marker)
    sentinel = subs_root / "sentinel.txt"
    sentinel.write_text("must survive grading\n")
    extra = base / "instructor"
    extra.mkdir()
    (extra / "test_instructor.py").write_text(EXTRA_TESTS)
    before = snapshot(subs_root)

    reference_folder = base / "reference"
    reference_folder.mkdir()
    references = {name: reference_folder / f"{name}.json"
                  for name in ("all_correct", "loss_sum", "syntax_error")}
    processes = [direct_results(subs[name], path) for name, path in references.items()]
    for process in processes:
        process.wait(timeout=600)

    out = base / "out"
    completed = run_grade(*[subs[name] for name in sorted(subs)], "--out", out, "--jobs", 2,
                          "--timeout", LOOP_TIMEOUT, "--extra-tests", extra)
    results = {}
    for name in subs:
        path = out / name / "results.json"
        results[name] = json.loads(path.read_text()) if path.is_file() else None
    gradebook_path = out / "gradebook.csv"
    gradebook = list(csv.DictReader(gradebook_path.open())) if gradebook_path.is_file() else []
    return {
        "base": base, "subs": subs, "subs_root": subs_root, "before": before, "marker": marker,
        "sentinel": sentinel, "extra": extra, "out": out, "completed": completed,
        "results": results, "gradebook": gradebook,
        "references": {name: json.loads(path.read_text()) for name, path in references.items()},
    }


def test_grade_batch_exits_zero(batch):
    assert batch["completed"].returncode == 0, batch["completed"].stderr


def test_grade_batch_stderr_has_no_error(batch):
    stderr = batch["completed"].stderr
    assert "Traceback" not in stderr
    assert "error:" not in stderr


def test_grade_progress_one_line_per_submission(batch):
    lines = batch["completed"].stdout.splitlines()
    for name in batch["subs"]:
        matching = [line for line in lines if f"] {name}  " in line]
        assert len(matching) == 1, f"{name}: {matching}"


def test_grade_summary_line_counts_statuses(batch):
    stdout = batch["completed"].stdout
    assert f"Graded {len(batch['subs'])} submissions in " in stdout
    assert "5 invalid" in stdout
    assert "2 crashed" in stdout
    assert "1 timed out" in stdout


def test_grade_writes_results_for_every_submission(batch):
    missing = [name for name, payload in batch["results"].items() if payload is None]
    assert missing == []


def test_grade_reference_runs_have_unique_names(batch):
    for payload in batch["references"].values():
        names = [test["name"] for test in payload["tests"]]
        assert len(names) == len(set(names))


@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
def test_grade_results_top_level_fields(batch, name):
    payload = batch["results"][name]
    tests = payload["tests"]
    assert payload["score"] == pytest.approx(sum(test["score"] for test in tests), abs=1e-9)
    core = [test for test in tests if not test["extra_data"]["bonus"]]
    assert payload["max_score"] == pytest.approx(sum(test["max_score"] for test in core), abs=1e-9)
    assert payload["output"].startswith("Score: ")
    if EXPECTED_STATUS[name] == "invalid":
        assert payload["execution_time"] == 0
    else:
        assert payload["execution_time"] > 0


@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
def test_grade_results_list_every_graded_test(batch, name):
    reference = batch["references"]["all_correct"]
    expected = [test["name"] for test in reference["tests"]] + list(EXTRA_POINTS)
    assert [test["name"] for test in batch["results"][name]["tests"]] == expected


@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
def test_grade_results_test_fields(batch, name):
    reference = by_name(batch["references"]["all_correct"])
    for test in batch["results"][name]["tests"]:
        if test["name"] in EXTRA_POINTS:
            assert test["number"] == "instructor"
            assert test["max_score"] == EXTRA_POINTS[test["name"]]
            hidden = test["name"] == "test_instructor_loss_is_a_mean"
            assert test["visibility"] == ("hidden" if hidden else "visible")
        else:
            assert test["number"] == reference[test["name"]]["number"]
            assert test["max_score"] == reference[test["name"]]["max_score"]
            assert test["visibility"] == reference[test["name"]]["visibility"]
        assert test["status"] == ("passed" if test["extra_data"]["status"] == "passed" else "failed")
        assert test["score"] == (test["max_score"] if test["status"] == "passed" else 0)


@pytest.mark.parametrize("name", ["all_correct", "loss_sum", "syntax_error"])
def test_grade_matches_direct_run(batch, name):
    reference = by_name(batch["references"][name])
    for test in lab_tests(batch["results"][name]):
        expected = reference[test["name"]]
        assert (test["name"], test["score"], test["extra_data"]["status"]) == (
            test["name"], expected["score"], expected["extra_data"]["status"])


def test_grade_correct_passes_everything(batch):
    payload = batch["results"]["all_correct"]
    failed = [test["name"] for test in payload["tests"] if test["status"] != "passed"]
    assert failed == []
    assert payload["score"] >= payload["max_score"]


def test_grade_zip_matches_folder(batch):
    folder = [(t["name"], t["score"], t["status"]) for t in batch["results"]["all_correct"]["tests"]]
    archive = [(t["name"], t["score"], t["status"]) for t in batch["results"]["zip_correct"]["tests"]]
    assert archive == folder


def test_grade_deleter_still_graded_in_full(batch):
    folder = [(t["name"], t["score"]) for t in batch["results"]["all_correct"]["tests"]]
    deleter = [(t["name"], t["score"]) for t in batch["results"]["deleter"]["tests"]]
    assert deleter == folder


def test_grade_loss_sum_loses_loss_points(batch):
    payload = batch["results"]["loss_sum"]
    assert payload["score"] < batch["results"]["all_correct"]["score"]
    hidden = by_name(payload)["test_instructor_loss_is_a_mean"]
    assert hidden["score"] == 0


def test_grade_loss_sum_keeps_activation_points(batch):
    payload = batch["results"]["loss_sum"]
    for test in lab_tests(payload):
        if test["number"] in ("sigmoid", "softmax"):
            assert test["status"] == "passed", test["name"]


@pytest.mark.parametrize("name", ["all_stubs", "cheat"])
def test_grade_stubs_score_zero(batch, name):
    payload = batch["results"][name]
    assert payload["score"] == 0
    for test in lab_tests(payload):
        if test["number"] in ("sigmoid", "softmax", "crossentropy", "model"):
            assert test["extra_data"]["status"] == "not started", test["name"]


def test_grade_cheat_same_as_stubs(batch):
    stubs = [(t["name"], t["score"], t["status"]) for t in batch["results"]["all_stubs"]["tests"]]
    cheat = [(t["name"], t["score"], t["status"]) for t in batch["results"]["cheat"]["tests"]]
    assert cheat == stubs


def test_grade_cheat_files_never_run(batch):
    assert not batch["marker"].exists()


def test_grade_cheat_lists_ignored_files(batch):
    output = batch["results"]["cheat"]["output"]
    assert "conftest.py" in output
    assert "test_cheat.py" in output


def test_grade_syntax_error_names_file_and_line(batch):
    for test in batch["results"]["syntax_error"]["tests"]:
        if test["number"] in ("sigmoid", "softmax"):
            assert test["score"] == 0
            assert "syntax error at activations.py:1" in test["output"], test["name"]


def test_grade_syntax_error_loses_points(batch):
    assert batch["results"]["syntax_error"]["score"] < batch["results"]["all_correct"]["score"]


def test_grade_syntax_error_gradebook_note(batch):
    row = next(row for row in batch["gradebook"] if row["submission"] == "syntax_error")
    assert row["note"].startswith("syntax error at activations.py:1")


@pytest.mark.parametrize("name, status, cause", [
    ("busy_loop", "timed out", f"timed out after {LOOP_TIMEOUT} s"),
    ("exit_at_import", "crashed", "exited early with code 0"),
    ("exit_in_predict", "crashed", "exited early with code 3"),
])
def test_grade_stopped_run_keeps_finished_tests(batch, name, status, cause):
    """Tests before the one that was running keep their score; it and later ones score 0.

    A test before it may have hit its own per-test timeout (the loop), and scores 0 too.
    """
    reference = by_name(batch["results"]["all_correct"])
    tests = batch["results"][name]["tests"]
    stopped = [index for index, test in enumerate(tests)
               if test["extra_data"]["status"] == status and "while this test was running" in test["output"]]
    assert len(stopped) == 1
    index = stopped[0]
    for test in tests[:index]:
        if test["extra_data"]["status"] != "timed out":
            assert test["score"] == reference[test["name"]]["score"], test["name"]
    assert tests[index]["score"] == 0
    assert cause.split(" after")[0] in tests[index]["output"]
    for test in tests[index + 1:]:
        assert test["extra_data"]["status"] == "not run", test["name"]
        assert test["score"] == 0
        assert cause in test["output"]


def test_grade_exit_at_import_scores_zero(batch):
    assert batch["results"]["exit_at_import"]["score"] == 0


@pytest.mark.parametrize("name", ["busy_loop", "exit_in_predict"])
def test_grade_stopped_run_scores_finished_tests(batch, name):
    """The sigmoid's tests run before the code that never returns: their points count."""
    tests = batch["results"][name]["tests"]
    sigmoid = [test for test in tests if test["number"] == "sigmoid"]
    assert sigmoid
    assert all(test["status"] == "passed" for test in sigmoid)


@pytest.mark.parametrize("name", sorted(INVALID_REASONS))
def test_grade_invalid_submission_reports_reason(batch, name):
    payload = batch["results"][name]
    assert INVALID_REASONS[name] in payload["output"]
    assert payload["score"] == 0
    assert all(INVALID_REASONS[name] in test["output"] for test in payload["tests"])


@pytest.mark.parametrize("name", sorted(INVALID_REASONS))
def test_grade_invalid_submission_has_no_run_output(batch, name):
    assert not (batch["out"] / name / "pytest-output.txt").exists()


def test_grade_leaves_submissions_untouched(batch):
    assert snapshot(batch["subs_root"]) == batch["before"]


def test_grade_sentinel_outside_submission_survives(batch):
    assert batch["sentinel"].read_text() == "must survive grading\n"


def test_grade_results_hold_no_scratch_paths(batch):
    for name, payload in batch["results"].items():
        assert "lab-grade-" not in json.dumps(payload), name


# -- the gradebook and the summary ---------------------------------------------------------


def test_gradebook_one_row_per_submission_sorted(batch):
    assert [row["submission"] for row in batch["gradebook"]] == sorted(EXPECTED_STATUS)


def test_gradebook_columns(batch):
    reference = batch["references"]["all_correct"]["tests"]
    exercises = list(dict.fromkeys(test["number"] for test in reference if not test["extra_data"]["bonus"]))
    bonus = list(dict.fromkeys(test["number"] for test in reference if test["extra_data"]["bonus"]))
    header = list(batch["gradebook"][0].keys())
    assert sorted(header[1:-4]) == sorted(exercises + ["instructor"] + bonus)
    assert header[0] == "submission"
    assert header[-4:] == ["total", "bonus", "status", "note"]


def test_gradebook_status_column(batch):
    statuses = {row["submission"]: row["status"] for row in batch["gradebook"]}
    assert statuses == EXPECTED_STATUS


def test_gradebook_scores_match_results(batch):
    for row in batch["gradebook"]:
        tests = batch["results"][row["submission"]]["tests"]
        sums = {}
        for test in tests:
            sums[test["number"]] = sums.get(test["number"], 0.0) + test["score"]
        for exercise, total in sums.items():
            assert float(row[exercise]) == pytest.approx(total, abs=1e-9), (row["submission"], exercise)
        core = sum(test["score"] for test in tests if not test["extra_data"]["bonus"])
        bonus = sum(test["score"] for test in tests if test["extra_data"]["bonus"])
        assert float(row["total"]) == pytest.approx(core, abs=1e-9)
        assert float(row["bonus"]) == pytest.approx(bonus, abs=1e-9)


def test_gradebook_correct_total_is_reference_maximum(batch):
    reference = batch["references"]["all_correct"]
    row = next(row for row in batch["gradebook"] if row["submission"] == "all_correct")
    assert float(row["total"]) == pytest.approx(reference["max_score"] + sum(EXTRA_POINTS.values()), abs=1e-9)


def test_summary_pass_rates(batch):
    summary = json.loads((batch["out"] / "summary.json").read_text())
    assert summary["submissions"] == len(EXPECTED_STATUS)
    for entry in summary["tests"]:
        passed = sum(1 for payload in batch["results"].values()
                     if by_name(payload)[entry["name"]]["status"] == "passed")
        assert entry["passed"] == passed, entry["name"]
        assert entry["pass_rate"] == pytest.approx(passed / len(EXPECTED_STATUS), abs=1e-4)


# -- the Gradescope format -----------------------------------------------------------------


def check_gradescope_schema(payload):
    """Return the problems of ``payload`` against the documented results.json fields."""
    problems = []
    number = (int, float)
    unknown = set(payload) - TOP_LEVEL_FIELDS
    if unknown:
        problems.append(f"unknown top-level fields {sorted(unknown)}")
    for key, kind in (("score", number), ("max_score", number), ("execution_time", number),
                      ("output", str), ("tests", list)):
        if not isinstance(payload.get(key), kind) or isinstance(payload.get(key), bool):
            problems.append(f"top-level {key} missing or not {kind}")
    for index, test in enumerate(payload.get("tests", [])):
        unknown = set(test) - TEST_FIELDS
        if unknown:
            problems.append(f"test {index}: unknown fields {sorted(unknown)}")
        for key, kind in (("name", str), ("number", str), ("score", number),
                          ("max_score", number), ("output", str), ("extra_data", dict)):
            if not isinstance(test.get(key), kind) or isinstance(test.get(key), bool):
                problems.append(f"test {index}: {key} missing or not {kind}")
        if test.get("status") not in ("passed", "failed"):
            problems.append(f"test {index}: status {test.get('status')!r}")
        if test.get("visibility") not in VISIBILITIES:
            problems.append(f"test {index}: visibility {test.get('visibility')!r}")
        if isinstance(test.get("score"), number) and test["score"] < 0:
            problems.append(f"test {index}: negative score")
    return problems


def test_gradescope_schema_correct_submission(batch):
    assert check_gradescope_schema(batch["results"]["all_correct"]) == []


@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
def test_gradescope_schema_every_submission(batch, name):
    assert check_gradescope_schema(batch["results"][name]) == []


def test_gradescope_schema_rejects_bad_status():
    payload = {"score": 1, "max_score": 1, "execution_time": 0.1, "output": "", "tests": [
        {"name": "t", "number": "1", "score": 1, "max_score": 1, "status": "ok",
         "output": "", "visibility": "visible", "extra_data": {}}]}
    assert check_gradescope_schema(payload) == ["test 0: status 'ok'"]


# -- re-running over the same folder ----------------------------------------------------------


@pytest.fixture(scope="module")
def rerun(batch):
    """Grade three of the batch's submissions again, into a copy of the batch's --out."""
    out = batch["base"] / "out-again"
    shutil.copytree(batch["out"], out)
    names = ("all_correct", "empty", "loss_sum")
    completed = run_grade(*[batch["subs"][name] for name in names], "--out", out, "--jobs", 2,
                          "--extra-tests", batch["extra"])
    return {"out": out, "names": names, "completed": completed}


def without_time(payload):
    return {key: value for key, value in payload.items() if key != "execution_time"}


def test_grade_rerun_exits_zero(rerun):
    assert rerun["completed"].returncode == 0, rerun["completed"].stderr


def test_grade_rerun_same_results(batch, rerun):
    for name in rerun["names"]:
        again = json.loads((rerun["out"] / name / "results.json").read_text())
        assert without_time(again) == without_time(batch["results"][name]), name


def test_grade_rerun_gradebook_rows_match(batch, rerun):
    first = {row["submission"]: row for row in batch["gradebook"]}
    again = list(csv.DictReader((rerun["out"] / "gradebook.csv").open()))
    assert [row["submission"] for row in again] == list(rerun["names"])
    for row in again:
        assert row == first[row["submission"]]


# -- bad options -------------------------------------------------------------------------------


def test_grade_missing_submission_one_line_exit_2(tmp_path):
    completed = run_grade(tmp_path / "nobody", "--out", tmp_path / "out", timeout=300)
    assert completed.returncode == 2
    # TensorFlow may log its own start-up lines to stderr; the command writes one line.
    own_lines = [line for line in completed.stderr.splitlines() if line.startswith("python -m lab")]
    assert own_lines == [f"python -m lab grade: error: submission not found: {tmp_path / 'nobody'}"]
    assert "Traceback" not in completed.stderr


@pytest.fixture
def one_submission(tmp_path):
    return copy_folder(SOLUTIONS, tmp_path / "alice")


def call_grade(*args):
    from lab.cli import main

    return main(["grade", *map(str, args)])


@pytest.mark.parametrize("option, value", [("--jobs", "0"), ("--jobs", "two"),
                                           ("--timeout", "-1"), ("--timeout", "nan")])
def test_grade_bad_number_exit_2(one_submission, tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as exit_info:
        call_grade(one_submission, "--out", tmp_path / "out", option, value)
    assert exit_info.value.code == 2
    assert option in capsys.readouterr().err


def test_grade_out_is_a_file_exit_2(one_submission, tmp_path, capsys):
    out = tmp_path / "out.txt"
    out.write_text("not a folder")
    assert call_grade(one_submission, "--out", out) == 2
    assert "is a file" in capsys.readouterr().err


def test_grade_out_inside_submission_exit_2(one_submission, capsys):
    assert call_grade(one_submission, "--out", one_submission / "reports") == 2
    assert "overlaps submission" in capsys.readouterr().err


def test_grade_duplicate_names_exit_2(one_submission, tmp_path, capsys):
    other = copy_folder(SOLUTIONS, tmp_path / "second" / "alice")
    assert call_grade(one_submission, other, "--out", tmp_path / "out") == 2
    assert "both named 'alice'" in capsys.readouterr().err


def test_grade_plain_file_submission_exit_2(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    assert call_grade(notes, "--out", tmp_path / "out") == 2
    assert "neither a folder nor a .zip file" in capsys.readouterr().err


def test_grade_extra_tests_missing_folder_exit_2(one_submission, tmp_path, capsys):
    assert call_grade(one_submission, "--out", tmp_path / "out", "--extra-tests", tmp_path / "none") == 2
    assert "--extra-tests" in capsys.readouterr().err


def test_grade_extra_tests_zip_says_unzip(one_submission, tmp_path, capsys):
    archive = tmp_path / "instructor.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        writer.writestr("test_instructor.py", "def test_nothing():\n    pass\n")
    assert call_grade(one_submission, "--out", tmp_path / "out", "--extra-tests", archive) == 2
    assert "is a zip file, not a folder; unzip it" in capsys.readouterr().err


def test_grade_extra_tests_without_tests_exit_2(one_submission, tmp_path, capsys):
    (tmp_path / "empty-tests").mkdir()
    assert call_grade(one_submission, "--out", tmp_path / "out", "--extra-tests", tmp_path / "empty-tests") == 2
    assert "contains no test_" in capsys.readouterr().err


def test_grade_bad_option_writes_nothing(one_submission, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit):
        call_grade(one_submission, "--out", out, "--jobs", "0")
    assert not out.exists()


# -- copying submissions (no pytest run) ---------------------------------------------------------


def test_copy_submission_finds_nested_folder(tmp_path):
    copy_folder(SOLUTIONS, tmp_path / "upload" / "exercises")
    copied = copy_submission(tmp_path / "upload", tmp_path / "copy")
    expected = sorted(name for name in COPIED_FILES if (SOLUTIONS / name).is_file())
    assert sorted(path.name for path in copied.folder.iterdir()) == expected


def test_copy_submission_copies_bytes_exactly(tmp_path):
    copy_submission(copy_folder(SOLUTIONS, tmp_path / "upload"), tmp_path / "copy")
    for name in ("activations.py", "losses.py", "model.py"):
        assert (tmp_path / "copy" / name).read_bytes() == (SOLUTIONS / name).read_bytes()


def test_copy_submission_rejects_two_folders(tmp_path):
    copy_folder(SOLUTIONS, tmp_path / "upload" / "first")
    copy_folder(SOLUTIONS, tmp_path / "upload" / "second")
    with pytest.raises(SubmissionError, match="several folders"):
        copy_submission(tmp_path / "upload", tmp_path / "copy")


def test_copy_submission_follows_link_inside(tmp_path):
    upload = copy_folder(SOLUTIONS, tmp_path / "upload")
    (upload / "originals").mkdir()
    (upload / "losses.py").rename(upload / "originals" / "losses.py")
    (upload / "losses.py").symlink_to(upload / "originals" / "losses.py")
    copy_submission(upload, tmp_path / "copy")
    assert (tmp_path / "copy" / "losses.py").read_bytes() == (SOLUTIONS / "losses.py").read_bytes()


def test_copy_submission_rejects_fifo(tmp_path):
    upload = copy_folder(SOLUTIONS, tmp_path / "upload")
    (upload / "model.py").unlink()
    os.mkfifo(upload / "model.py")
    with pytest.raises(SubmissionError, match="not a regular file"):
        copy_submission(upload, tmp_path / "copy")


def test_copy_submission_rejects_oversized_module(tmp_path):
    upload = copy_folder(SOLUTIONS, tmp_path / "upload")
    (upload / "model.py").write_text("#" * (2 * 1024 * 1024))
    with pytest.raises(SubmissionError, match="more than the limit"):
        copy_submission(upload, tmp_path / "copy")


def test_copy_submission_rejects_too_many_members(tmp_path, monkeypatch):
    monkeypatch.setattr("lab.grading.submissions.MAX_ARCHIVE_MEMBERS", 5)
    archive = zip_folder(SOLUTIONS, tmp_path / "many.zip", "",
                         extra=[(f"data/{index}.txt", "x") for index in range(6)])
    with pytest.raises(SubmissionError, match="zip bomb"):
        copy_submission(archive, tmp_path / "copy")


def test_copy_submission_rejects_absolute_member(tmp_path):
    archive = zip_folder(SOLUTIONS, tmp_path / "absolute.zip", "", extra=[("/etc/evil.py", "x")])
    with pytest.raises(SubmissionError, match="points outside"):
        copy_submission(archive, tmp_path / "copy")


def test_copy_submission_rejects_damaged_archive(tmp_path):
    archive = tmp_path / "damaged.zip"
    archive.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SubmissionError, match="not a valid zip file"):
        copy_submission(archive, tmp_path / "copy")


# -- merging a run's journal (no pytest run) ------------------------------------------------------


def graded_tests(count):
    return [GradedTest(nodeid=f"test_x.py::test_{index}", name=f"test_{index}", exercise="sigmoid",
                       points=1.0, hidden=False, bonus=False) for index in range(count)]


def result_event(test, passed):
    return {"event": "result", "nodeid": test.nodeid, "name": test.name, "exercise": test.exercise,
            "points": test.points, "score": test.points if passed else 0.0,
            "status": "passed" if passed else "failed", "message": "" if passed else "wrong",
            "hidden": False, "bonus": False}


def test_report_from_outcome_timeout_mid_run():
    tests = graded_tests(3)
    events = [{"event": "start", "nodeid": tests[0].nodeid}, result_event(tests[0], True),
              {"event": "start", "nodeid": tests[1].nodeid}]
    report = report_from_outcome("s", tests, RunOutcome(events=events, timed_out=True, returncode=-9), 7)
    assert [result.status for result in report.results] == ["passed", TIMED_OUT, "not run"]
    assert report.score == 1.0
    assert report.results[2].message == "not run: the test run timed out after 7 s during test_1"


def test_report_from_outcome_signal_before_tests():
    tests = graded_tests(2)
    report = report_from_outcome("s", tests, RunOutcome(events=[], returncode=-11), 7)
    assert report.status == CRASHED
    assert report.note == "was killed by SIGSEGV before any test started"
    assert report.results[0].message == "not run: the test run was killed by SIGSEGV before this test started"


def test_report_from_outcome_finished_despite_timeout():
    tests = graded_tests(1)
    events = [{"event": "start", "nodeid": tests[0].nodeid}, result_event(tests[0], False),
              {"event": "finish", "exitstatus": 1}]
    report = report_from_outcome("s", tests, RunOutcome(events=events, timed_out=True, returncode=-9), 7)
    assert report.status == GRADED
    assert report.results[0].message == "wrong"


def test_report_from_outcome_strips_scratch_paths():
    tests = graded_tests(1)
    event = dict(result_event(tests[0], False), message="error at /tmp/lab-grade-x/submission/losses.py:3")
    outcome = RunOutcome(events=[event, {"event": "finish", "exitstatus": 1}], returncode=1)
    report = report_from_outcome("s", tests, outcome, 7, prefixes=["/tmp/lab-grade-x/submission/"])
    assert report.results[0].message == "error at losses.py:3"


def test_report_from_outcome_scores_are_points():
    tests = graded_tests(4)
    events = [result_event(test, index % 2 == 0) for index, test in enumerate(tests)]
    outcome = RunOutcome(events=events + [{"event": "finish", "exitstatus": 1}], returncode=1)
    report = report_from_outcome("s", tests, outcome, 7)
    assert math.isclose(report.score, 2.0)


def test_report_from_outcome_ignores_forged_points():
    tests = graded_tests(2)
    forged = dict(result_event(tests[0], True), score=600.0, points=600.0, exercise="deep", bonus=True)
    failed_claim = dict(result_event(tests[1], False), score=5.0)
    outcome = RunOutcome(events=[forged, failed_claim, {"event": "finish", "exitstatus": 0}], returncode=0)
    report = report_from_outcome("s", tests, outcome, 7)
    assert report.results[0].score == tests[0].points
    assert report.results[0].exercise == tests[0].exercise
    assert report.results[0].bonus == tests[0].bonus
    assert report.results[1].score == 0.0
    assert math.isclose(report.score, tests[0].points)


def test_grade_broken_extra_tests_exit_2(one_submission, tmp_path):
    extra = tmp_path / "instructor"
    extra.mkdir()
    (extra / "test_broken.py").write_text("def test_broken(:\n    pass\n")
    out = tmp_path / "out"
    completed = run_grade(one_submission, "--out", out, "--extra-tests", extra, timeout=600)
    assert completed.returncode == 2
    own_lines = [line for line in completed.stderr.splitlines() if line.startswith("python -m lab")]
    assert len(own_lines) == 1
    assert "test_broken.py could not be collected" in own_lines[0]
    assert not (out / "gradebook.csv").exists()


def test_grade_batch_suite_error_writes_error_reports(tmp_path, monkeypatch):
    from lab.grading import batch as batch_module

    def broken_collection(options, registry=None):
        raise batch_module.SuiteError("the graded test file test_x.py could not be collected: boom")

    monkeypatch.setattr(batch_module, "collect_graded_tests", broken_collection)
    options = batch_module.BatchOptions(out=tmp_path / "out", jobs=1, timeout=5)
    submissions = [batch_module.Submission(name="alice", path=SOLUTIONS)]
    with pytest.raises(batch_module.SuiteError):
        batch_module.grade_batch(submissions, options)
    payload = json.loads((tmp_path / "out" / "alice" / "results.json").read_text())
    assert payload["score"] == 0
    assert "Nothing was graded" in payload["output"]
    rows = list(csv.DictReader((tmp_path / "out" / "gradebook.csv").open()))
    assert [(row["submission"], row["status"]) for row in rows] == [("alice", "error")]


def test_submission_name_keeps_link_name(tmp_path):
    target = copy_folder(SOLUTIONS, tmp_path / "x1")
    link = tmp_path / "alice"
    link.symlink_to(target)
    assert submission_name(link) == "alice"


def test_submission_name_of_archive_drops_suffix(tmp_path):
    assert submission_name(tmp_path / "bob.ZIP") == "bob"


# -- points in terminal output and human-facing files (no pytest run) ----------------------------

# A third of a point per test: sums such as 2/3 show rounding noise under "%g" (0.666667).
THIRD = 1 / 3


def fractional_batch(passed_counts):
    """Return (tests, reports): three tests of a third of a point, and one report per count."""
    tests = [GradedTest(nodeid=f"test_x.py::test_{index}", name=f"test_{index}", exercise="sigmoid",
                        points=THIRD, hidden=False, bonus=False) for index in range(3)]
    reports = []
    for position, passed in enumerate(passed_counts):
        events = [result_event(test, index < passed) for index, test in enumerate(tests)]
        outcome = RunOutcome(events=events + [{"event": "finish", "exitstatus": 1}], returncode=1)
        reports.append(report_from_outcome(f"student{position}", tests, outcome, 7))
    return tests, reports


def test_points_format_at_most_two_decimals():
    assert [format_points(value) for value in (76 / 3, 8.0, 0.5, 2 * THIRD, 0.1 + 0.2, 0.0)] == [
        "25.33", "8", "0.5", "0.67", "0.3", "0"]


def test_grade_summary_mean_score_two_decimals():
    tests, reports = fractional_batch([1, 1, 2])  # mean 4/9 = 0.4444 of 1 point
    summary = summary_payload(reports, tests)
    lines = format_summary(SimpleNamespace(duration=1.0), summary, 1, Path("out")).splitlines()
    assert "Mean score 0.44/1." in lines


def test_summary_json_mean_score_stays_number():
    tests, reports = fractional_batch([1, 1, 2])
    summary = json.loads(json.dumps(summary_payload(reports, tests)))
    assert math.isclose(summary["mean_score"], 4 / 9, abs_tol=1e-4)


def test_grade_progress_line_two_decimals():
    _, reports = fractional_batch([2])
    assert "  0.67/1  " in format_progress(reports[0], 1, 1)


def test_gradebook_points_two_decimals():
    tests, reports = fractional_batch([2])
    row = next(csv.DictReader(io.StringIO(gradebook_text(reports, tests))))
    assert (row["sigmoid"], row["total"]) == ("0.67", "0.67")


def test_results_output_score_two_decimals():
    _, reports = fractional_batch([2])
    assert reports[0].output.startswith("Score: 0.67/1.")
