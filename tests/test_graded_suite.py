"""Tests of the graded suite itself: stubs score 0, solutions full marks, mistakes lose points.

The untouched stubs run in a real subprocess, exactly as a student runs them. Every other
run is a pytest session inside this process (``pytester.runpytest_inprocess``), which
saves TensorFlow's import per run. Each variant of the solutions is written into the
test's folder by ``graded_variants.write_variant``. Runs name the five core graded
modules, so bonus exercises added to ``lab.graded`` do not change these numbers.
"""

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import graded_variants
from graded_variants import ALTERNATIVES, MISTAKES

# pytester puts sys.modules back as it was after each in-process run, and NumPy cannot be
# imported twice in one process. Whatever the runs import must be imported here first.
import lab.data  # noqa: E402,F401
import lab.graded.test_crossentropy  # noqa: E402,F401
import lab.graded.test_experiment  # noqa: E402,F401
import lab.graded.test_model  # noqa: E402,F401
import lab.graded.test_sigmoid  # noqa: E402,F401
import lab.graded.test_softmax  # noqa: E402,F401
import lab.training  # noqa: E402,F401
from lab.implementation import ImplementationError, load_implementation  # noqa: E402

pytest_plugins = ["pytester"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CORE_EXERCISES = ("sigmoid", "softmax", "crossentropy", "model", "experiment")
CORE_MODULES = tuple(f"lab.graded.test_{exercise}" for exercise in CORE_EXERCISES)
SCORE_LINE = re.compile(r"^(?P<name>\w+)\s+(?P<score>[\d.]+)/(?P<possible>[\d.]+)(?P<note>.*)$")


def run_graded(pytester, impl, *args, experiment=True):
    """Run the core graded modules against ``impl`` in this process and return the result."""
    modules = CORE_MODULES if experiment else CORE_MODULES[:-1]
    return pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--pyargs", *modules, f"--impl={impl}", *args
    )


def section(lines, title):
    """Return the lines of the ``=== title ===`` section, up to the next ``===`` line."""
    start = next(index for index, line in enumerate(lines) if re.match(rf"^=+ {title} =+$", line))
    body = []
    for line in lines[start + 1:]:
        if line.startswith("==="):
            break
        body.append(line)
    return body


def scores(lines):
    """Return ``{row: (score, possible, note)}`` from the lab score table."""
    rows = {}
    for line in section(lines, "lab score"):
        match = SCORE_LINE.match(line)
        if match:
            rows[match["name"]] = (float(match["score"]), float(match["possible"]),
                                   match["note"].strip())
    return rows


def feedback(lines):
    """Return ``{exercise: text}`` from the lab feedback section, or {} when there is none."""
    if not any(re.match(r"^=+ lab feedback =+$", line) for line in lines):
        return {}
    blocks = {}
    current = None
    for line in section(lines, "lab feedback"):
        match = re.match(r"^(\w+): ", line)
        if match:
            current = match.group(1)
            blocks[current] = line + "\n"
        elif current is not None:
            blocks[current] += line + "\n"
    return {name: " ".join(text.split()) for name, text in blocks.items()}


