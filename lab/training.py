"""Full-batch gradient descent on any implementation of the exercises.

One step is what the classic notebook writes: a forward pass through the
implementation's own model and loss under ``tf.GradientTape``, then
``weights -= lr * dL/dweights`` and the same for the bias. ``tape.gradient``
differentiates the implementation's own functions; nothing here replaces them with a
hand-written gradient.

A step runs in one of three modes, fastest first:

``"xla"``
    ``tf.function(jit_compile=True)``: XLA fuses the elementwise work of the sigmoid,
    softmax, loss and their gradients into a few loops. Compiling takes longer than
    tracing, so ``train`` picks this mode only for runs long enough to earn it back
    (see ``XLA_MIN_EXAMPLE_STEPS``).
``"graph"``
    ``tf.function`` without XLA: one call into TensorFlow's runtime per step instead of
    one per operation.
``"eager"``
    The plain Python function, for implementations that cannot be traced.

A step that fails in a compiled mode retries in the next mode. When a slower mode
then works, ``logging`` records the fallback once per implementation and mode. When
every mode fails, the eager error propagates unchanged.
"""

import logging
import math
import re
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from .data import ALIGNMENT

LOGGER = logging.getLogger(__name__)

LN_10 = math.log(10.0)

XLA = "xla"
GRAPH = "graph"
EAGER = "eager"
MODES = (XLA, GRAPH, EAGER)

# train() compiles with XLA when epochs * n_examples reaches this many example-steps.
# In nine benchmark runs on a 2-core AMD EPYC with TensorFlow 2.21 (docs/benchmarks.md),
# XLA's first call took 0.24 to 0.5 s longer than tf.function's. At 60,000 examples XLA
# then saved 0.04 to 1.0 microseconds per example per step, and at 5,000 often nothing.
# NOTE: the break-even therefore lies between about 0.2 and 12 million example-steps.
# 2 million is a middle value, not a measured optimum.
XLA_MIN_EXAMPLE_STEPS = 2_000_000

# (implementation, failed mode) pairs whose fallback has been logged in this process.
_LOGGED_FALLBACKS = set()


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
    """The per-epoch history of one model trained from one initialization.

    ``mode`` is the mode the last step ran in (``"xla"``, ``"graph"`` or ``"eager"``),
    and ``compiled`` is True unless that mode is ``"eager"``.
    """

    init: str
    learning_rate: float
    seed: int
    epochs: list = field(default_factory=list)
    model: object = field(default=None, repr=False)
    compiled: bool = True
    mode: str = GRAPH

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


def _implementation_key(implementation):
    """Return a hashable name for ``implementation``: its folder, else its name."""
    return str(getattr(implementation, "path", None) or getattr(implementation, "name", id(implementation)))


