"""Detect a student function that calls TensorFlow's or Keras' own version of itself.

The check runs the function once under a Python profiler and looks for calls into the
library functions that every public alias ends in: ``tf.math.sigmoid``,
``tf.nn.sigmoid``, ``tf.keras.activations.sigmoid`` and ``tf.raw_ops.Sigmoid`` all reach
``gen_math_ops.sigmoid``, however they were imported. ``tf.function`` code runs eagerly
during the check, so a traced function cannot hide its calls.
"""

import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

_SIGMOID = (
    ("tensorflow.python.ops.gen_math_ops", "sigmoid"),
)
_SOFTMAX = (
    ("tensorflow.python.ops.gen_nn_ops", "softmax"),
    ("tensorflow.python.ops.gen_nn_ops", "log_softmax"),
)
_RELU = (
    ("tensorflow.python.ops.gen_nn_ops", "relu"),
)
_CROSSENTROPY = (
    ("tensorflow.python.ops.gen_nn_ops", "sparse_softmax_cross_entropy_with_logits"),
    ("tensorflow.python.ops.gen_nn_ops", "softmax_cross_entropy_with_logits"),
    # Keras computes a crossentropy of probabilities with plain ops, so its own
    # functions are the only trace of it. The paths are those of Keras 3; a Keras
    # that lays its modules out differently is not checked.
    ("keras.src.backend.tensorflow.nn", "categorical_crossentropy"),
    ("keras.src.backend.tensorflow.nn", "sparse_categorical_crossentropy"),
    ("keras.src.backend.tensorflow.nn", "binary_crossentropy"),
)

# The library functions each exercise must not call, and the text a message names them by.
LIBRARY_FUNCTIONS = {
    "sigmoid": (_SIGMOID, "TensorFlow's own sigmoid (tf.math.sigmoid, tf.nn.sigmoid, tf.sigmoid "
                "and tf.keras.activations.sigmoid all run it)"),
    "softmax": (_SOFTMAX, "TensorFlow's own softmax (tf.nn.softmax, tf.math.softmax, "
                "tf.nn.log_softmax and tf.keras.activations.softmax all run it)"),
    "crossentropy": (_CROSSENTROPY + _SOFTMAX,
                     "a TensorFlow or Keras crossentropy or softmax (such as "
                     "tf.nn.sparse_softmax_cross_entropy_with_logits, "
                     "tf.keras.losses.sparse_categorical_crossentropy or tf.nn.softmax)"),
    "model": (_SIGMOID + _SOFTMAX, "TensorFlow's own sigmoid or softmax (tf.math.sigmoid, "
              "tf.nn.softmax or their Keras versions)"),
    "relu": ((("tensorflow.python.ops.gen_nn_ops", "relu"),),
             "TensorFlow's own relu (tf.nn.relu, tf.keras.activations.relu and "
             "tf.keras.layers.ReLU all run it)"),
}


@dataclass(frozen=True)
class LibraryCall:
    """A forbidden call: the library function reached and the student's line that led there."""

    function: str  # e.g. "tensorflow.python.ops.gen_math_ops.sigmoid"
    location: str  # e.g. "activations.py:14", or "" when no frame lies in the folder


def _code_objects(paths):
    """Return ``{code object: dotted name}`` for the library functions already imported."""
    codes = {}
    for module_name, attribute in paths:
        module = sys.modules.get(module_name)
        function = getattr(module, attribute, None) if module is not None else None
        if function is None:
            continue  # Keras not imported, or laid out differently: nothing to watch
        code = getattr(inspect.unwrap(function), "__code__", None)
        if code is not None:
            codes[code] = f"{module_name}.{attribute}"
    return codes


def _student_location(frame, folder):
    """Return ``file:line`` of the innermost caller frame inside ``folder``, or ''."""
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_absolute() and path.resolve().is_relative_to(folder):
            return f"{path.name}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


def find_library_call(exercise, function, args, folder):
    """Call ``function(*args)`` and return the first forbidden LibraryCall it makes, or None.

    ``exercise`` selects the forbidden functions from LIBRARY_FUNCTIONS, and ``folder``
    is the implementation folder whose line is reported. Exceptions from ``function``
    propagate, so an unwritten stub still reads as not started.
    """
    paths, _ = LIBRARY_FUNCTIONS[exercise]
    codes = _code_objects(paths)
    folder = Path(folder).resolve()
    found = []

    def profile(frame, event, arg):
        if event == "call" and not found and frame.f_code in codes:
            found.append(LibraryCall(codes[frame.f_code], _student_location(frame, folder)))

    previous_profile = sys.getprofile()
    ran_eagerly = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    sys.setprofile(profile)
    try:
        function(*args)
    finally:
        sys.setprofile(previous_profile)
        tf.config.run_functions_eagerly(ran_eagerly)
    return found[0] if found else None


def describe(exercise, call, subject):
    """Return the message for a forbidden ``call`` made by ``subject`` (e.g. "sigmoid")."""
    _, library = LIBRARY_FUNCTIONS[exercise]
    where = f" (reached from {call.location})" if call.location else ""
    return (
        f"{subject} calls {library}{where}; this exercise asks you to write it from "
        f"basic ops such as tf.exp, tf.reduce_max, tf.reduce_sum and tf.math.log"
    )
