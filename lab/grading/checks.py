"""Assertions for graded tests: each failure says expected vs got, with the tolerance.

A GradedFailure carries a message a student can act on. The plugin shows it under the
exercise's hint instead of a traceback.
"""

import numpy as np


class GradedFailure(AssertionError):
    """A graded check failed; the message is what the student sees."""


def to_numpy(value):
    """Convert a tensor, array or number to a NumPy array (float64 for floats)."""
    array = np.asarray(value)
    if array.dtype.kind == "f":
        array = array.astype(np.float64)
    return array


def _format_array(array, limit=6):
    flat = np.ravel(array)
    shown = ", ".join(f"{v:.8g}" for v in flat[:limit])
    more = f", ... ({flat.size} values)" if flat.size > limit else ""
    return f"[{shown}{more}]" if np.ndim(array) else f"{float(array):.8g}"


def assert_close(got, expected, *, what, rtol=1e-6, atol=1e-6):
    """Fail unless ``got`` equals ``expected`` elementwise within ``atol + rtol * |expected|``.

    The message names ``what`` was checked, both shapes when they differ, and for arrays
    the worst element, its index and the tolerance used.
    """
    got_array = to_numpy(got)
    expected_array = to_numpy(expected)
    if got_array.shape != expected_array.shape:
        raise GradedFailure(
            f"{what}: expected shape {expected_array.shape}, got shape {got_array.shape}"
        )
    if not np.all(np.isfinite(got_array)) and np.all(np.isfinite(expected_array)):
        bad = np.argwhere(~np.isfinite(got_array))
        index = tuple(int(i) for i in bad[0]) if got_array.ndim else ()
        value = got_array[index] if got_array.ndim else got_array
        raise GradedFailure(
            f"{what}: expected finite values, got {value} at index {index} "
            f"({len(bad)} non-finite of {got_array.size})"
        )
    error = np.abs(got_array - expected_array)
    allowed = atol + rtol * np.abs(expected_array)
    if np.all(error <= allowed):
        return
    worst = np.unravel_index(np.argmax(error - allowed), error.shape) if error.ndim else ()
    raise GradedFailure(
        f"{what}: expected {_format_array(expected_array)}, got {_format_array(got_array)}\n"
        f"  worst element at index {tuple(int(i) for i in worst)}: expected "
        f"{float(expected_array[worst]):.8g}, got {float(got_array[worst]):.8g} "
        f"(tolerance: atol {atol:g} + rtol {rtol:g} * |expected|)"
    )


def check(condition, message):
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        raise GradedFailure(message)
