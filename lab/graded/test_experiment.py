"""Graded tests of the experiment: the student's own functions, trained by the lab.

Each initialization is trained once per implementation, with the lab's full-batch
gradient descent (``lab.training.train``) on the 5,000 bundled MNIST digits, and the
four tests read that history. Nothing is substituted here: the sigmoid, softmax, loss
and model are all the student's.
"""

import math

import pytest

from lab.grading.checks import GradedFailure, check

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
        f"{bad[0]} (all epochs: {', '.join(f'{loss:.6f}' for loss in losses)}). With weights in "
        f"[0, 1) every logit is large, the sigmoid returns 1.0, and softmax gives 0.1 per "
        f"class; check that uniform weights lie in [0, 1) and that the bias is added as a "
        f"column" if bad else ""
    ))


@pytest.mark.points(2)
def test_experiment_uniform_gradients_vanish(impl, experiment_runs):
    grads = training_run(experiment_runs, impl, "uniform").grad_abs_max
    bad = epochs_where(grads, lambda grad: grad < VANISHED_GRADIENT)
    check(not bad, (
        f"uniform initialization: expected max |dL/dW| below {VANISHED_GRADIENT:g} in every "
        f"epoch, got {grads[bad[0] - 1]:.3g} at epoch {bad[0]}. A saturated sigmoid passes "
        f"on almost no gradient; a larger one means the logits are not saturated (weights "
        f"not in [0, 1)) or the sigmoid's gradient is wrong" if bad else ""
    ))


@pytest.mark.points(2)
def test_experiment_normal_loss_decreases(impl, experiment_runs):
    losses = training_run(experiment_runs, impl, "normal").losses
    history = ", ".join(f"{loss:.6f}" for loss in losses)
    rises = [epoch for epoch in range(2, len(losses) + 1)
             if losses[epoch - 1] > losses[epoch - 2] + RISE_TOLERANCE]
    check(not rises, (
        f"normal initialization: expected the loss to fall every epoch, got a rise at epoch "
        f"{rises[0]} (all epochs: {history}). A loss that jumps around usually means new "
        f"weights are drawn on every call, so each step starts over" if rises else ""
    ))
    drop = losses[0] - losses[-1]
    check(drop > MIN_LOSS_DROP, (
        f"normal initialization: expected the loss to fall by more than {MIN_LOSS_DROP:g} over "
        f"{EPOCHS} epochs, got a fall of {drop:.3g} (all epochs: {history}); the gradient step "
        f"must reach the same variables that predict uses"
    ))


@pytest.mark.points(2)
def test_experiment_normal_gradients_flow(impl, experiment_runs):
    grads = training_run(experiment_runs, impl, "normal").grad_abs_max
    bad = epochs_where(grads, lambda grad: grad > FLOWING_GRADIENT)
    check(not bad, (
        f"normal initialization: expected max |dL/dW| above {FLOWING_GRADIENT:g} in every "
        f"epoch, got {grads[bad[0] - 1]:.3g} at epoch {bad[0]}; with N(0, 1) weights the "
        f"sigmoid is not saturated and gradients of about 4e-3 should reach the weights"
        if bad else ""
    ))