@pytest.fixture(scope="module")
def stub_run():
    """``pytest exercises/`` on the untouched stubs, in a subprocess as a student runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "exercises/", "-p", "no:cacheprovider"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
    )


def test_stubs_exit_code_one(stub_run):
    assert stub_run.returncode == 1


def test_stubs_every_graded_test_fails(stub_run):
    final_line = stub_run.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ failed", final_line), final_line
    assert "passed" not in final_line


def test_stubs_score_zero(stub_run):
    rows = scores(stub_run.stdout.splitlines())
    assert rows["total"][0] == 0
    for exercise in CORE_EXERCISES:
        assert rows[exercise][:2] == (0, rows[exercise][1]), exercise
        assert rows[exercise][2] == "not started", exercise


def test_stubs_one_not_started_line_per_exercise(stub_run):
    lines = section(stub_run.stdout.splitlines(), "lab feedback")
    for exercise in CORE_EXERCISES:
        matching = [line for line in lines if line.startswith(f"{exercise}: not started: ")]
        assert len(matching) == 1, (exercise, lines)


def test_stubs_output_has_no_tracebacks(stub_run):
    output = stub_run.stdout + stub_run.stderr
    for internal in ("Traceback", "site-packages", "tensorflow/python", "_pytest", "FAILURES",
                     "short test summary", "raise NotImplementedError"):
        assert internal not in output, internal


def test_stubs_say_which_function_to_write(stub_run):
    blocks = feedback(stub_run.stdout.splitlines())
    assert "sigmoid is not written yet" in blocks["sigmoid"]
    assert "softmax is not written yet" in blocks["softmax"]
    assert "sparse_categorical_crossentropy is not written yet" in blocks["crossentropy"]
    assert "MultiClassLogisticRegression.build is not written yet" in blocks["model"]


def test_solutions_full_marks(pytester):
    result = pytester.runpytest_inprocess(str(PROJECT_ROOT / "solutions"), "-p", "no:cacheprovider")
    rows = scores(result.outlines)
    assert result.ret == 0
    assert rows["total"][0] == rows["total"][1]
    for exercise in CORE_EXERCISES:
        assert rows[exercise][0] == rows[exercise][1], exercise
    assert "lab feedback" not in result.stdout.str()


def test_solutions_score_line_names_public_tests(pytester):
    result = run_graded(pytester, PROJECT_ROOT / "solutions", experiment=False)
    assert "This score covers the public tests run on this machine" in result.stdout.str()


def test_exercises_impl_option_grades_solutions(pytester):
    result = pytester.runpytest_inprocess(
        str(PROJECT_ROOT / "exercises"), "-p", "no:cacheprovider", "--impl=solutions",
        "-k", "sigmoid",
    )
    rows = scores(result.outlines)
    assert result.ret == 0
    assert rows["sigmoid"][0] == rows["sigmoid"][1]


@pytest.mark.parametrize("variant", MISTAKES, ids=[variant.name for variant in MISTAKES])
def test_mistake_loses_points_with_advice(pytester, variant):
    folder = graded_variants.write_variant(variant, pytester.path / variant.name)
    result = run_graded(pytester, folder, experiment=variant.experiment)
    rows = scores(result.outlines)
    blocks = feedback(result.outlines)
    assert result.ret == 1
    for exercise, phrases in variant.loses.items():
        assert rows[exercise][0] < rows[exercise][1], (exercise, rows)
        for phrase in (phrases,) if isinstance(phrases, str) else phrases:
            assert phrase in blocks.get(exercise, ""), (exercise, phrase, blocks.get(exercise))
    for exercise in variant.keeps:
        assert rows[exercise][0] == rows[exercise][1], (exercise, blocks.get(exercise))
    if variant.points_lost is not None:
        assert rows["total"][1] - rows["total"][0] == variant.points_lost


@pytest.mark.parametrize("variant", ALTERNATIVES, ids=[variant.name for variant in ALTERNATIVES])
def test_alternative_correct_implementation_full_marks(pytester, variant):
    folder = graded_variants.write_variant(variant, pytester.path / variant.name)
    result = run_graded(pytester, folder, experiment=variant.experiment)
    rows = scores(result.outlines)
    assert result.ret == 0, feedback(result.outlines)
    assert rows["total"][0] == rows["total"][1]


@pytest.mark.parametrize("name, culprit, innocent", [
    ("loss_sum_not_mean", "sparse_categorical_crossentropy returns", "uniform weights lie in [0, 1)"),
    ("loss_mean_over_classes", "sparse_categorical_crossentropy returns", "uniform weights lie in [0, 1)"),
    ("model_uniform_minus_one_to_one", "expected every weight in [0, 1)",
     "sparse_categorical_crossentropy returns"),
], ids=["loss_sum", "loss_mean_over_classes", "model_uniform"])
def test_experiment_advice_names_wrong_function(pytester, name, culprit, innocent):
    variant = next(variant for variant in MISTAKES if variant.name == name)
    folder = graded_variants.write_variant(variant, pytester.path / variant.name)
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--pyargs", "lab.graded.test_experiment", f"--impl={folder}"
    )
    score, possible, _ = scores(result.outlines)["experiment"]
    advice = feedback(result.outlines)["experiment"]
    assert score < possible
    assert culprit in advice
    assert innocent not in advice


def test_experiment_known_inputs_pass_on_solutions():
    from lab.graded.test_experiment import likely_causes
    from lab.implementation import load_implementation

    assert likely_causes(load_implementation("solutions")) == []


def test_syntax_error_names_file_and_line(pytester):
    variant = graded_variants.SYNTAX_ERROR
    folder = graded_variants.write_variant(variant, pytester.path / variant.name)
    result = run_graded(pytester, folder, experiment=False)
    rows = scores(result.outlines)
    blocks = feedback(result.outlines)
    assert rows["crossentropy"][0] == 0
    assert f"syntax error at {folder / 'losses.py'}:13" in blocks["crossentropy"]
    assert blocks["crossentropy"].count("syntax error at") == 1
    for exercise in variant.keeps:
        assert rows[exercise][0] == rows[exercise][1], exercise


@pytest.mark.parametrize(
    "variant",
    [graded_variants.ACTIVATIONS_SYNTAX_ERROR, graded_variants.IMPORT_ERROR],
    ids=lambda variant: variant.name,
)
def test_broken_exercise_leaves_others_graded(pytester, variant):
    folder = graded_variants.write_variant(variant, pytester.path / variant.name)
    result = run_graded(pytester, folder, experiment=variant.experiment)
    rows = scores(result.outlines)
    blocks = feedback(result.outlines)
    for exercise, phrase in variant.loses.items():
        assert rows[exercise][0] == 0, exercise
        assert phrase in blocks[exercise], (exercise, blocks[exercise])
    for exercise in variant.keeps:
        assert rows[exercise][0] == rows[exercise][1], (exercise, blocks.get(exercise))


def test_stub_among_written_reports_not_started(pytester):
    variant = graded_variants.STUB_SOFTMAX
    folder = graded_variants.write_variant(variant, pytester.path / variant.name)
    result = run_graded(pytester, folder)
    rows = scores(result.outlines)
    blocks = feedback(result.outlines)
    assert rows["softmax"] == (0, rows["softmax"][1], "not started")
    assert blocks["softmax"].startswith("softmax: not started: softmax is not written yet")
    assert blocks["experiment"].startswith("experiment: not started:")
    for exercise in variant.keeps:
        assert rows[exercise][0] == rows[exercise][1], exercise
        assert rows[exercise][2] == "", exercise


def test_wrapper_tests_keep_their_module_markers(pytester):
    pytester.makepyfile(test_wrapper="".join(f"from {module} import *\n" for module in CORE_MODULES))
    items, _ = pytester.inline_genitems("-p", "no:cacheprovider", "--impl=solutions")
    assert items
    for item in items:
        exercise = item.function.__module__.rsplit("_", 1)[-1]
        timeout = 120 if exercise == "experiment" else 10
        assert item.get_closest_marker("exercise").args[0] == exercise, item.name
        assert item.get_closest_marker("timeout").args[0] == timeout, item.name


def test_bonus_module_imported_last_stays_bonus(pytester):
    pytester.makepyfile(extra_graded="""
        import pytest

        pytestmark = [pytest.mark.exercise("extra"), pytest.mark.bonus]

        @pytest.mark.points(1)
        def test_extra_passes():
            pass
    """)
    pytester.makepyfile(test_wrapper="from lab.graded.test_sigmoid import *\nfrom extra_graded import *\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--impl=solutions")
    rows = scores(result.outlines)
    assert rows["sigmoid"][0] == rows["sigmoid"][1]
    assert rows["total"][:2] == rows["sigmoid"][:2]
    assert rows["bonus"][:2] == (1, 1)


def test_score_table_points_two_decimals(pytester):
    pytester.makepyfile(test_thirds="""
        import pytest

        pytestmark = pytest.mark.exercise("thirds")

        @pytest.mark.points(1 / 3)
        def test_thirds_first():
            pass

        @pytest.mark.points(1 / 3)
        def test_thirds_second():
            pass

        @pytest.mark.points(1 / 3)
        def test_thirds_third():
            assert False
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--impl=solutions")
    score_lines = section(result.outlines, "lab score")
    assert "thirds  0.67/1" in score_lines
    assert "total   0.67/1" in score_lines