class TrainStep:
    """One full-batch gradient-descent step on ``model`` with ``implementation``'s loss.

    Calling it returns ``(loss, grad_weights, grad_bias, summaries)``, all computed
    before the update, and updates the model's variables in place. ``summaries`` is the
    float32 vector (min, mean, max of dL/dW, then of |dL/dW|), reduced inside the step
    so that only six numbers leave it.

    ``compile=False`` runs eagerly. Otherwise the step starts as a ``tf.function``,
    compiled with XLA when ``jit_compile`` is True, and falls back as the module
    docstring describes. ``mode`` is the mode of the next call.
    """

    def __init__(self, implementation, model, learning_rate, compile=True, jit_compile=False):
        self.implementation = implementation
        self.model = model
        self.learning_rate = float(learning_rate)
        self.loss_fn = implementation.loss
        if not compile:
            self.mode = EAGER
        else:
            self.mode = XLA if jit_compile else GRAPH
        self._functions = {
            XLA: tf.function(self._step, jit_compile=True, reduce_retracing=True),
            GRAPH: tf.function(self._step, reduce_retracing=True),
            EAGER: self._step,
        }

    @property
    def compiled(self):
        """True while the step runs as a ``tf.function``, with or without XLA."""
        return self.mode != EAGER

    def _step(self, x, labels):
        # Forward pass and loss, through the implementation's own functions.
        with tf.GradientTape() as tape:
            probs = self.model(x)  # (n_classes, n_examples)
            loss = self.loss_fn(labels, probs)

        # Gradients.
        variables = [self.model.weights, self.model.bias]
        grad_w, grad_b = tape.gradient(loss, variables)
        if grad_w is None or grad_b is None:
            raise TrainingError(
                "the loss does not depend on model.weights or model.bias (the gradient is "
                "None); predict must use the variables that build created, not new ones, "
                "and compute with TensorFlow ops, not NumPy"
            )

        # Update, then return what was measured before it.
        self.model.weights.assign_sub(self.learning_rate * grad_w)
        self.model.bias.assign_sub(self.learning_rate * grad_b)
        return loss, grad_w, grad_b, _summaries(grad_w)

    def __call__(self, x, labels):
        failures = []
        while True:
            try:
                result = self._run(x, labels)
            except TrainingError:
                raise
            except Exception as error:  # tracing and compiling fail in many ways on student code
                if self.mode == EAGER:
                    raise
                failures.append(error)
                self.mode = MODES[MODES.index(self.mode) + 1]
                continue
            # Only now is it known that the slower mode works, so the message is true.
            if failures:
                self._log_fallback(failures[-1])
            return result

    def _run(self, x, labels):
        if self.mode == EAGER:
            return self._step(x, labels)
        # Each TrainStep traces its own tf.function once, but TensorFlow counts the traces
        # of all of them together and warns about "excessive retracing". That warning is
        # not about the implementation, so it is muted while a compiled step runs.
        tf_logger = tf.get_logger()
        level = tf_logger.level
        tf_logger.setLevel(logging.ERROR)
        try:
            return self._functions[self.mode](x, labels)
        finally:
            tf_logger.setLevel(level)

    def _log_fallback(self, error):
        key = (_implementation_key(self.implementation), self.mode)
        if key in _LOGGED_FALLBACKS:
            return
        _LOGGED_FALLBACKS.add(key)
        name = getattr(self.implementation, "name", "the implementation")
        if self.mode == GRAPH:
            LOGGER.warning(
                "The training step of %s could not be compiled with XLA (%s); it runs as a "
                "tf.function without XLA instead, with the same numbers to float32 rounding.",
                name, describe_error(error),
            )
        else:
            LOGGER.warning(
                "The training step of %s could not be compiled with tf.function (%s); it runs "
                "eagerly instead, which is slower. Code that tf.function rejects, such as "
                "variables created on every call, may also train differently: check the loss.",
                name, describe_error(error),
            )


