"""The reference solutions against independent references.

References: ``tf.math.sigmoid``, ``tf.nn.softmax`` and a float64 NumPy crossentropy.
The sigmoid's gradient for large z is compared with the textbook form, because
``tf.math.sigmoid`` returns exactly 0 there and the lesson needs the tiny true value.
"""

import math

import numpy as np
import pytest
import tensorflow as tf

from solutions.activations import sigmoid, softmax
from solutions.losses import EPSILON, sparse_categorical_crossentropy
from solutions.model import MultiClassLogisticRegression


def sigmoid_and_gradient(function, values):
    z = tf.constant(values, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(z)
        s = function(z)
    return s.numpy(), tape.gradient(s, z).numpy()


def textbook_sigmoid(z):
    return 1.0 / (1.0 + tf.exp(-z))


def numpy_crossentropy(labels, probs):
    """Mean clipped crossentropy in float64, classes on axis 0."""
    probs = np.clip(np.asarray(probs, dtype=np.float64), EPSILON, 1 - EPSILON)
    picked = probs[np.asarray(labels), np.arange(probs.shape[1])]
    return float(np.mean(-np.log(picked)))


def test_sigmoid_matches_tf_sigmoid_on_a_grid():
    z = np.linspace(-80, 80, 1601, dtype=np.float32)
    got = sigmoid(z).numpy()
    expected = tf.math.sigmoid(z).numpy()
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-30)


def test_sigmoid_gradient_matches_s_times_one_minus_s():
    values = np.linspace(-15, 15, 301, dtype=np.float32)
    _, grad = sigmoid_and_gradient(sigmoid, values)
    # In float32, 1 - s cancels catastrophically near s = 1, so the reference is float64.
    s64 = 1.0 / (1.0 + np.exp(-values.astype(np.float64)))
    np.testing.assert_allclose(grad, s64 * (1 - s64), rtol=1e-5, atol=1e-12)


def test_sigmoid_gradient_at_zero_is_a_quarter():
    _, grad = sigmoid_and_gradient(sigmoid, [0.0])
    assert grad[0] == pytest.approx(0.25, abs=1e-7)


@pytest.mark.parametrize("z", [1.0, 10.0, 20.0, 30.0, 50.0, 80.0])
def test_sigmoid_matches_textbook_form_for_positive_z(z):
    s, grad = sigmoid_and_gradient(sigmoid, [z])
    s_textbook, grad_textbook = sigmoid_and_gradient(textbook_sigmoid, [z])
    assert s[0] == s_textbook[0]
    assert grad[0] == pytest.approx(grad_textbook[0], rel=1e-6)


def test_sigmoid_saturated_gradient_nonzero():
    _, grad = sigmoid_and_gradient(sigmoid, [20.0, 50.0])
    assert grad[0] == pytest.approx(math.exp(-20), rel=1e-3)  # about 2.06e-9
    assert grad[1] == pytest.approx(math.exp(-50), rel=1e-3)  # about 1.93e-22
    assert grad[1] > 0.0


@pytest.mark.parametrize("z", [-100.0, -1000.0, -3.4e38, 1000.0, 3.4e38])
def test_sigmoid_finite_value_and_gradient_at_extremes(z):
    s, grad = sigmoid_and_gradient(sigmoid, [z])
    assert np.isfinite(s[0])
    assert np.isfinite(grad[0])
    assert 0.0 <= s[0] <= 1.0


def test_textbook_sigmoid_gradient_is_nan_below_minus_88():
    # The reason the solution rewrites the negative branch: exp(100) overflows.
    _, grad = sigmoid_and_gradient(textbook_sigmoid, [-100.0])
    assert np.isnan(grad[0])


@pytest.mark.parametrize("shape", [(), (5,), (3, 4)])
def test_sigmoid_keeps_shape_and_float32(shape):
    z = tf.zeros(shape)
    s = sigmoid(z)
    assert s.shape == shape
    assert s.dtype == tf.float32


def test_softmax_matches_tf_nn_softmax_axis_0():
    logits = tf.random.stateless_normal((10, 64), seed=(1, 2), stddev=5.0)
    np.testing.assert_allclose(softmax(logits).numpy(), tf.nn.softmax(logits, axis=0).numpy(),
                               rtol=1e-5, atol=1e-7)


def test_softmax_columns_sum_to_one():
    logits = tf.random.stateless_normal((10, 32), seed=(3, 4), stddev=3.0)
    np.testing.assert_allclose(tf.reduce_sum(softmax(logits), axis=0).numpy(), np.ones(32), atol=1e-6)


def test_softmax_finite_for_logits_of_plus_minus_1000():
    logits = tf.constant([[1000.0, -1000.0, 1000.0], [999.0, -1000.0, -1000.0]])
    probs = softmax(logits).numpy()
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs[:, 0], [1 / (1 + math.exp(-1)), 1 / (1 + math.e)], rtol=1e-6)
    np.testing.assert_allclose(probs[:, 1], [0.5, 0.5], rtol=1e-6)
    np.testing.assert_allclose(probs[:, 2], [1.0, 0.0], atol=1e-7)


