"""Full-batch gradient descent on any implementation of the exercises.

One step is what the classic notebook writes: a forward pass through the
implementation's own model and loss under ``tf.GradientTape``, then
``weights -= lr * dL/dweights`` and the same for the bias. The step is compiled with
``tf.function`` when the implementation allows it and runs eagerly when it does not.
"""

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

LOGGER = logging.getLogger(__name__)

LN_10 = math.log(10.0)


class TrainingError(RuntimeError):
    """The implementation cannot be trained: its gradients are missing or not finite."""


@dataclass(frozen=True)
class EpochStats:
    """Loss and dL/dW summaries of one epoch, measured before that epoch's update."""

    epoch: int
    loss: float
    grad_min: float
    grad_mean: float
    grad_max: float
    grad_abs_min: float
    grad_abs_mean: float
    grad_abs_max: float


@dataclass
class TrainingRun:
    """The per-epoch history of one model trained from one initialization."""

    init: str
    learning_rate: float
    seed: int
    epochs: list = field(default_factory=list)
    model: object = field(default=None, repr=False)
    compiled: bool = True

    @property
    def losses(self):
        return [stats.loss for stats in self.epochs]

    @property
    def grad_abs_max(self):
        return [stats.grad_abs_max for stats in self.epochs]


def _summaries(grad_w):
    """Return min, mean and max of dL/dW and of |dL/dW| as one float32 vector of 6."""
    abs_grad = tf.abs(grad_w)
    return tf.stack([
        tf.reduce_min(grad_w), tf.reduce_mean(grad_w), tf.reduce_max(grad_w),
        tf.reduce_min(abs_grad), tf.reduce_mean(abs_grad), tf.reduce_max(abs_grad),
    ])


class TrainStep:
    """One full-batch gradient-descent step on ``model`` with ``implementation``'s loss.

    Calling it returns ``(loss, grad_weights, grad_bias, summaries)``, all computed
    before the update, and updates the model's variables in place. With
    ``compile=True`` the step runs as a ``tf.function``. An implementation that cannot
    be traced (Python side effects, variables created on every call) makes the step fall
    back to eager execution, with one warning.
    """

    def __init__(self, implementation, model, learning_rate, compile=True):
        self.implementation = implementation
        self.model = model
        self.learning_rate = float(learning_rate)
        self.loss_fn = implementation.loss
        self.compiled = compile
        self._compiled_step = tf.function(self._step, reduce_retracing=True) if compile else None

    def _step(self, x, labels):
        with tf.GradientTape() as tape:
            probs = self.model(x)  # (n_classes, n_examples)
            loss = self.loss_fn(labels, probs)

        variables = [self.model.weights, self.model.bias]
        grad_w, grad_b = tape.gradient(loss, variables)
        if grad_w is None or grad_b is None:
            raise TrainingError(
                "the loss does not depend on model.weights or model.bias (the gradient is "
                "None); predict must use the variables that build created, not new ones, "
                "and compute with TensorFlow ops, not NumPy"
            )

        self.model.weights.assign_sub(self.learning_rate * grad_w)
        self.model.bias.assign_sub(self.learning_rate * grad_b)
        return loss, grad_w, grad_b, _summaries(grad_w)

    def __call__(self, x, labels):
        if self._compiled_step is not None:
            try:
                return self._compiled_step(x, labels)
            except (NotImplementedError, TrainingError):
                raise
            except Exception as error:  # tracing can fail in many ways on student code
                LOGGER.warning(
                    "The training step could not be compiled with tf.function (%s: %s); "
                    "running it eagerly instead, which is slower but gives the same numbers.",
                    type(error).__name__, str(error).splitlines()[0] if str(error) else "",
                )
                self._compiled_step = None
                self.compiled = False
        return self._step(x, labels)


def build_model(implementation, initializer, x, seed, n_classes=10):
    """Create the implementation's model with a seeded initializer and build it on ``x``."""
    tf.random.set_seed(seed)
    model = implementation.model_class(n_classes, initializer=initializer)
    # One eager call on a single example builds the variables before any tracing,
    # so a compiled step only ever reads and updates them.
    model(x[:, :1])
    if getattr(model, "weights", None) is None or getattr(model, "bias", None) is None:
        raise TrainingError(
            "the model has no weights or bias after its first call; build must assign "
            "self.weights and self.bias"
        )
    return model


def train(implementation, x, labels, *, initializer, epochs=10, learning_rate=0.1, seed=4,
          compile=True, on_epoch=None):
    """Train a fresh model for ``epochs`` full-batch steps and return its TrainingRun.

    Args:
        implementation: an Implementation from ``lab.implementation``.
        x: float32 inputs of shape ``(n_features, n_examples)``.
        labels: integer labels of shape ``(n_examples,)``.
        initializer: ``"uniform"`` or ``"normal"``, passed to the model.
        on_epoch: optional callable receiving each EpochStats as it is measured.

    Raises TrainingError when the loss or the gradients stop being finite.
    """
    x = tf.convert_to_tensor(x, dtype=tf.float32)
    labels = tf.convert_to_tensor(labels, dtype=tf.int32)
    model = build_model(implementation, initializer, x, seed)
    step = TrainStep(implementation, model, learning_rate, compile=compile)
    run = TrainingRun(init=initializer, learning_rate=float(learning_rate), seed=seed, model=model)

    for epoch in range(1, epochs + 1):
        loss, _, _, summaries = step(x, labels)
        values = np.asarray(summaries, dtype=np.float64)
        stats = EpochStats(epoch, float(loss), *(float(v) for v in values))
        if not np.isfinite(stats.loss) or not np.all(np.isfinite(values)):
            raise TrainingError(
                f"epoch {epoch} with {initializer} initialization gave a loss of {stats.loss} "
                f"and gradient summaries {values.tolist()}; a NaN or inf usually comes from "
                f"exp overflowing in the sigmoid or softmax, or log(0) in the loss"
            )
        run.epochs.append(stats)
        if on_epoch is not None:
            on_epoch(stats)

    run.compiled = step.compiled
    return run