def describe_error(error):
    """Return one line for a tracing or compiling error: its message and innermost frame.

    An error raised inside a traced function reads "in user code:", then the frames,
    then the original message on the last line. An XLA error starts with the message
    and lists the frames after it. Both become ``Type: message at File "...", line N``.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    message = lines[-1] if lines[0] == "in user code:" else lines[0]
    # Drop attribute lists such as "[_XlaMustCompile=true,config_proto=...]" from graph names.
    message = re.sub(r"\[[^\]]*=[^\]]*\]", "", message)
    if not message.startswith(type(error).__name__):
        message = f"{type(error).__name__}: {message}"
    if len(message) > 200:
        message = message[:200] + "..."
    frames = [line.rstrip(" *") for line in lines if line.startswith("File ")]
    return f"{message} at {frames[-1]}" if frames else message


def to_float32_tensor(x):
    """Return ``x`` as a float32 tensor, sharing a NumPy array's memory where TensorFlow can.

    A float32, C-contiguous, writable NumPy array whose data start on a 64-byte
    boundary (``lab.data.aligned_empty`` makes one, and every Dataset's ``x`` is one)
    becomes a tensor over the same memory, through DLPack: no copy. Any other float32
    array is copied once. ``tf.convert_to_tensor`` would briefly hold two copies: with
    TensorFlow 2.21, converting the 180 MiB of 60,000 MNIST digits raised the peak
    memory by 360 MiB. Do not modify ``x`` after the call, since the tensor may share it.
    """
    if isinstance(x, np.ndarray) and x.dtype == np.float32:
        if _shareable(x):
            try:
                return tf.experimental.dlpack.from_dlpack(x.__dlpack__())
            except (BufferError, TypeError, ValueError, tf.errors.OpError):
                pass  # this NumPy or TensorFlow cannot share it, so copy it instead
        # NOTE: the single copy is how TensorFlow 2.21's eager op call converts NumPy
        # inputs, measured, not documented; tests/benchmarks measures the peak.
        return tf.raw_ops.Identity(input=x)
    return tf.convert_to_tensor(x, dtype=tf.float32)


def _shareable(array):
    """Return whether TensorFlow can use ``array``'s memory as a tensor's buffer.

    TensorFlow 2.21 aborts the whole process, rather than raising, when an op such as
    a slice reads a tensor whose data are not aligned for its kernels. That happened
    with a DLPack tensor 16 bytes past a 64-byte boundary, so alignment is checked here.
    """
    return (
        array.size > 0
        and array.flags.c_contiguous
        and array.flags.writeable
        and array.ctypes.data % ALIGNMENT == 0
    )


def check_inputs(x, labels, n_classes=10):
    """Raise ValueError unless ``x`` is (n_features, n) and ``labels`` (n,) in [0, n_classes)."""
    if x.shape.rank != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(
            f"x must have shape (n_features, n_examples) with at least one of each, got "
            f"{tuple(x.shape)}; examples are columns, so MNIST is (784, n)"
        )
    if labels.shape.rank != 1 or labels.shape[0] != x.shape[1]:
        raise ValueError(
            f"labels must have shape (n_examples,) = ({x.shape[1]},), one per column of x, "
            f"got {tuple(labels.shape)}"
        )
    low = int(tf.reduce_min(labels))
    high = int(tf.reduce_max(labels))
    if low < 0 or high >= n_classes:
        raise ValueError(
            f"labels must be class indices from 0 to {n_classes - 1}, got values from {low} to {high}"
        )


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


def use_xla(n_examples, epochs):
    """Return whether XLA pays for its compile time over ``epochs`` steps on ``n_examples``."""
    return n_examples * epochs >= XLA_MIN_EXAMPLE_STEPS


def train(implementation, x, labels, *, initializer, epochs=10, learning_rate=0.1, seed=4,
          compile=True, jit_compile=None, on_epoch=None):
    """Train a fresh model for ``epochs`` full-batch steps and return its TrainingRun.

    Args:
        implementation: an Implementation from ``lab.implementation``.
        x: float32 inputs of shape ``(n_features, n_examples)``.
        labels: integer labels of shape ``(n_examples,)``.
        initializer: ``"uniform"`` or ``"normal"``, passed to the model.
        compile: False runs every step eagerly.
        jit_compile: True or False forces XLA on or off; None lets ``use_xla`` decide
            from the number of examples and epochs.
        on_epoch: optional callable receiving each EpochStats as it is measured.

    Raises ValueError when x is not (n_features, n_examples) or the labels do not match it
    or lie outside 0..9, and TrainingError when the loss or the gradients stop being finite.
    """
    x = to_float32_tensor(x)
    labels = tf.convert_to_tensor(labels, dtype=tf.int32)
    check_inputs(x, labels)
    if jit_compile is None:
        jit_compile = use_xla(int(x.shape[1]), epochs)
    model = build_model(implementation, initializer, x, seed)
    step = TrainStep(implementation, model, learning_rate, compile=compile, jit_compile=jit_compile)
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
    run.mode = step.mode
    return run