def test_softmax_gradient_matches_tf_nn_softmax():
    logits = tf.random.stateless_normal((4, 6), seed=(5, 6))
    weights = tf.random.stateless_normal((4, 6), seed=(7, 8))
    grads = []
    for function in (softmax, lambda t: tf.nn.softmax(t, axis=0)):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            value = tf.reduce_sum(weights * function(logits))
        grads.append(tape.gradient(value, logits).numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-7)


def test_loss_matches_float64_numpy_reference():
    probs = tf.nn.softmax(tf.random.stateless_normal((10, 50), seed=(9, 10), stddev=2.0), axis=0)
    labels = np.arange(50) % 10
    got = float(sparse_categorical_crossentropy(labels, probs))
    assert got == pytest.approx(numpy_crossentropy(labels, probs.numpy()), rel=1e-6)


def test_loss_clips_zero_probability_to_minus_ln_1e7():
    probs = tf.constant([[0.0], [1.0]])
    got = float(sparse_categorical_crossentropy(tf.constant([0]), probs))
    assert got == pytest.approx(-math.log(1e-7), rel=1e-5)  # about 16.118


def test_loss_is_ln10_for_uniform_probabilities():
    probs = tf.fill((10, 7), 0.1)
    got = float(sparse_categorical_crossentropy(tf.range(7) % 10, probs))
    assert got == pytest.approx(math.log(10), abs=1e-6)


def test_loss_from_logits_equals_softmax_then_loss():
    logits = tf.random.stateless_normal((10, 20), seed=(11, 12), stddev=4.0)
    labels = tf.range(20) % 10
    from_logits = float(sparse_categorical_crossentropy(labels, logits, from_logits=True))
    two_steps = float(sparse_categorical_crossentropy(labels, tf.nn.softmax(logits, axis=0)))
    assert from_logits == pytest.approx(two_steps, rel=1e-6)


def test_loss_matches_keras_for_transposed_layout():
    probs = tf.nn.softmax(tf.random.stateless_normal((10, 16), seed=(13, 14)), axis=0)
    labels = tf.range(16) % 10
    keras_loss = tf.keras.losses.sparse_categorical_crossentropy(labels, tf.transpose(probs))
    expected = float(tf.reduce_mean(keras_loss))
    assert float(sparse_categorical_crossentropy(labels, probs)) == pytest.approx(expected, rel=1e-5)


def test_model_builds_variables_of_the_documented_shapes():
    model = MultiClassLogisticRegression(10)
    probs = model(tf.zeros((784, 3)))
    assert tuple(model.weights.shape) == (10, 784)
    assert tuple(model.bias.shape) == (10, 1)
    assert tuple(probs.shape) == (10, 3)


def test_model_uniform_weights_lie_in_zero_one():
    tf.random.set_seed(0)
    model = MultiClassLogisticRegression(10)
    model(tf.zeros((784, 1)))
    weights = model.weights.numpy()
    assert weights.min() >= 0.0
    assert weights.max() < 1.0
    assert weights.mean() == pytest.approx(0.5, abs=0.01)


def test_model_normal_weights_are_standard_normal():
    tf.random.set_seed(0)
    model = MultiClassLogisticRegression(10, initializer="normal")
    model(tf.zeros((784, 1)))
    weights = model.weights.numpy()
    assert weights.mean() == pytest.approx(0.0, abs=0.03)
    assert weights.std() == pytest.approx(1.0, abs=0.03)


def test_model_creates_variables_once():
    model = MultiClassLogisticRegression(10)
    model(tf.ones((784, 2)))
    first = model.weights
    model(tf.ones((784, 5)))
    assert model.weights is first
    assert len(model.trainable_variables) == 2


def test_model_predict_is_softmax_of_sigmoid_of_logits():
    model = MultiClassLogisticRegression(3, initializer="normal")
    x = tf.random.stateless_uniform((5, 3), seed=(15, 16))  # n_examples == n_classes
    probs = model(x)
    logits = model.weights.numpy() @ x.numpy() + model.bias.numpy()
    activations = 1 / (1 + np.exp(-logits.astype(np.float64)))
    expected = np.exp(activations) / np.exp(activations).sum(axis=0, keepdims=True)
    np.testing.assert_allclose(probs.numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("n_classes", [0, -1, 2.5, True, "10"])
def test_model_rejects_bad_n_classes(n_classes):
    with pytest.raises(ValueError, match="n_classes"):
        MultiClassLogisticRegression(n_classes)


def test_model_rejects_unknown_initializer():
    with pytest.raises(ValueError, match="'zeros'"):
        MultiClassLogisticRegression(10, initializer="zeros")
