"""Graded tests of the experiment: the student's own functions, trained by the lab.

Each initialization is trained once per implementation, with the lab's full-batch
gradient descent (``lab.training.train``) on the 5,000 bundled MNIST digits, and the
four tests read that history. Nothing is substituted here: the sigmoid, softmax, loss
and model are all the student's. When a test fails, its advice comes from calling each
of those functions on a small known input (``likely_causes``), so that a wrong loss is
not blamed on the model.
"""

import math

import numpy as np
import pytest

from lab.grading.checks import GradedFailure, check, format_value, numeric_array

pytestmark = [pytest.mark.exercise("experiment"), pytest.mark.timeout(120, method="signal")]

EPOCHS = 10
LEARNING_RATE = 0.1
SEED = 4  # the default seed of ``python -m lab run``, so both show the same numbers
LN_10 = math.log(10.0)

FLAT_LOSS_TOLERANCE = 1e-5
VANISHED_GRADIENT = 1e-7
FLOWING_GRADIENT = 1e-4
# The reference loss falls by about 2e-3 over the 10 normal-init epochs. An
# implementation that learns at all falls by more than this.
MIN_LOSS_DROP = 1e-4
# Float32 noise allowed when the loss must not rise from one epoch to the next.
RISE_TOLERANCE = 1e-6

# Tolerance of the known-input checks behind the advice: float32 rounding stays far below it.
KNOWN_INPUT_RTOL = 1e-5
KNOWN_INPUT_ATOL = 1e-6
USED_FUNCTIONS = (
    "sigmoid, softmax, sparse_categorical_crossentropy and MultiClassLogisticRegression"
)


@pytest.fixture(scope="session")
def experiment_runs():
    """``(implementation folder, initializer) -> TrainingRun`` or the exception training raised."""
    return {}


def training_run(runs, impl, initializer):
    """Return the TrainingRun of ``impl`` from ``initializer``, training it on first use.

    A failure is remembered in ``runs`` and raised again by later tests, so a broken or
    endless implementation is trained only once per initialization.
    """
    key = (str(impl.path), initializer)
    if key not in runs:
        runs[key] = _train(impl, initializer)
        if isinstance(runs[key], BaseException):
            raise runs[key]
        return runs[key]
    outcome = runs[key]
    if isinstance(outcome, pytest.fail.Exception):  # a timeout in an earlier test
        raise GradedFailure(
            f"training from {initializer} initialization timed out in an earlier experiment "
            f"test; look for a loop that never ends"
        )
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _train(impl, initializer):
    from lab.data import load_dataset
    from lab.training import train

    # Every module is imported here, so a broken activations.py fails the experiment
    # even when losses.py and model.py import with the lab's stand-in.
    for module in ("activations", "losses", "model"):
        impl.module(module)
    dataset = load_dataset()
    try:
        # Eager steps: ten epochs are over before tracing would pay off, and student
        # code that tf.function cannot trace is graded on its numbers alone.
        return train(impl, dataset.x, dataset.labels, initializer=initializer, epochs=EPOCHS,
                     learning_rate=LEARNING_RATE, seed=SEED, compile=False)
    except (Exception, pytest.fail.Exception) as error:
        return error


# --- Tracing a failure to one function --------------------------------------------------------


def advice(runs, impl, otherwise):
    """Return the advice for a failed experiment test.

    Names the student's functions that give wrong values on small known inputs, because
    those are the likely cause. When every function passes, returns ``otherwise``, the
    advice on how the functions work together.
    """
    key = (str(impl.path), "known inputs")
    if key not in runs:
        runs[key] = likely_causes(impl)
    causes = runs[key]
    if causes:
        culprits = "that function" if len(causes) == 1 else "those functions"
        return (
            f"Likely cause, found by calling each of your functions on a small known input: "
            f"{'; '.join(causes)}. This run trained your {USED_FUNCTIONS} together, so fix "
            f"{culprits} first; the exercise's own tests show the details"
        )
    return (
        f"Your functions each pass small known-input checks, so look at how they work "
        f"together. {otherwise}"
    )


