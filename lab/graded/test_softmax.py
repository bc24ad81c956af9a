"""Graded tests of the softmax exercise (``softmax`` in activations.py).

Logits are laid out as ``(n_classes, n_examples)``, so each column must become a
probability distribution. Expected values come from a float64 NumPy softmax over axis 0.
"""

import numpy as np
import pytest
import tensorflow as tf

from lab.grading import from_scratch
from lab.grading.checks import assert_close, assert_dtype, assert_finite
from lab.grading.checks import assert_shape, check, gradient, numeric_array
from lab.grading.reference import np_softmax

pytestmark = pytest.mark.exercise("softmax")

WRONG_AXIS = ("this is the softmax over axis 1 (each row sums to 1); classes are on axis 0, "
              "so reduce with axis=0 and keepdims=True")
GLOBAL_SUM = ("all entries together sum to 1: divide each column by its own sum "
              "(axis=0, keepdims=True), not by the sum of the whole matrix")
NO_SHIFT = ("exp of a logit above about 88 overflows to inf in float32, and inf / inf is NaN: "
            "subtract each column's maximum (axis=0, keepdims=True) before tf.exp")
GLOBAL_SHIFT = ("a column whose logits all lie far below the largest logit of the whole matrix "
                "underflows to 0 / 0: subtract each column's own maximum (axis=0), not one "
                "maximum for the whole matrix")


def make_logits(n_classes, n_examples, seed, scale=3.0):
    """Return seeded float32 logits of shape (n_classes, n_examples)."""
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal((n_classes, n_examples))).astype(np.float32)


def diagnose(probs, logits):
    """Return advice naming the mistake that produced ``probs`` from ``logits``, or ''.

    Looks for NaN or inf (no shift, or one shift for the whole matrix), rows that sum to
    1 (the wrong axis) and a matrix that sums to 1 as a whole (one global sum).
    """
    try:
        probs = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError):
        return ""  # not numbers at all: assert_close names the type
    if probs.shape != logits.shape:
        return ""
    if not np.all(np.isfinite(probs)):
        column_has_top_logit = logits.max(axis=0) == logits.max()
        if np.all(np.isfinite(probs[:, column_has_top_logit])):
            return GLOBAL_SHIFT
        return NO_SHIFT
    if np.allclose(probs.sum(axis=0), 1.0, atol=1e-5):
        return ""
    if np.allclose(probs.sum(axis=1), 1.0, atol=1e-5):
        return WRONG_AXIS
    if np.isclose(probs.sum(), 1.0, atol=1e-5):
        return GLOBAL_SUM
    return ""


@pytest.mark.points(1)
@pytest.mark.parametrize("shape", [(10, 7), (4, 4)], ids=["10x7", "square_4x4"])
def test_softmax_columns_sum_to_one(impl, shape):
    logits = make_logits(*shape, seed=1)
    probs = numeric_array(impl.softmax(tf.constant(logits)), what=f"softmax of {shape} logits")
    assert_shape(probs, shape, what=f"softmax of {shape} logits")
    assert_close(probs.sum(axis=0), np.ones(shape[1]),
                 what=f"column sums of softmax of {shape} logits", rtol=0, atol=1e-5,
                 advice=diagnose(probs, logits))


@pytest.mark.points(2)
def test_softmax_matches_tf_softmax_axis_0(impl):
    logits = make_logits(6, 5, seed=2)
    expected = tf.nn.softmax(tf.constant(logits), axis=0)
    probs = impl.softmax(tf.constant(logits))
    assert_close(probs, expected, what="softmax of (6, 5) logits", rtol=1e-5, atol=1e-7,
                 advice=diagnose(probs, logits))


@pytest.mark.points(1)
def test_softmax_shift_invariant(impl):
    logits = make_logits(5, 4, seed=3)
    shift = np.array([[50.0, -30.0, 95.0, 0.0]], dtype=np.float32)  # one constant per column
    got = impl.softmax(tf.constant(logits + shift))
    assert_close(got, np_softmax(logits), what="softmax of logits + [50, -30, 95, 0] per column",
                 rtol=1e-5, atol=1e-6, advice=diagnose(got, logits + shift))


@pytest.mark.points(2)
def test_softmax_large_logits_finite(impl):
    logits = np.array([
        [1000.0, -1000.0, 1000.0, -999.0],
        [999.0, -999.0, -1000.0, -1000.0],
        [0.0, -1000.0, 1000.0, -998.0],
    ], dtype=np.float32)
    probs = impl.softmax(tf.constant(logits))
    what = "softmax of logits of +-1000 with mixed signs"
    assert_finite(probs, what=what, advice=diagnose(probs, logits))
    # float32 spaces numbers near 1000 by 6e-5, so a correct softmax computed another
    # way (through tf.reduce_logsumexp, say) may be off by that much relative.
    assert_close(probs, np_softmax(logits), what=what, rtol=2e-4, atol=1e-6,
                 advice=diagnose(probs, logits))


@pytest.mark.points(1)
@pytest.mark.parametrize("value", [3.0, 500.0])
def test_softmax_equal_logits_uniform(impl, value):
    logits = np.full((4, 3), value, dtype=np.float32)
    probs = impl.softmax(tf.constant(logits))
    assert_close(probs, np.full((4, 3), 0.25),
                 what=f"softmax of (4, 3) logits all equal to {value:g}", rtol=0, atol=1e-6,
                 advice=diagnose(probs, logits))


@pytest.mark.points(1)
@pytest.mark.parametrize("shape", [(10, 5), (3, 1)], ids=["10x5", "one_example"])
def test_softmax_keeps_shape_and_dtype(impl, shape):
    result = impl.softmax(tf.constant(make_logits(*shape, seed=4)))
    assert_shape(result, shape, what=f"softmax of logits of shape {shape}",
                 advice="keep keepdims=True in the reductions so the result stays (n_classes, n_examples)")
    assert_dtype(result, tf.float32, what=f"softmax of float32 logits of shape {shape}")


@pytest.mark.points(1)
def test_softmax_gradient_matches_tf(impl):
    logits = make_logits(4, 3, seed=5)
    weights = tf.constant(make_logits(4, 3, seed=6))
    _, grads = gradient(impl.softmax, logits, what="gradient of softmax", weights=weights)
    _, expected = gradient(lambda x: tf.nn.softmax(x, axis=0), logits,
                           what="gradient of tf.nn.softmax", weights=weights)
    assert_close(grads, expected, what="d sum(w * softmax(logits)) / d logits",
                 rtol=1e-4, atol=1e-6)


@pytest.mark.points(1)
def test_softmax_written_from_scratch(impl):
    logits = tf.constant(make_logits(3, 2, seed=7))
    call = from_scratch.find_library_call("softmax", impl.softmax, (logits,), impl.path)
    check(call is None, call and from_scratch.describe("softmax", call, "softmax"))
