"""Tests of lab.training: compiled and eager steps agree, fallbacks, per-epoch stats.

The reference for the numbers is an independent float64 NumPy computation of the loss
and its gradients. Every implementation folder that must fail to compile is written
into tmp_path from the reference solutions, with one change.
"""

import logging
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from lab import classic, training
from lab.data import aligned_empty, load_dataset
from lab.implementation import load_implementation
from lab.training import EAGER, GRAPH, XLA, TrainStep, build_model, describe_error, train

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"

# Float32 rounding over the 5,000 bundled digits: a sum of n terms is off by about
# sqrt(n) * 6e-8 = 4e-6 of its largest term, and measured differences between modes and
# against float64 stay below 2.5e-6. The tolerances allow 4 to 5 times that.
LOSS_RTOL = 1e-5
GRAD_TOL_OF_MAX = 1e-5  # |got - expected| <= this * max|expected|, elementwise

STEPS = 3
LEARNING_RATE = 0.1
SEED = 4


@pytest.fixture(scope="module")
def digits():
    dataset = load_dataset()
    return tf.constant(dataset.x), tf.constant(dataset.labels), dataset


@pytest.fixture(scope="module")
def solutions():
    return load_implementation("solutions")


def reference_loss_and_gradients(weights, bias, x, labels):
    """Return loss, dL/dW and dL/db of softmax(sigmoid(W @ x + b)) in float64 NumPy.

    The derivatives are written out by hand: dL/dlogits = (probs - one_hot) / n times
    sigmoid'(z), computed as exp(-|z|) / (1 + exp(-|z|))^2 so that it stays accurate
    where the sigmoid is 1.0 in float32. No probability here is near the loss's clipping
    range, so the clip changes neither the loss nor its gradient.
    """
    weights, bias, x = (np.asarray(a, dtype=np.float64) for a in (weights, bias, x))
    labels = np.asarray(labels)
    n_examples = x.shape[1]
    columns = np.arange(n_examples)

    logits = weights @ x + bias
    exp_neg_abs = np.exp(-np.abs(logits))
    activations = np.where(logits >= 0, 1 / (1 + exp_neg_abs), exp_neg_abs / (1 + exp_neg_abs))
    sigmoid_slope = exp_neg_abs / (1 + exp_neg_abs) ** 2
    exps = np.exp(activations - activations.max(axis=0))
    probs = exps / exps.sum(axis=0)

    loss = -np.mean(np.log(probs[labels, columns]))
    one_hot = np.zeros_like(probs)
    one_hot[labels, columns] = 1.0
    d_logits = (probs - one_hot) / n_examples * sigmoid_slope
    return loss, d_logits @ x.T, d_logits.sum(axis=1, keepdims=True)


def assert_gradient_close(got, expected):
    got = np.asarray(got, dtype=np.float64)
    tolerance = GRAD_TOL_OF_MAX * np.max(np.abs(expected))
    worst = np.max(np.abs(got - expected))
    assert worst <= tolerance, f"max |difference| {worst:.3e} > tolerance {tolerance:.3e}"


def run_steps(implementation, x, labels, init, mode):
    """Return [(loss, grad_w, grad_b, summaries)] of STEPS steps in ``mode`` as NumPy."""
    model = build_model(implementation, init, x, SEED)
    step = TrainStep(implementation, model, LEARNING_RATE, compile=mode != EAGER, jit_compile=mode == XLA)
    outputs = [tuple(np.asarray(value) for value in step(x, labels)) for _ in range(STEPS)]
    assert step.mode == mode
    return outputs


