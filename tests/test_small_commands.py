"""Tests of ``python -m lab hint``, ``doctor`` and ``watch``, each run as a subprocess.

The doctor tests point ``LAB_BUNDLED_MNIST`` and ``KERAS_HOME`` into tmp_path, and the
watch tests watch a copy of solutions/ in tmp_path, so no test changes the repository.
"""

import importlib.metadata
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lab.commands import doctor, watch
from lab.data import BUNDLED_ENV
from lab.hints import EXERCISES, HINTS, get_hint

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMMAND_TIMEOUT = 300  # seconds; doctor imports TensorFlow and trains one step
WATCH_TIMEOUT = 120  # seconds for one graded run to show up in watch's output


def lab_environment(**overrides):
    environment = {key: value for key, value in os.environ.items() if key != BUNDLED_ENV}
    environment.update(overrides)
    return environment


def run_lab(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "lab", *args], cwd=PROJECT_ROOT, env=env or lab_environment(),
        capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
    )


# --- hint ------------------------------------------------------------------------------------


@pytest.mark.parametrize("exercise", EXERCISES)
def test_hint_prints_graded_suite_text(exercise):
    completed = run_lab("hint", exercise)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == get_hint(exercise).render() + "\n"


def test_hint_unknown_exercise_exits_2():
    completed = run_lab("hint", "backprop")
    assert completed.returncode == 2
    assert completed.stdout == ""


def test_hint_unknown_exercise_lists_exercises():
    completed = run_lab("hint", "backprop")
    errors = [line for line in completed.stderr.splitlines() if line.startswith("python -m lab hint: error:")]
    assert len(errors) == 1, completed.stderr
    for exercise in EXERCISES:
        assert exercise in errors[0], f"{exercise} missing from {errors[0]!r}"


def test_hint_without_exercise_exits_2():
    completed = run_lab("hint")
    assert completed.returncode == 2


# --- doctor ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def doctor_healthy(tmp_path_factory):
    keras_home = tmp_path_factory.mktemp("keras-home")
    return run_lab("doctor", env=lab_environment(KERAS_HOME=str(keras_home)))


def check_line(output, name):
    """Return the doctor's line for check ``name``."""
    for line in output.splitlines():
        if line.startswith(f"{name} "):
            return line
    raise AssertionError(f"no {name!r} line in doctor output:\n{output}")


def test_doctor_healthy_exits_0(doctor_healthy):
    assert doctor_healthy.returncode == 0, doctor_healthy.stdout + doctor_healthy.stderr


def test_doctor_healthy_verdict_last_line(doctor_healthy):
    last_line = doctor_healthy.stdout.strip().splitlines()[-1]
    assert last_line.startswith("verdict: the lab can run")


@pytest.mark.parametrize("name, distribution", [
    ("TensorFlow", "tensorflow"), ("NumPy", "numpy"), ("matplotlib", "matplotlib"),
])
def test_doctor_reports_installed_versions(doctor_healthy, name, distribution):
    line = check_line(doctor_healthy.stdout, name)
    assert importlib.metadata.version(distribution) in line


def test_doctor_reports_python_version(doctor_healthy):
    line = check_line(doctor_healthy.stdout, "Python")
    assert ".".join(map(str, sys.version_info[:3])) in line


def test_doctor_reports_bundled_count(doctor_healthy):
    line = check_line(doctor_healthy.stdout, "bundled data")
    assert re.search(r"\bok\b.*5,000 digits loaded in \d+\.\d\d s", line), line


def test_doctor_reports_missing_keras_cache(doctor_healthy):
    line = check_line(doctor_healthy.stdout, "Keras MNIST")
    assert "not in the Keras cache" in line


@pytest.mark.parametrize("name", ["threads", "GPU", "training step"])
def test_doctor_reports_check(doctor_healthy, name):
    line = check_line(doctor_healthy.stdout, name)
    assert " ok " in line


def test_doctor_healthy_has_no_fix_lines(doctor_healthy):
    assert "fix:" not in doctor_healthy.stdout


@pytest.fixture(scope="module")
def doctor_broken_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("broken-data")
    broken = folder / "mnist.csv"
    broken.write_text("1,2,3\n")
    environment = lab_environment(**{BUNDLED_ENV: str(broken), "KERAS_HOME": str(folder)})
    return run_lab("doctor", env=environment), broken


def test_doctor_broken_data_exits_1(doctor_broken_data):
    completed, _ = doctor_broken_data
    assert completed.returncode == 1, completed.stdout + completed.stderr


def test_doctor_broken_data_fails_bundled_check(doctor_broken_data):
    completed, broken = doctor_broken_data
    line = check_line(completed.stdout, "bundled data")
    assert "FAIL" in line
    assert str(broken) in line