def test_endless_loop_fails_one_named_test(pytester):
    variant = graded_variants.ENDLESS_LOOP
    folder = graded_variants.write_variant(variant, pytester.path / variant.name)
    result = run_graded(pytester, folder, "--timeout=2", experiment=False)
    blocks = feedback(result.outlines)
    rows = scores(result.outlines)
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1
    assert outcomes["passed"] > 1
    assert "FAILED test_softmax_large_logits_finite (2 points) timed out after 2" in blocks["softmax"]
    assert rows["softmax"][1] - rows["softmax"][0] == 2
    for exercise in variant.keeps:
        assert rows[exercise][0] == rows[exercise][1], exercise


def test_keyword_selects_one_exercise(pytester):
    result = run_graded(pytester, PROJECT_ROOT / "solutions", "-k", "softmax", experiment=False)
    rows = scores(result.outlines)
    assert set(rows) == {"softmax", "total"}
    assert "graded tests were not selected" in result.stdout.str()


def test_explicit_tb_brings_back_pytest_sections(pytester):
    variant = next(variant for variant in MISTAKES if variant.name == "loss_sum_not_mean")
    folder = graded_variants.write_variant(variant, pytester.path / variant.name)
    result = run_graded(pytester, folder, "--tb=short", "-k", "crossentropy_known", experiment=False)
    output = result.stdout.str()
    assert "FAILURES" in output
    assert "hint for crossentropy (losses.py)" in output
    assert "lab feedback" not in output