def write_implementation(folder, module, *replacements):
    """Copy the solutions into ``folder``, apply ``(old, new)`` replacements to one module."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("activations.py", "losses.py", "model.py"):
        shutil.copy(SOLUTIONS / name, folder / name)
    path = folder / f"{module}.py"
    text = path.read_text()
    for old, new in replacements:
        assert old in text, f"{old!r} not found in {path}"
        text = text.replace(old, new, 1)
    path.write_text(text)
    return load_implementation(str(folder))


def fallback_records(caplog):
    return [record for record in caplog.records if record.name == "lab.training"]


# --- The step against a float64 reference ------------------------------------------


@pytest.mark.parametrize("mode", [EAGER, GRAPH, XLA])
@pytest.mark.parametrize("init", ["uniform", "normal"])
def test_train_step_matches_float64_reference(solutions, digits, init, mode):
    x, labels, dataset = digits
    model = build_model(solutions, init, x, SEED)
    weights, bias = model.weights.numpy(), model.bias.numpy()
    step = TrainStep(solutions, model, LEARNING_RATE, compile=mode != EAGER, jit_compile=mode == XLA)

    loss, grad_w, grad_b, _ = step(x, labels)
    expected_loss, expected_w, expected_b = reference_loss_and_gradients(weights, bias, dataset.x, dataset.labels)

    assert float(loss) == pytest.approx(expected_loss, rel=LOSS_RTOL)
    assert_gradient_close(grad_w, expected_w)
    assert_gradient_close(grad_b, expected_b)


def test_train_step_uniform_gradients_near_1e9(solutions, digits):
    # The frozen case the equivalence tests cover: loss ln(10), dL/dW tiny but not 0.
    x, labels, _ = digits
    loss, grad_w, _, _ = run_steps(solutions, x, labels, "uniform", EAGER)[0]
    assert float(loss) == pytest.approx(math.log(10.0), abs=1e-5)
    assert 1e-11 < np.max(np.abs(grad_w)) < 1e-7


# --- Compiled against eager ---------------------------------------------------------


@pytest.mark.parametrize("mode", [GRAPH, XLA])
@pytest.mark.parametrize("init", ["uniform", "normal"])
def test_train_step_compiled_matches_eager(solutions, digits, init, mode):
    x, labels, _ = digits
    eager = run_steps(solutions, x, labels, init, EAGER)
    compiled = run_steps(solutions, x, labels, init, mode)

    for (eager_loss, eager_w, eager_b, _), (loss, grad_w, grad_b, _) in zip(eager, compiled):
        assert float(loss) == pytest.approx(float(eager_loss), rel=LOSS_RTOL)
        assert_gradient_close(grad_w, eager_w.astype(np.float64))
        assert_gradient_close(grad_b, eager_b.astype(np.float64))


@pytest.mark.parametrize("mode", [GRAPH, XLA])
def test_train_step_compiled_updates_like_eager(solutions, digits, mode):
    x, labels, _ = digits
    models = {}
    for each in (EAGER, mode):
        model = build_model(solutions, "normal", x, SEED)
        step = TrainStep(solutions, model, LEARNING_RATE, compile=each != EAGER, jit_compile=each == XLA)
        for _ in range(STEPS):
            step(x, labels)
        models[each] = model

    # Each update moves a weight by 0.1 * dL/dW, about 4e-4 at most, so the weights
    # agree to float32 rounding of values near 1.
    np.testing.assert_allclose(models[mode].weights.numpy(), models[EAGER].weights.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(models[mode].bias.numpy(), models[EAGER].bias.numpy(), rtol=0, atol=1e-6)


def test_classic_step_matches_lab_step(solutions, digits):
    x, labels, _ = digits
    expected_loss, expected_w, expected_b, _ = run_steps(solutions, x, labels, "normal", EAGER)[0]
    weights, bias = classic.initial_parameters("normal", int(x.shape[0]), seed=SEED)

    loss, grad_w, grad_b = classic.classic_step(weights, bias, x, labels, LEARNING_RATE)

    assert float(loss) == pytest.approx(float(expected_loss), rel=LOSS_RTOL)
    assert_gradient_close(grad_w, expected_w.astype(np.float64))
    assert_gradient_close(grad_b, expected_b.astype(np.float64))


# --- Falling back ------------------------------------------------------------------


def test_train_numpy_call_falls_back_once(tmp_path, digits, solutions, caplog):
    x, labels, _ = digits
    # .numpy() exists only on eager tensors, so tracing this sigmoid fails.
    implementation = write_implementation(
        tmp_path / "numpy_call", "activations",
        ("def sigmoid(z):", "LARGEST_LOGITS = []\n\n\ndef sigmoid(z):"),
        ("    z = tf.convert_to_tensor(z, dtype=tf.float32)\n",
         "    z = tf.convert_to_tensor(z, dtype=tf.float32)\n    LARGEST_LOGITS.append(z.numpy().max())\n"),
    )
    caplog.set_level(logging.WARNING, logger="lab.training")

    runs = [train(implementation, x[:, :500], labels[:500], initializer=init, epochs=STEPS)
            for init in ("uniform", "normal")]
    expected = train(solutions, x[:, :500], labels[:500], initializer="normal", epochs=STEPS)

    records = fallback_records(caplog)
    assert len(records) == 1
    assert "eagerly" in records[0].getMessage()
    assert "activations.py" in records[0].getMessage()
    assert [run.mode for run in runs] == [EAGER, EAGER]
    assert not runs[1].compiled
    np.testing.assert_allclose(runs[1].losses, expected.losses, rtol=LOSS_RTOL)


def test_train_variable_per_call_runs_eagerly(tmp_path, digits, caplog):
    x, labels, _ = digits
    implementation = write_implementation(
        tmp_path / "variable_per_call", "model",
        ("        logits = tf.matmul(self.weights, x) + self.bias",
         "        self.temperature = tf.Variable(1.0)\n"
         "        logits = (tf.matmul(self.weights, x) + self.bias) / self.temperature"),
    )
    caplog.set_level(logging.WARNING, logger="lab.training")

    run = train(implementation, x[:, :500], labels[:500], initializer="normal", epochs=STEPS)

    records = fallback_records(caplog)
    assert len(records) == 1
    assert "tf.function only supports singleton tf.Variables" in records[0].getMessage()
    assert run.mode == EAGER
    assert len(run.epochs) == STEPS


def test_train_tf_print_falls_back_to_graph(tmp_path, digits, caplog):
    x, labels, _ = digits
    # tf.print works in a tf.function but has no XLA kernel.
    implementation = write_implementation(
        tmp_path / "tf_print", "activations",
        ("    z = tf.convert_to_tensor(z, dtype=tf.float32)\n",
         "    z = tf.convert_to_tensor(z, dtype=tf.float32)\n"
         "    tf.print('largest logit', tf.reduce_max(z), output_stream='file:///dev/null')\n"),
    )
    caplog.set_level(logging.WARNING, logger="lab.training")

    run = train(implementation, x[:, :500], labels[:500], initializer="normal", epochs=STEPS, jit_compile=True)

    records = fallback_records(caplog)
    assert len(records) == 1
    assert "could not be compiled with XLA" in records[0].getMessage()
    assert run.mode == GRAPH


def test_train_step_stub_raises_silently(tmp_path, digits, caplog):
    x, labels, _ = digits
    implementation = write_implementation(
        tmp_path / "stub", "activations",
        ("    z = tf.convert_to_tensor(z, dtype=tf.float32)\n",
         "    raise NotImplementedError('sigmoid is not written yet')\n"),
    )
    caplog.set_level(logging.WARNING, logger="lab.training")
    # build_model calls the model eagerly, so the stub raises before any step.
    model = implementation.model_class(10, initializer="normal")
    model.build(int(x.shape[0]))
    step = TrainStep(implementation, model, LEARNING_RATE, jit_compile=True)

    with pytest.raises(NotImplementedError, match="sigmoid is not written yet"):
        step(x[:, :50], labels[:50])
    assert fallback_records(caplog) == []


def test_train_repeated_runs_no_retracing_warning(solutions, digits, caplog):
    x, labels, _ = digits
    caplog.set_level(logging.WARNING)
    for _ in range(7):
        train(solutions, x[:, :200], labels[:200], initializer="normal", epochs=2)
    assert not [record for record in caplog.records if "retracing" in record.getMessage()]


def test_describe_error_traced_error():
    error = ValueError(
        'in user code:\n\n    File "/work/lab/training.py", line 10, in _step  *\n'
        '        probs = self.model(x)\n    File "/sub/activations.py", line 7, in sigmoid  *\n'
        "        z.numpy()\n\n    ValueError: something failed\n"
    )
    assert describe_error(error) == 'ValueError: something failed at File "/sub/activations.py", line 7, in sigmoid'


# --- Inputs -------------------------------------------------------------------------


def test_to_float32_tensor_keeps_a_float32_array():
    # Whether the tensor shares the array's memory depends on the array's alignment,
    # so the test checks only the values and the dtype.
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    tensor = training.to_float32_tensor(array)
    assert tensor.dtype == tf.float32
    np.testing.assert_array_equal(tensor.numpy(), np.arange(12, dtype=np.float32).reshape(3, 4))


@pytest.mark.parametrize("x_shape, labels, message", [
    ((784, 0), [], "at least one of each"),
    ((784,), [1], "shape (n_features, n_examples)"),
    ((5, 784), [0, 1, 2, 3, 4], "labels must have shape (n_examples,) = (784,)"),
    ((784, 3), [0, 1], "labels must have shape (n_examples,) = (3,)"),
    ((784, 3), [10, 11, 12], "from 0 to 9, got values from 10 to 12"),
    ((784, 3), [-1, 0, 1], "got values from -1 to 1"),
], ids=["no-examples", "one-dimensional", "transposed", "too-few-labels", "labels-too-large", "negative-label"])
def test_train_rejects_bad_inputs(x_shape, labels, message):
    x = np.full(x_shape, 0.5, dtype=np.float32)
    with pytest.raises(ValueError, match=re.escape(message)):
        training.train(load_implementation("solutions"), x, np.array(labels, dtype=np.int32),
                       initializer="normal", epochs=1)


def aligned_array(shape):
    array = aligned_empty(shape, np.float32)
    array[...] = np.arange(array.size, dtype=np.float32).reshape(shape)
    return array


def test_to_float32_tensor_shares_an_aligned_array():
    array = aligned_array((3, 40))
    tensor = training.to_float32_tensor(array)
    array[2, 39] = -1.0  # visible through the tensor only if no copy was made
    assert float(tensor[2, 39]) == -1.0
    product = tf.matmul(tf.ones((1, 3)), tensor)
    np.testing.assert_allclose(product.numpy(), np.ones((1, 3), np.float32) @ array)


@pytest.mark.parametrize("make", [
    lambda: aligned_empty((121,), np.float32)[1:].reshape(3, 40),  # data 4 bytes past the boundary
    lambda: aligned_array((40, 3)).T,  # not C-contiguous
], ids=["unaligned", "transposed"])
def test_to_float32_tensor_copies_what_it_cannot_share(make):
    array = make()
    array[...] = np.arange(array.size, dtype=np.float32).reshape(array.shape)
    expected = array.copy()
    tensor = training.to_float32_tensor(array)
    array[...] = -1.0  # the tensor is a copy, so it keeps the old values
    # An unaligned tensor would abort TensorFlow in matmul. This must run and match.
    np.testing.assert_array_equal(tf.matmul(tensor, tf.ones((tensor.shape[1], 1))).numpy(),
                                  expected @ np.ones((expected.shape[1], 1), np.float32))


def test_to_float32_tensor_copies_a_read_only_array():
    array = aligned_array((3, 40))
    array.flags.writeable = False
    assert not training._shareable(array)
    np.testing.assert_array_equal(training.to_float32_tensor(array).numpy(), array)


@pytest.mark.parametrize("value", [np.arange(6, dtype=np.float64).reshape(2, 3), [[0, 1, 2], [3, 4, 5]]])
def test_to_float32_tensor_converts_other_inputs(value):
    tensor = training.to_float32_tensor(value)
    assert tensor.dtype == tf.float32
    np.testing.assert_array_equal(tensor.numpy(), np.arange(6, dtype=np.float32).reshape(2, 3))


# --- Modes and per-epoch stats ------------------------------------------------------


def test_use_xla_only_for_long_runs():
    assert not training.use_xla(5_000, 10)
    assert not training.use_xla(60_000, 10)
    assert training.use_xla(60_000, 100)


def test_train_short_run_uses_graph(solutions, digits):
    x, labels, _ = digits
    run = train(solutions, x[:, :500], labels[:500], initializer="normal", epochs=2)
    assert run.mode == GRAPH
    assert run.compiled


def test_train_compile_false_runs_eagerly(solutions, digits):
    x, labels, _ = digits
    run = train(solutions, x[:, :500], labels[:500], initializer="normal", epochs=2, compile=False)
    assert run.mode == EAGER
    assert not run.compiled


def test_train_epoch_stats_match_gradients(solutions, digits):
    x, labels, _ = digits
    seen = []
    run = train(solutions, x, labels, initializer="normal", epochs=STEPS, on_epoch=seen.append)
    expected = run_steps(solutions, x, labels, "normal", EAGER)

    assert seen == run.epochs
    assert [stats.epoch for stats in run.epochs] == list(range(1, STEPS + 1))
    for stats, (loss, grad_w, _, _) in zip(run.epochs, expected):
        grad_w = grad_w.astype(np.float64)
        scale = np.max(np.abs(grad_w))
        assert stats.loss == pytest.approx(float(loss), rel=LOSS_RTOL)
        assert stats.grad_min == pytest.approx(grad_w.min(), abs=GRAD_TOL_OF_MAX * scale)
        assert stats.grad_mean == pytest.approx(grad_w.mean(), abs=GRAD_TOL_OF_MAX * scale)
        assert stats.grad_max == pytest.approx(grad_w.max(), abs=GRAD_TOL_OF_MAX * scale)
        assert stats.grad_abs_min == pytest.approx(np.abs(grad_w).min(), abs=GRAD_TOL_OF_MAX * scale)
        assert stats.grad_abs_mean == pytest.approx(np.abs(grad_w).mean(), abs=GRAD_TOL_OF_MAX * scale)
        assert stats.grad_abs_max == pytest.approx(scale, rel=GRAD_TOL_OF_MAX)


def test_train_uniform_epoch_stats_stay_frozen(solutions, digits):
    x, labels, _ = digits
    run = train(solutions, x, labels, initializer="uniform", epochs=STEPS)
    assert run.losses == [run.losses[0]] * STEPS
    assert run.losses[0] == pytest.approx(math.log(10.0), abs=1e-5)
    assert all(1e-11 < value < 1e-7 for value in run.grad_abs_max)
