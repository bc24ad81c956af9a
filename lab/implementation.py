"""Load an implementation of the exercises: ``solutions``, ``exercises`` or any folder.

An implementation is a folder holding ``activations.py``, ``losses.py`` and
``model.py``. The modules import each other relatively (``from .activations import
softmax``), so each folder is imported as a package of its own under a name derived
from its absolute path. A student's submission therefore never picks up
``exercises/``, ``solutions/`` or another submission by accident.
"""

import hashlib
import importlib
import importlib.util
import re
import sys
import types
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The modules every implementation must provide, and the names each must define.
REQUIRED = {
    "activations": ("sigmoid", "softmax"),
    "losses": ("sparse_categorical_crossentropy",),
    "model": ("MultiClassLogisticRegression",),
}

NAMED_IMPLEMENTATIONS = ("solutions", "exercises")


class ImplementationError(Exception):
    """An implementation folder is missing, or one of its modules fails to import.

    ``module`` names the module that failed (``"activations"``, ...) or is None when
    the folder itself is the problem.
    """

    def __init__(self, message, module=None):
        super().__init__(message)
        self.module = module


@dataclass
class Implementation:
    """A folder of exercise modules, imported lazily one module at a time."""

    name: str
    path: Path
    package: str
    _modules: dict = field(default_factory=dict, repr=False)

    def module(self, name):
        """Import and return one of the implementation's modules, e.g. ``"losses"``.

        Raises ImplementationError with the file and line when the module is missing
        or raises while it is imported (a syntax error, say).
        """
        if name not in self._modules:
            self._modules[name] = _import_submodule(self, name)
        return self._modules[name]

    def function(self, module_name, attribute):
        """Return ``attribute`` from one module, or raise ImplementationError if undefined."""
        module = self.module(module_name)
        try:
            return getattr(module, attribute)
        except AttributeError:
            raise ImplementationError(
                f"{self.path / (module_name + '.py')} does not define {attribute}; "
                f"keep the name and signature of the stub",
                module=module_name,
            ) from None

    @property
    def sigmoid(self):
        return self.function("activations", "sigmoid")

    @property
    def softmax(self):
        return self.function("activations", "softmax")

    @property
    def loss(self):
        """The implementation's ``sparse_categorical_crossentropy``."""
        return self.function("losses", "sparse_categorical_crossentropy")

    @property
    def model_class(self):
        return self.function("model", "MultiClassLogisticRegression")


def resolve_path(spec):
    """Return the folder an ``--impl`` value names: ``solutions``, ``exercises`` or a path."""
    spec = str(spec)
    if not spec.strip():
        raise ImplementationError(
            "--impl is empty; pass --impl solutions, --impl exercises or the path of a folder"
        )
    if spec in NAMED_IMPLEMENTATIONS and not Path(spec).is_dir():
        return PROJECT_ROOT / spec
    return Path(spec).expanduser().resolve()


def load_implementation(spec="solutions"):
    """Return the Implementation for ``solutions``, ``exercises`` or a folder path.

    Modules are imported when first used, so a broken ``model.py`` does not stop the
    activations from being graded. Raises ImplementationError when the path does not
    exist, is a file (a zip file, say) or lacks one of the three module files.
    """
    path = resolve_path(spec)
    check_folder(path)
    missing = [f"{name}.py" for name in REQUIRED if not (path / f"{name}.py").is_file()]
    if missing:
        them = "it" if len(missing) == 1 else "them"
        raise ImplementationError(
            f"implementation folder {path} is missing {', '.join(missing)}; copy {them} "
            f"from exercises/ into it and fill {them} in, or pass the folder that contains "
            f"your exercises"
        )
    name = spec if str(spec) in NAMED_IMPLEMENTATIONS else str(path)
    return Implementation(name=name, path=path, package=_package_name(path))


def check_folder(path):
    """Raise ImplementationError unless ``path`` is a folder, saying what it is instead."""
    modules = ", ".join(f"{name}.py" for name in REQUIRED)
    if path.is_dir():
        return
    if path.is_file() and (path.suffix.lower() == ".zip" or zipfile.is_zipfile(path)):
        raise ImplementationError(
            f"{path} is a zip file, not a folder; unzip it and pass the folder that contains {modules}"
        )
    if path.exists():
        raise ImplementationError(
            f"{path} is a file, not a folder; pass --impl solutions, --impl exercises or a "
            f"folder that contains {modules}"
        )
    raise ImplementationError(
        f"implementation folder not found: {path}; pass --impl solutions, --impl exercises "
        f"or a folder that contains {modules}"
    )


