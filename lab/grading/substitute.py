"""Grade the loss and the model on their own, with the lab's sigmoid and softmax.

``losses.py`` and ``model.py`` call the sigmoid and softmax of ``activations.py``. While
the crossentropy and model exercises are graded, the lab's reference versions take their
place, so a wrong or unwritten softmax costs points in the softmax exercise only. The
experiment is the one exercise that runs the student's own functions together.
"""

import sys
import types
from contextlib import contextmanager

from ..implementation import ImplementationError
from . import reference

REFERENCE_FUNCTIONS = {"sigmoid": reference.tf_sigmoid, "softmax": reference.tf_softmax}


def import_module(implementation, name):
    """Import one module of ``implementation``, even when ``activations.py`` is broken.

    When ``activations.py`` does not import (a syntax error, say), a stand-in module
    holding the reference sigmoid and softmax serves ``from .activations import ...``
    while ``name`` is imported, so the loss and the model can still be graded. The
    stand-in is removed again, so the activations exercises still fail on the real file.
    Raises ImplementationError when ``name`` itself does not import.
    """
    try:
        return implementation.module(name)
    except ImplementationError:
        if name == "activations" or _activations_import(implementation):
            raise
    with _stand_in_activations(implementation):
        return implementation.module(name)


def _activations_import(implementation):
    try:
        implementation.module("activations")
    except ImplementationError:
        return False
    return True


@contextmanager
def _stand_in_activations(implementation):
    qualified = f"{implementation.package}.activations"
    stand_in = types.ModuleType(qualified)
    stand_in.__dict__.update(REFERENCE_FUNCTIONS)
    sys.modules[qualified] = stand_in
    try:
        yield
    finally:
        if sys.modules.get(qualified) is stand_in:
            del sys.modules[qualified]
        package = sys.modules.get(implementation.package)
        if getattr(package, "activations", None) is stand_in:
            delattr(package, "activations")


@contextmanager
def reference_activations(implementation, module_name, functions=None):
    """Run the block with the reference sigmoid and softmax in ``module_name``.

    ``functions`` maps ``"sigmoid"`` and ``"softmax"`` to the functions to put in place
    (default: the references, ``REFERENCE_FUNCTIONS``). Replaces the names ``sigmoid`` and ``softmax`` in that module's globals (where
    ``from .activations import ...`` put them) and in the activations module (for code
    that calls ``activations.softmax``), and restores them afterwards. Yields the module.
    """
    module = import_module(implementation, module_name)
    targets = [module]
    try:
        targets.append(implementation.module("activations"))
    except ImplementationError:
        pass  # import_module already gave module_name a stand-in to import from

    saved = []
    try:
        for target in targets:
            for name, function in (functions or REFERENCE_FUNCTIONS).items():
                if name in vars(target):
                    saved.append((target, name, vars(target)[name]))
                    setattr(target, name, function)
        yield module
    finally:
        for target, name, original in reversed(saved):
            setattr(target, name, original)