def likely_causes(impl):
    """Return one finding per student function that is wrong on a small known input."""
    checks = {
        "sigmoid": _check_sigmoid,
        "softmax": _check_softmax,
        "sparse_categorical_crossentropy": _check_loss,
        "MultiClassLogisticRegression": _check_model,
    }
    findings = []
    for name, check_function in checks.items():
        try:
            finding = check_function(impl)
        except GradedFailure as error:  # a result that is not a tensor of numbers
            finding = str(error)
        except Exception as error:  # student code may raise anything
            first_line = (str(error).strip().splitlines() or [""])[0]
            finding = f"{name} raised {type(error).__name__}: {first_line}"
        if finding:
            findings.append(finding)
    return findings


def _close(got, expected):
    return got.shape == np.shape(expected) and np.allclose(
        got, expected, rtol=KNOWN_INPUT_RTOL, atol=KNOWN_INPUT_ATOL
    )


def _check_sigmoid(impl):
    from lab.grading.reference import np_sigmoid

    z = np.array([-4.0, -1.0, 0.0, 1.0, 4.0], dtype=np.float32)
    got = numeric_array(impl.sigmoid(z), "sigmoid")
    if _close(got, np_sigmoid(z)):
        return ""
    return (
        f"sigmoid({format_value(z)}) returns {format_value(got)}, expected "
        f"{format_value(np_sigmoid(z))}"
    )


def _check_softmax(impl):
    from lab.grading.reference import np_softmax

    # (n_classes, n_examples)
    logits = np.array([[-3.0, 0.5], [0.0, 2.0], [4.0, -1.0]], dtype=np.float32)
    got = numeric_array(impl.softmax(logits), "softmax")
    if _close(got, np_softmax(logits)):
        return ""
    return (
        f"softmax of the (3, 2) logits {format_value(logits)}, listed row by row, returns "
        f"{format_value(got)}, expected {format_value(np_softmax(logits))}"
    )


def _check_loss(impl):
    """Check the loss on probabilities 0.1 for every class first: the uniform run's input."""
    from lab.grading.reference import np_crossentropy, np_softmax

    labels = np.array([0, 3, 7, 9], dtype=np.int32)
    uniform = np.full((10, labels.size), 0.1, dtype=np.float32)
    got = numeric_array(impl.loss(labels, uniform), "sparse_categorical_crossentropy")
    if not _close(got, LN_10):
        return (
            f"sparse_categorical_crossentropy returns {format_value(got)} for 4 examples whose "
            f"probabilities are 0.1 for every class, expected the mean over the examples, "
            f"ln(10) = {LN_10:.6f}"
        )
    logits = np.linspace(-2.0, 3.0, 40).reshape(labels.size, 10).T  # (n_classes, n_examples)
    probs = np_softmax(logits).astype(np.float32)
    expected = np_crossentropy(labels, probs)
    got = numeric_array(impl.loss(labels, probs), "sparse_categorical_crossentropy")
    if _close(got, expected):
        return ""
    return (
        f"sparse_categorical_crossentropy returns {format_value(got)} for labels "
        f"{format_value(labels)} and probabilities {format_value(probs)}, expected "
        f"{expected:.6f}"
    )


def _check_model(impl):
    """Check a uniform model's weights and predict on 5 features, with the student's activations."""
    import tensorflow as tf

    tf.random.set_seed(SEED)
    x = np.linspace(0.0, 1.0, 15, dtype=np.float32).reshape(5, 3)  # (n_features, n_examples)
    model = impl.model_class(10, initializer="uniform")
    probs = numeric_array(model(x), "MultiClassLogisticRegression")
    weights = model.weights
    weights_array = numeric_array(weights, "MultiClassLogisticRegression: model.weights")
    if not (weights_array.min() >= 0.0 and weights_array.max() < 1.0):
        return (
            f"MultiClassLogisticRegression(initializer=\"uniform\") draws weights from "
            f"{weights_array.min():.3g} to {weights_array.max():.3g}, expected every weight "
            f"in [0, 1)"
        )
    logits = tf.matmul(weights, x) + model.bias  # (n_classes, n_examples)
    expected = numeric_array(impl.softmax(impl.sigmoid(logits)), "softmax")
    if not _close(probs, expected):
        return (
            f"MultiClassLogisticRegression returns {format_value(probs)}, expected "
            f"softmax(sigmoid(weights @ x + bias)) = {format_value(expected)} from your own "
            f"sigmoid and softmax"
        )
    model(x)
    if model.weights is not weights:
        return (
            "MultiClassLogisticRegression replaced model.weights with a new variable on its "
            "second call, so each training step starts from new weights"
        )
    return ""


