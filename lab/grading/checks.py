"""Assertions for graded tests: each failure message states expected vs got and the tolerance.

A GradedFailure carries a message a student can act on. The plugin shows it under the
exercise's hint instead of a traceback. ``assert_close`` can also name a known mistake
when the wrong result is exactly what that mistake produces.
"""

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

# Elements of an array shown in a message before it is cut short.
SHOWN_ELEMENTS = 6


class GradedFailure(AssertionError):
    """A graded check failed. Its message is shown to the student as it is."""


@dataclass(frozen=True)
class Mistake:
    """A known mistake: the result it produces, and the advice shown when a result matches."""

    result: object
    advice: str


def to_numpy(value):
    """Convert a tensor, array or number to a NumPy array (float64 for floats)."""
    array = np.asarray(value)
    if array.dtype.kind == "f":
        array = array.astype(np.float64)
    return array


def format_value(value):
    """Return a number or an array as short text: 8 significant digits, at most 6 elements."""
    array = np.asarray(value)
    if array.ndim == 0:
        return f"{float(array):.8g}"
    flat = np.ravel(array)
    shown = ", ".join(f"{float(element):.8g}" for element in flat[:SHOWN_ELEMENTS])
    more = f", ... ({flat.size} values)" if flat.size > SHOWN_ELEMENTS else ""
    return f"[{shown}{more}]"


def numeric_array(value, what):
    """Return ``value`` as a float64 or int array, or raise GradedFailure naming its type."""
    if value is None:
        raise GradedFailure(f"{what}: got None; does the function return its result?")
    try:
        array = to_numpy(value)
    except (TypeError, ValueError) as error:
        raise GradedFailure(
            f"{what}: got a {type(value).__name__} that is not a tensor of numbers ({error})"
        ) from None
    if array.dtype.kind not in "fiub":
        raise GradedFailure(
            f"{what}: got a {type(value).__name__} of {array.dtype} values, expected numbers"
        )
    return array.astype(np.float64)


def _close(got, expected, rtol, atol):
    """Return True when the arrays have one shape and agree elementwise within tolerance."""
    if got.shape != expected.shape:
        return False
    return bool(np.all(np.abs(got - expected) <= atol + rtol * np.abs(expected)))


def assert_close(got, expected, *, what, rtol=1e-6, atol=1e-6, mistakes=(), advice=""):
    """Fail unless ``got`` equals ``expected`` elementwise within ``atol + rtol * |expected|``.

    The message names ``what`` was checked, both shapes when they differ, and for arrays
    the worst element, its index and the tolerance used. NaN and inf count as the worst
    elements. Each Mistake whose result ``got`` matches within the same tolerance adds
    its advice; ``advice`` is added when no Mistake matches.
    """
    got_array = numeric_array(got, what)
    expected_array = to_numpy(expected).astype(np.float64)
    matched = [
        mistake.advice
        for mistake in mistakes
        if _close(got_array, to_numpy(mistake.result).astype(np.float64), rtol, atol)
    ]
    if not matched and advice:
        matched = [advice]
    advice_lines = "".join(f"\n  {text}" for text in matched)

    if got_array.shape != expected_array.shape:
        raise GradedFailure(
            f"{what}: expected shape {expected_array.shape}, got shape {got_array.shape}"
            f"{advice_lines}"
        )

    error = np.abs(got_array - expected_array)
    allowed = atol + rtol * np.abs(expected_array)
    not_finite = ~np.isfinite(got_array)
    failing = not_finite | (error > allowed)
    if not np.any(failing):
        return

    if np.any(not_finite):
        worst = tuple(int(i) for i in np.argwhere(not_finite)[0])
    else:
        worst = tuple(int(i) for i in np.unravel_index(np.argmax(error - allowed), error.shape))
    lines = [
        f"{what}: expected {format_value(expected_array)}, got {format_value(got_array)}",
        f"  worst element at index {worst}: expected {format_value(expected_array[worst])}, "
        f"got {format_value(got_array[worst])} "
        f"(tolerance: atol {atol:g} + rtol {rtol:g} * |expected|)",
    ]
    if np.any(not_finite):
        lines.append(
            f"  {int(not_finite.sum())} of {got_array.size} elements are NaN or inf"
        )
    raise GradedFailure("\n".join(lines) + advice_lines)


def assert_finite(got, *, what, advice=""):
    """Fail if any element of ``got`` is NaN or inf, naming the first one and its index."""
    got_array = numeric_array(got, what)
    not_finite = ~np.isfinite(got_array)
    if not np.any(not_finite):
        return
    index = tuple(int(i) for i in np.argwhere(not_finite)[0])
    message = (
        f"{what}: expected finite values, got {format_value(got_array[index])} at index "
        f"{index} ({int(not_finite.sum())} of {got_array.size} elements are NaN or inf)"
    )
    raise GradedFailure(message + (f"\n  {advice}" if advice else ""))


def assert_shape(got, expected_shape, *, what, advice=""):
    """Fail unless ``got`` has ``expected_shape``."""
    shape = tuple(np.shape(got)) if not tf.is_tensor(got) else tuple(got.shape)
    if shape != tuple(expected_shape):
        message = f"{what}: expected shape {tuple(expected_shape)}, got shape {shape}"
        raise GradedFailure(message + (f"\n  {advice}" if advice else ""))


def assert_dtype(got, expected_dtype, *, what, advice=""):
    """Fail unless ``got`` (a tensor, array or variable) has ``expected_dtype``."""
    dtype = getattr(got, "dtype", None)
    name = tf.as_dtype(dtype).name if dtype is not None else type(got).__name__
    if dtype is None or tf.as_dtype(dtype) != tf.as_dtype(expected_dtype):
        message = f"{what}: expected dtype {tf.as_dtype(expected_dtype).name}, got {name}"
        raise GradedFailure(message + (f"\n  {advice}" if advice else ""))


def check(condition, message):
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        raise GradedFailure(message)


def gradient(function, inputs, *, what, weights=None):
    """Return ``(outputs, d sum(weights * outputs) / d inputs)`` recorded by a GradientTape.

    ``weights`` (same shape as the outputs, default all ones) makes every output element
    count differently, so a gradient that mixes up elements shows. Raises GradedFailure
    when the tape records no gradient, which is what NumPy code or ``.numpy()`` inside
    ``function`` causes.
    """
    inputs = tf.convert_to_tensor(inputs, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = function(inputs)
        if not tf.is_tensor(outputs):
            raise GradedFailure(
                f"{what}: returned a {type(outputs).__name__}, not a TensorFlow tensor, so "
                f"the tape cannot differentiate it; compute it with TensorFlow ops, not "
                f"NumPy or .numpy()"
            )
        weighted = outputs if weights is None else outputs * weights
        objective = tf.reduce_sum(weighted)
    grads = tape.gradient(objective, inputs)
    if grads is None:
        raise GradedFailure(
            f"{what}: the tape recorded no gradient; compute it with TensorFlow ops only "
            f"(no NumPy, no .numpy(), no tf.stop_gradient on the input) so that "
            f"tf.GradientTape can follow it"
        )
    return outputs, grads