def test_results_json_matches_score(pytester):
    variant = next(variant for variant in MISTAKES if variant.name == "softmax_global_sum")
    folder = graded_variants.write_variant(variant, pytester.path / variant.name)
    path = pytester.path / "results.json"
    result = run_graded(pytester, folder, f"--results-json={path}", experiment=False)
    rows = scores(result.outlines)
    payload = json.loads(path.read_text())
    assert payload["score"] == rows["total"][0]
    assert len(payload["tests"]) == sum(
        1 for report in result.reprec.getreports("pytest_runtest_logreport") if report.when == "call"
    )


def test_missing_impl_folder_is_usage_error(pytester):
    result = run_graded(pytester, pytester.path / "no_such_folder", experiment=False)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "implementation folder not found" in result.stderr.str()


def test_empty_impl_names_the_option():
    with pytest.raises(ImplementationError, match="--impl is empty"):
        load_implementation("")


@pytest.mark.parametrize("present, message", [
    ((), "is missing activations.py, losses.py, model.py; copy them from exercises/"),
    (("activations.py", "losses.py"), "is missing model.py; copy it from exercises/"),
], ids=["three-missing", "one-missing"])
def test_missing_modules_named(tmp_path, present, message):
    for name in present:
        (tmp_path / name).write_text("")
    with pytest.raises(ImplementationError, match=re.escape(message)):
        load_implementation(tmp_path)


def test_zip_impl_is_usage_error_saying_unzip(pytester):
    archive = pytester.path / "submission.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        for module in graded_variants.MODULES:
            writer.write(graded_variants.SOLUTIONS / module, module)
    result = run_graded(pytester, archive, experiment=False)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"{archive} is a zip file, not a folder; unzip it" in result.stderr.str()