def _package_name(path):
    """Return a package name unique to ``path``, e.g. ``_lab_impl_solutions_3f2a9c1e``."""
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    stem = re.sub(r"\W", "_", path.name) or "impl"
    return f"_lab_impl_{stem}_{digest}"


def _ensure_package(implementation):
    """Register the folder as a package so that relative imports inside it work."""
    if implementation.package in sys.modules:
        return
    package = types.ModuleType(implementation.package)
    package.__path__ = [str(implementation.path)]
    package.__file__ = None
    # Leave the folder's own __init__.py unexecuted: a submission's code runs only
    # through the three modules the lab grades.
    package.__package__ = implementation.package
    sys.modules[implementation.package] = package


def _import_submodule(implementation, name):
    _ensure_package(implementation)
    qualified = f"{implementation.package}.{name}"
    file = implementation.path / f"{name}.py"
    if not file.is_file():
        raise ImplementationError(f"{file} not found; copy it from exercises/", module=name)
    try:
        return importlib.import_module(qualified)
    except SyntaxError as error:
        sys.modules.pop(qualified, None)
        where = f"{error.filename}:{error.lineno}"
        raise ImplementationError(
            f"syntax error at {where}: {error.msg}", module=name
        ) from error
    except SystemExit as error:
        # sys.exit() in a student's module would end the whole run without a word.
        sys.modules.pop(qualified, None)
        raise ImplementationError(
            f"{file} called sys.exit({error.code!r}) while being imported; remove that "
            f"call, because a module of the exercises must only define functions",
            module=name,
        ) from None
    except Exception as error:  # a student's module may raise anything at import
        sys.modules.pop(qualified, None)
        where = _innermost_frame_in(error, implementation.path) or str(file)
        raise ImplementationError(
            f"{type(error).__name__} while importing {where}: {error}", module=name
        ) from error


def _innermost_frame_in(error, folder):
    """Return ``file:line`` of the deepest traceback frame inside ``folder``, or None."""
    location = None
    traceback = error.__traceback__
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if Path(filename).resolve().is_relative_to(folder):
            location = f"{filename}:{traceback.tb_lineno}"
        traceback = traceback.tb_next
    return location


def find_unwritten(implementation):
    """Return the names of exercise functions that still raise NotImplementedError.

    Each function is called once on a tiny input. Other errors are left to the graded
    tests, which report what is wrong.
    """
    import tensorflow as tf

    logits = tf.constant([[1.0, -1.0], [0.5, 2.0]])
    labels = tf.constant([0, 1])
    probes = {
        "sigmoid": lambda: implementation.sigmoid(logits),
        "softmax": lambda: implementation.softmax(logits),
        "sparse_categorical_crossentropy": lambda: implementation.loss(
            labels, tf.constant([[0.6, 0.3], [0.4, 0.7]])
        ),
        "MultiClassLogisticRegression.build": lambda: implementation.model_class(2).build(2),
        "MultiClassLogisticRegression.predict": lambda: _probe_predict(implementation),
    }
    return unwritten_among(probes)


def unwritten_among(probes):
    """Call each probe and return the names of those whose function is still a stub.

    ``probes`` maps a function's name, such as ``"MultiClassLogisticRegression.predict"``,
    to a callable that calls it once. A NotImplementedError counts only when the named
    function raised it itself: predict calls sigmoid and softmax, and a stub there is
    not predict's fault.
    """
    unwritten = []
    for name, probe in probes.items():
        try:
            probe()
        except NotImplementedError as error:
            if _innermost_function(error) == name.rsplit(".", 1)[-1]:
                unwritten.append(name)
        except Exception:  # wrong, but written: the graded tests report what is wrong
            pass
    return unwritten


def _innermost_function(error):
    traceback = error.__traceback__
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback.tb_frame.f_code.co_name


def _probe_predict(implementation):
    import tensorflow as tf

    model = implementation.model_class(2)
    model.weights = tf.Variable(tf.ones((2, 2)))
    model.bias = tf.Variable(tf.zeros((2, 1)))
    return model.predict(tf.ones((2, 2)))


def describe_failure(error, implementation):
    """Return a one-line message naming where in ``implementation`` an error was raised."""
    where = _innermost_frame_in(error, implementation.path)
    place = f" at {where}" if where else ""
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return (
        f"the implementation in {implementation.path} raised {type(error).__name__}{place}: "
        f"{first_line[:300]}; run the graded tests (pytest with --impl) to see which exercise fails"
    )
