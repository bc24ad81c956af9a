"""``python -m lab run`` end to end, as a user runs it, on the bundled and on written data.

Each test starts the command in a subprocess and checks what a user gets: stdout,
stderr and the exit code. No test touches the network.
"""

import gzip
import json
import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lab.data import load_dataset

LN_10 = math.log(10.0)
SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


def run_lab(*args, cwd=None):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "lab", "run", *args],
        capture_output=True, text=True, timeout=300, cwd=cwd, env=env,
    )


def write_idx(path, array, magic):
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


@pytest.fixture(scope="module")
def bundled_run(tmp_path_factory):
    """One default run on the bundled digits, with its JSON."""
    output = tmp_path_factory.mktemp("run") / "results.json"
    completed = run_lab("--json", str(output))
    return completed, json.loads(output.read_text()) if output.exists() else None


@pytest.fixture(scope="module")
def idx_folder(tmp_path_factory):
    """A folder holding one split of real digits as gzip IDX files (the first 600 bundled)."""
    folder = tmp_path_factory.mktemp("idx")
    dataset = load_dataset(samples=600)
    images = np.rint(dataset.x.T.reshape(-1, 28, 28) * 255)
    write_idx(folder / "train-images-idx3-ubyte.gz", images, 0x00000803)
    write_idx(folder / "train-labels-idx1-ubyte.gz", dataset.labels, 0x00000801)
    return folder


def test_run_exits_zero_on_bundled_data(bundled_run):
    completed, _ = bundled_run
    assert completed.returncode == 0, completed.stderr


def test_run_uniform_loss_frozen_at_ln10(bundled_run):
    _, results = bundled_run
    uniform = next(run for run in results["runs"] if run["init"] == "uniform")
    assert len(uniform["loss"]) == 10
    assert all(abs(loss - LN_10) < 1e-5 for loss in uniform["loss"])
    assert len(set(uniform["loss"])) == 1


def test_run_uniform_gradients_below_1e7(bundled_run):
    _, results = bundled_run
    uniform = next(run for run in results["runs"] if run["init"] == "uniform")
    assert max(uniform["grad_abs_max"]) < 1e-7
    assert min(uniform["grad_abs_max"]) > 0.0


def test_run_normal_loss_goes_down(bundled_run):
    _, results = bundled_run
    normal = next(run for run in results["runs"] if run["init"] == "normal")
    assert normal["loss"][-1] < normal["loss"][0]
    assert max(normal["grad_abs_max"]) > 1e-4


def test_run_json_names_the_dataset(bundled_run):
    _, results = bundled_run
    assert results["dataset"]["source"] == "bundled"
    assert results["dataset"]["n_examples"] == 5000
    assert [run["init"] for run in results["runs"]] == ["uniform", "normal"]


def test_run_prints_tables_and_explanation(bundled_run):
    completed, _ = bundled_run
    for heading in ("Data", "Training from uniform initialization", "One example traced",
                    "Chain-rule factors", "Training from normal initialization",
                    "What the numbers show"):
        assert heading in completed.stdout
    assert "2.302583" in completed.stdout


def test_run_reads_an_idx_folder(idx_folder, tmp_path):
    output = tmp_path / "idx.json"
    completed = run_lab("--data", str(idx_folder), "--epochs", "3", "--json", str(output))
    assert completed.returncode == 0, completed.stderr
    results = json.loads(output.read_text())
    assert results["dataset"]["n_examples"] == 600
    uniform = results["runs"][0]
    assert all(abs(loss - LN_10) < 1e-5 for loss in uniform["loss"])


def assert_one_line_error(completed, *fragments):
    """Exit code 2, one line on stderr naming each fragment, no traceback."""
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_run_missing_data_path_exits_2(tmp_path):
    missing = tmp_path / "no" / "such" / "file"
    assert_one_line_error(run_lab("--data", str(missing)), str(missing), "not found")


def test_run_truncated_idx_exits_2(idx_folder, tmp_path):
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (tmp_path / name).write_bytes((idx_folder / name).read_bytes())
    images = tmp_path / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(images.read_bytes())
    images.write_bytes(gzip.compress(raw[: len(raw) // 2]))
    assert_one_line_error(run_lab("--data", str(tmp_path)), "train-images-idx3-ubyte.gz", "truncated")


def test_run_npz_missing_key_exits_2(tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.zeros((3, 28, 28), np.uint8))
    assert_one_line_error(run_lab("--data", str(path)), str(path), "y_train")


@pytest.mark.parametrize("option, value", [
    ("--epochs", "0"), ("--epochs", "ten"), ("--lr", "-1"), ("--lr", "nan"),
    ("--samples", "0"), ("--seed", "-3"), ("--init", "zeros"), ("--dataset", "cifar"),
])
def test_run_bad_option_exits_2(option, value):
    completed = run_lab(option, value)
    assert_one_line_error(completed, option, value)


def test_run_missing_json_folder_exits_2(tmp_path):
    target = tmp_path / "missing" / "results.json"
    assert_one_line_error(run_lab("--json", str(target), "--epochs", "1"), str(target.parent), "does not exist")


def test_run_unwritten_exercises_exit_2():
    completed = run_lab("--impl", "exercises")
    assert_one_line_error(completed, "sigmoid", "not written yet")


def test_run_missing_implementation_folder_exits_2(tmp_path):
    assert_one_line_error(run_lab("--impl", str(tmp_path / "nowhere")), "not found")


@pytest.mark.parametrize("dataset", ["bundled", "keras"])
def test_run_dataset_with_data_exits_2(idx_folder, dataset):
    completed = run_lab("--dataset", dataset, "--data", str(idx_folder), "--epochs", "1")
    assert_one_line_error(completed, f"--dataset {dataset}", f"--data {idx_folder}", "give --data alone")


def test_run_dataset_with_data_fails_before_tensorflow():
    # The conflict is found before the slow TensorFlow import.
    code = ("import sys; from lab.cli import main; "
            "status = main(['run', '--dataset', 'keras', '--data', 'mnist.npz']); "
            "print(status, 'tensorflow' in sys.modules)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.stdout.split() == ["2", "False"]
    assert "both choose the data" in completed.stderr


def zip_solutions(archive):
    with zipfile.ZipFile(archive, "w") as writer:
        for module in ("activations.py", "losses.py", "model.py"):
            writer.write(SOLUTIONS / module, module)
    return archive


def test_run_zip_implementation_says_unzip(tmp_path):
    archive = zip_solutions(tmp_path / "submission.zip")
    completed = run_lab("--impl", str(archive))
    assert_one_line_error(completed, str(archive), "is a zip file, not a folder", "unzip it")


def test_run_plain_file_implementation_says_file(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not an implementation\n")
    completed = run_lab("--impl", str(notes))
    assert_one_line_error(completed, str(notes), "is a file, not a folder")