# --- The graded tests --------------------------------------------------------------------------


def epochs_where(values, condition):
    """Return the 1-based epochs whose value fails ``condition``."""
    return [epoch for epoch, value in enumerate(values, start=1) if not condition(value)]


@pytest.mark.points(2)
def test_experiment_uniform_loss_stays_at_ln10(impl, experiment_runs):
    losses = training_run(experiment_runs, impl, "uniform").losses
    bad = epochs_where(losses, lambda loss: abs(loss - LN_10) <= FLAT_LOSS_TOLERANCE)
    check(not bad, (
        f"uniform initialization: expected the loss to stay within {FLAT_LOSS_TOLERANCE:g} of "
        f"ln(10) = {LN_10:.7f} for {EPOCHS} epochs, got {losses[bad[0] - 1]:.7f} at epoch "
        f"{bad[0]} (all epochs: {', '.join(f'{loss:.6f}' for loss in losses)}). "
        + advice(experiment_runs, impl,
                 "With weights in [0, 1) every logit is large, the sigmoid returns 1.0, and "
                 "softmax gives 0.1 per class; check that uniform weights lie in [0, 1) and "
                 "that the bias is added as a column") if bad else ""
    ))


@pytest.mark.points(2)
def test_experiment_uniform_gradients_vanish(impl, experiment_runs):
    grads = training_run(experiment_runs, impl, "uniform").grad_abs_max
    bad = epochs_where(grads, lambda grad: grad < VANISHED_GRADIENT)
    check(not bad, (
        f"uniform initialization: expected max |dL/dW| below {VANISHED_GRADIENT:g} in every "
        f"epoch, got {grads[bad[0] - 1]:.3g} at epoch {bad[0]}. "
        + advice(experiment_runs, impl,
                 "A saturated sigmoid passes on almost no gradient; a larger one means the "
                 "logits are not saturated (weights not in [0, 1)) or the sigmoid's gradient "
                 "is wrong") if bad else ""
    ))


@pytest.mark.points(2)
def test_experiment_normal_loss_decreases(impl, experiment_runs):
    losses = training_run(experiment_runs, impl, "normal").losses
    history = ", ".join(f"{loss:.6f}" for loss in losses)
    rises = [epoch for epoch in range(2, len(losses) + 1)
             if losses[epoch - 1] > losses[epoch - 2] + RISE_TOLERANCE]
    check(not rises, (
        f"normal initialization: expected the loss to fall every epoch, got a rise at epoch "
        f"{rises[0]} (all epochs: {history}). "
        + advice(experiment_runs, impl,
                 "A loss that jumps around usually means new weights are drawn on every "
                 "call, so each step starts over") if rises else ""
    ))
    drop = losses[0] - losses[-1]
    check(drop > MIN_LOSS_DROP, (
        f"normal initialization: expected the loss to fall by more than {MIN_LOSS_DROP:g} over "
        f"{EPOCHS} epochs, got a fall of {drop:.3g} (all epochs: {history}). "
        + advice(experiment_runs, impl,
                 "The gradient step must reach the same variables that predict uses")
        if drop <= MIN_LOSS_DROP else ""
    ))


@pytest.mark.points(2)
def test_experiment_normal_gradients_flow(impl, experiment_runs):
    grads = training_run(experiment_runs, impl, "normal").grad_abs_max
    bad = epochs_where(grads, lambda grad: grad > FLOWING_GRADIENT)
    check(not bad, (
        f"normal initialization: expected max |dL/dW| above {FLOWING_GRADIENT:g} in every "
        f"epoch, got {grads[bad[0] - 1]:.3g} at epoch {bad[0]}. "
        + advice(experiment_runs, impl,
                 "With N(0, 1) weights the sigmoid is not saturated and gradients of about "
                 "4e-3 should reach the weights") if bad else ""
    ))