def test_doctor_broken_data_says_what_to_do(doctor_broken_data):
    completed, _ = doctor_broken_data
    lines = completed.stdout.splitlines()
    fix = lines[lines.index(check_line(completed.stdout, "bundled data")) + 1]
    assert "fix:" in fix
    assert f"unset {BUNDLED_ENV}" in fix


def test_doctor_broken_data_verdict_names_check(doctor_broken_data):
    completed, _ = doctor_broken_data
    last_line = completed.stdout.strip().splitlines()[-1]
    assert last_line == "verdict: the lab cannot run on this machine: fix bundled data as shown above"


def test_doctor_missing_data_file_exits_1(tmp_path):
    environment = lab_environment(**{BUNDLED_ENV: str(tmp_path / "absent.csv"), "KERAS_HOME": str(tmp_path)})
    completed = run_lab("doctor", env=environment)
    assert completed.returncode == 1
    assert "not found" in check_line(completed.stdout, "bundled data")


def test_doctor_keras_cache_present_is_ok(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    cache = tmp_path / "datasets" / "mnist.npz"
    cache.parent.mkdir()
    np.savez(cache, x_train=np.zeros((1, 28, 28), dtype=np.uint8), y_train=np.zeros(1, dtype=np.uint8))
    check = doctor.check_keras_cache()
    assert check.status == "ok"
    assert str(cache) in check.detail


def test_doctor_keras_cache_damaged_has_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    cache = tmp_path / "datasets" / "mnist.npz"
    cache.parent.mkdir()
    cache.write_bytes(b"not a zip archive")
    check = doctor.check_keras_cache()
    assert check.status == "note"
    assert f"delete {cache}" in check.fix


def test_doctor_gpu_names_each_device():
    device = SimpleNamespace(name="/physical_device:GPU:0", device_type="GPU")
    config = SimpleNamespace(
        list_physical_devices=lambda kind: [device] if kind == "GPU" else [],
        experimental=SimpleNamespace(get_device_details=lambda gpu: {"device_name": "Test GPU"}),
    )
    check = doctor.check_gpu(SimpleNamespace(config=config))
    assert check.detail == "/physical_device:GPU:0 (Test GPU)"


def test_doctor_version_outside_range_is_note():
    requirement = doctor.declared_requirement("tensorflow")
    if requirement is None:
        pytest.skip("the lab's distribution metadata or the packaging module is not installed")
    check = doctor.version_check("TensorFlow", "tensorflow", "1.15.0")
    assert check.status == "note"


# --- watch: pieces -------------------------------------------------------------------------------


def test_watch_exercises_for_activations():
    exercises = watch.exercises_for(["activations.py"])
    assert "sigmoid" in exercises
    assert "softmax" in exercises
    assert "crossentropy" not in exercises


def test_watch_exercises_for_respects_selection():
    assert watch.exercises_for(["activations.py"], {"softmax"}) == ["softmax"]


def test_watch_exercises_follow_hint_files():
    for exercise, hint in HINTS.items():
        first_file = hint.file.split(",")[0].strip()
        assert exercise in watch.exercises_for([first_file]), f"{exercise} not run when {first_file} changes"


def test_watch_score_lines_parsed():
    output = "\n".join([
        "..F",
        "================ lab score ================",
        "sigmoid   6/12",
        "softmax   0/16  not started",
        "total     6/28",
        "This score covers the public tests run on this machine; the final grade may include more tests.",
        "1 failed, 2 passed in 3.1s",
    ])
    assert watch.score_lines(output) == ["sigmoid   6/12", "softmax   0/16  not started", "total     6/28"]


def test_watch_first_failure_strips_hint():
    hint = get_hint("sigmoid")
    results = {"tests": [
        {"name": "test_a", "number": "sigmoid", "status": "passed", "output": ""},
        {"name": "test_b", "number": "sigmoid", "status": "failed",
         "output": f"{hint.render()}\n\nexpected 1, got 0.5"},
    ]}
    assert watch.first_failure(results) == ("test_b", "sigmoid", "expected 1, got 0.5")


def test_watch_first_failure_none_when_all_pass():
    results = {"tests": [{"name": "test_a", "number": "sigmoid", "status": "passed", "output": ""}]}
    assert watch.first_failure(results) is None


def test_watch_unknown_exercise_exits_2():
    completed = run_lab("watch", "backprop")
    assert completed.returncode == 2
    assert "unknown exercise 'backprop'" in completed.stderr


def test_watch_missing_folder_exits_2(tmp_path):
    completed = run_lab("watch", "--impl", str(tmp_path / "absent"))
    assert completed.returncode == 2
    assert "not found" in completed.stderr


def test_watch_folder_without_exercises_exits_2(tmp_path):
    (tmp_path / "notes.txt").write_text("not an exercise")
    completed = run_lab("watch", "--impl", str(tmp_path))
    assert completed.returncode == 2
    assert f"--impl {tmp_path} contains none of activations.py" in completed.stderr


def test_watch_zip_file_says_unzip(tmp_path):
    archive = tmp_path / "submission.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        writer.writestr("activations.py", "")
    completed = run_lab("watch", "--impl", str(archive))
    assert completed.returncode == 2
    assert f"{archive} is a zip file, not a folder; unzip it" in completed.stderr


def test_watch_rejects_zero_interval():
    completed = run_lab("watch", "--interval", "0")
    assert completed.returncode == 2


# --- watch: a real session -------------------------------------------------------------------------


class Watcher:
    """``python -m lab watch`` in a subprocess, its stdout read line by line on a thread."""

    def __init__(self, *args):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lab", "watch", *args], cwd=PROJECT_ROOT, env=lab_environment(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            # A shell that starts jobs in the background makes them ignore SIGINT, and
            # children inherit that; restore the default so Ctrl-C can be simulated.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern, timeout=WATCH_TIMEOUT):
        """Return the first new stdout line matching ``pattern``; fail after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s; output so far:\n"
                             + "\n".join(self.seen))

    def interrupt(self):
        """Send SIGINT and return (exit code, stderr)."""
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return code, self.process.stderr.read()

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def save_with_later_mtime(path, text):
    """Write ``text`` to ``path`` and move its mtime one second on, so the next poll detects a change."""
    path.write_text(text)
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))


@pytest.fixture(scope="module")
def watch_session(tmp_path_factory):
    """Watch the sigmoid exercise in a copy of solutions/: save it unchanged, break it, press Ctrl-C.

    Returns a dict with the lines printed after each save, the exit code and stderr.
    """
    folder = tmp_path_factory.mktemp("watch") / "impl"
    shutil.copytree(PROJECT_ROOT / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
    activations = folder / "activations.py"
    source = activations.read_text()
    broken = source.replace("positive_branch = 1.0 / (1.0 + exp_neg_abs)",
                            "positive_branch = 0.5 / (1.0 + exp_neg_abs)")
    assert broken != source, "the solutions' sigmoid changed; update the edit this fixture makes"

    watcher = Watcher("sigmoid", "--impl", str(folder), "--interval", "0.2")
    session = {}
    try:
        session["banner"] = watcher.wait_for(r"^Watching ")

        save_with_later_mtime(activations, source + "\n# saved again\n")
        first = len(watcher.seen)
        watcher.wait_for(r"^\s+total\s+\d")
        session["unchanged"] = watcher.seen[first:]

        save_with_later_mtime(activations, broken)
        first = len(watcher.seen)
        watcher.wait_for(r"^\s+hint: ")
        session["broken"] = watcher.seen[first:]

        session["exit_code"], session["stderr"] = watcher.interrupt()
    finally:
        watcher.close()
    return session


def test_watch_banner_names_watched_file(watch_session):
    assert watch_session["banner"].startswith("Watching activations.py in ")


def test_watch_save_runs_that_exercise(watch_session):
    assert any(line.endswith("activations.py changed: running sigmoid") for line in watch_session["unchanged"])


def test_watch_save_shows_full_score(watch_session):
    (score,) = [line for line in watch_session["unchanged"] if re.match(r"^\s+sigmoid\s+\d", line)]
    points = re.search(r"(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)", score)
    assert points.group(1) == points.group(2), score


def test_watch_save_runs_no_other_exercise(watch_session):
    assert not any(re.match(r"^\s+softmax\s+\d", line) for line in watch_session["unchanged"])


def test_watch_passing_run_has_no_failure(watch_session):
    assert not any("first failure" in line for line in watch_session["unchanged"])


def test_watch_broken_sigmoid_shows_first_failure(watch_session):
    failures = [line for line in watch_session["broken"] if "first failure: " in line]
    assert len(failures) == 1
    assert "test_sigmoid" in failures[0]


def test_watch_broken_sigmoid_points_to_hint(watch_session):
    assert watch_session["broken"][-1].strip() == "hint: python -m lab hint sigmoid"


def test_watch_sigint_exits_0(watch_session):
    assert watch_session["exit_code"] == 0


def test_watch_sigint_prints_stop_message(watch_session):
    assert watch_session["stderr"].strip().splitlines()[-1] == "watch stopped"


def test_watch_sigint_while_idle_exits_0(tmp_path):
    shutil.copy(PROJECT_ROOT / "exercises" / "activations.py", tmp_path / "activations.py")
    watcher = Watcher("--impl", str(tmp_path), "--interval", "0.2")
    try:
        watcher.wait_for(r"^Watching ")
        code, stderr = watcher.interrupt()
    finally:
        watcher.close()
    assert code == 0
    assert stderr.strip().splitlines()[-1] == "watch stopped"
