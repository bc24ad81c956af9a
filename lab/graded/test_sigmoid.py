"""Graded tests of the sigmoid exercise (``sigmoid`` in activations.py).

Expected values come from a float64 NumPy sigmoid. The gradient at z = 50 must be below
1e-20 but not 0: that tiny, nonzero gradient is what the experiment measures.
"""

import numpy as np
import pytest
import tensorflow as tf

from lab.grading import from_scratch
from lab.grading.checks import Mistake, assert_close, assert_dtype, assert_finite
from lab.grading.checks import assert_shape, check, gradient
from lab.grading.reference import np_sigmoid

pytestmark = pytest.mark.exercise("sigmoid")

@pytest.mark.points(2)
def test_sigmoid_known_values(impl):
    z = tf.constant([-2.0, 0.0, 10.0, 20.0, 30.0])
    expected = np.array([0.11920292, 0.5, 0.9999546, 1.0, 1.0], dtype=np.float32)
    assert_close(impl.sigmoid(z), expected, what="sigmoid([-2, 0, 10, 20, 30])", rtol=1e-6, atol=0)


@pytest.mark.points(1)
def test_sigmoid_matches_reference_on_range(impl):
    z = np.linspace(-30.0, 30.0, 121, dtype=np.float32)
    mistakes = [
        Mistake(np_sigmoid(-z), "this is sigmoid(-z): check the sign inside exp"),
        Mistake(np.tanh(z), "this is tanh(z), not the logistic function"),
    ]
    assert_close(impl.sigmoid(tf.constant(z)), np_sigmoid(z), what="sigmoid on [-30, 30]",
                 rtol=1e-6, atol=1e-7, mistakes=mistakes)


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "shape", [(), (7,), (4, 3)], ids=["scalar", "vector", "matrix"]
)
def test_sigmoid_keeps_shape_and_dtype(impl, shape):
    z = tf.reshape(tf.linspace(-3.0, 3.0, int(np.prod(shape, dtype=int))), shape)
    result = impl.sigmoid(z)
    assert_shape(result, shape, what=f"sigmoid of a float32 tensor of shape {shape}")
    assert_dtype(result, tf.float32, what=f"sigmoid of a float32 tensor of shape {shape}",
                 advice="keep float32 throughout: no float64 constants or NumPy math")


@pytest.mark.points(2)
def test_sigmoid_gradient_equals_s_times_one_minus_s(impl):
    z = np.array([-8.0, -3.0, -1.0, 0.0, 0.5, 2.0, 6.0], dtype=np.float32)
    _, grads = gradient(impl.sigmoid, z, what="d sigmoid(z) / dz")
    s = np_sigmoid(z)
    mistakes = [
        Mistake(np.where(z == 0, 0.0, s * (1 - s)),
                "the gradient is 0 at z = 0 only: tf.abs has a gradient of 0 there; build "
                "-|z| with tf.where instead"),
    ]
    assert_close(grads, s * (1.0 - s), what="d sigmoid(z) / dz at z = [-8, -3, -1, 0, 0.5, 2, 6]",
                 rtol=1e-5, atol=1e-7, mistakes=mistakes)


@pytest.mark.points(2)
def test_sigmoid_gradient_saturates_but_survives(impl):
    _, grads = gradient(impl.sigmoid, [50.0], what="d sigmoid(z) / dz at z = 50")
    value = float(grads[0])
    check(np.isfinite(value), f"d sigmoid(z) / dz at z = 50: expected about 1.9e-22, got {value}")
    check(value < 1e-20,
          f"d sigmoid(z) / dz at z = 50: expected below 1e-20 (about 1.9e-22), got {value:.3g}; "
          f"at z = 50 the sigmoid is saturated and its gradient all but vanishes")
    check(value > 0.0,
          "d sigmoid(z) / dz at z = 50: expected about 1.9e-22, got exactly 0; the lab measures "
          "gradients this small, so they must not round to 0. The form 1 / (1 + exp(-z)) keeps "
          "exp(-50) = 1.9e-22 alive, while tf.math.sigmoid or a tanh form returns 0")


@pytest.mark.points(1)
def test_sigmoid_extreme_inputs_finite(impl):
    # exp(100) overflows float32. The textbook 1 / (1 + exp(-z)) still returns 0 at
    # z = -100, but its gradient there is 0 * inf = NaN.
    z = np.array([-1000.0, -100.0, 100.0, 1000.0], dtype=np.float32)
    values, grads = gradient(impl.sigmoid, z, what="d sigmoid(z) / dz at z = +-100 and +-1000")
    assert_finite(values, what="sigmoid at z = [-1000, -100, 100, 1000]",
                  advice="exp of a large argument overflows to inf in float32")
    assert_close(values, [0.0, 3.7e-44, 1.0, 1.0], what="sigmoid at z = [-1000, -100, 100, 1000]",
                 rtol=0, atol=1e-30)
    assert_finite(grads, what="d sigmoid(z) / dz at z = [-1000, -100, 100, 1000]",
                  advice="exp(-z) overflows for z below about -88, and an inf anywhere in the "
                  "computation, even in the branch tf.where does not pick, makes the gradient "
                  "NaN; compute exp only of -|z|, which cannot overflow")


@pytest.mark.points(1)
def test_sigmoid_written_from_scratch(impl):
    z = tf.constant([-1.0, 0.0, 2.0])
    call = from_scratch.find_library_call("sigmoid", impl.sigmoid, (z,), impl.path)
    check(call is None, call and from_scratch.describe("sigmoid", call, "sigmoid"))
