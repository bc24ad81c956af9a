"""Probes that show where the gradient vanishes: one example's trace, chain-rule factors.

The forward pass is split into its stages, each computed with the implementation's own
functions::

    logits = weights @ x + bias      (n_classes, n_examples)
    activations = sigmoid(logits)    (n_classes, n_examples)
    probs = softmax(activations)     (n_classes, n_examples)
    loss = crossentropy(labels, probs)

dL/dW is the product of one factor per stage, and the probes measure each factor.
"""

from dataclasses import asdict, dataclass

import numpy as np
import tensorflow as tf

# The chain-rule factors in the order the gradient flows back from the weights' side,
# with the names the command line and the plots print.
FACTOR_NAMES = (
    "d(logits)/dW",
    "d(sigmoid)/d(logits)",
    "d(softmax)/d(sigmoid)",
    "dL/d(softmax)",
)


@dataclass(frozen=True)
class ExampleTrace:
    """One example's path through the model: the values after each stage."""

    index: int
    label: int
    logits: list
    activations: list
    probs: list


@dataclass(frozen=True)
class Summary:
    """min, mean and max of a factor's entries, and the mean of their absolute values."""

    name: str
    min: float
    mean: float
    max: float
    mean_abs: float
    count: int

    def as_dict(self):
        return asdict(self)


def forward_stages(implementation, model, x):
    """Return ``(logits, activations, probs)`` for inputs ``x`` of shape (n_features, n)."""
    x = tf.convert_to_tensor(x, dtype=tf.float32)
    logits = tf.matmul(model.weights, x) + model.bias
    activations = implementation.sigmoid(logits)
    probs = implementation.softmax(activations)
    return logits, activations, probs


def trace_example(implementation, model, x, labels, index=0):
    """Return the ExampleTrace of example ``index`` (a column of ``x``)."""
    column = tf.convert_to_tensor(x, dtype=tf.float32)[:, index:index + 1]  # (n_features, 1)
    logits, activations, probs = forward_stages(implementation, model, column)
    return ExampleTrace(
        index=int(index),
        label=int(np.asarray(labels)[index]),
        logits=np.asarray(logits)[:, 0].tolist(),
        activations=np.asarray(activations)[:, 0].tolist(),
        probs=np.asarray(probs)[:, 0].tolist(),
    )


def _summarize(name, values):
    values = np.asarray(values, dtype=np.float64).ravel()
    return Summary(
        name=name,
        min=float(values.min()),
        mean=float(values.mean()),
        max=float(values.max()),
        mean_abs=float(np.abs(values).mean()),
        count=int(values.size),
    )


def chain_rule_factors(implementation, model, x, labels, batch_size=8):
    """Measure each chain-rule factor of dL/dW on the first ``batch_size`` examples.

    One persistent tape records the forward pass, and ``tape.jacobian`` gives each
    stage's full Jacobian. Most entries of a Jacobian are zero by construction, such as
    the derivative of one example's output with respect to another example's input. The
    summaries cover only the entries that the layer's structure lets be non-zero:

    - d(logits)/dW: d logits[k, n] / d W[k, j], which equals x[j, n];
    - d(sigmoid)/d(logits): the diagonal, s * (1 - s) for each logit;
    - d(softmax)/d(sigmoid): each example's own n_classes x n_classes block;
    - dL/d(softmax): the true class of each example, -1 / (batch_size * p) while p is
      inside the loss's clipping range.

    Returns a list of Summary objects in FACTOR_NAMES order.
    """
    xb = tf.convert_to_tensor(x, dtype=tf.float32)[:, :batch_size]
    labels_b = tf.convert_to_tensor(np.asarray(labels)[:batch_size], dtype=tf.int32)
    n_examples = int(xb.shape[1])

    with tf.GradientTape(persistent=True) as tape:
        logits, activations, probs = forward_stages(implementation, model, xb)
        loss = implementation.loss(labels_b, probs)

    # Each Jacobian has shape output.shape + input.shape. tape.jacobian traces a new
    # vectorized function per call, and TensorFlow warns about that retracing; the
    # warning is not about the student's code, so it is muted here.
    tf_logger = tf.get_logger()
    level = tf_logger.level
    tf_logger.setLevel("ERROR")
    try:
        d_logits_d_w = tape.jacobian(logits, model.weights)  # (C, N, C, F)
        d_act_d_logits = tape.jacobian(activations, logits)  # (C, N, C, N)
        d_probs_d_act = tape.jacobian(probs, activations)  # (C, N, C, N)
        d_loss_d_probs = tape.gradient(loss, probs)  # (C, N)
    finally:
        tf_logger.setLevel(level)
        del tape

    for name, value in zip(FACTOR_NAMES, (d_logits_d_w, d_act_d_logits, d_probs_d_act, d_loss_d_probs)):
        if value is None:
            raise ValueError(
                f"{name} is None: the tape saw no path through this stage, so the stage is "
                f"not computed with TensorFlow ops"
            )

    d_logits_d_w = np.asarray(d_logits_d_w)
    d_act_d_logits = np.asarray(d_act_d_logits)
    d_probs_d_act = np.asarray(d_probs_d_act)
    d_loss_d_probs = np.asarray(d_loss_d_probs)

    n_classes = d_act_d_logits.shape[0]
    classes = np.arange(n_classes)
    examples = np.arange(n_examples)

    # [k, n, k, :] for every class k and example n: the row of W that feeds logit k.
    logits_wrt_w = d_logits_d_w[classes[:, None], examples[None, :], classes[:, None], :]
    # [k, n, k, n]: the elementwise derivative of the sigmoid.
    act_wrt_logits = d_act_d_logits[classes[:, None], examples[None, :], classes[:, None], examples[None, :]]
    # [i, n, j, n]: example n's own softmax Jacobian.
    probs_wrt_act = d_probs_d_act[:, examples, :, examples]
    # [label[n], n]: the loss reads only each example's true-class probability.
    loss_wrt_probs = d_loss_d_probs[np.asarray(labels_b), examples]

    return [
        _summarize(FACTOR_NAMES[0], logits_wrt_w),
        _summarize(FACTOR_NAMES[1], act_wrt_logits),
        _summarize(FACTOR_NAMES[2], probs_wrt_act),
        _summarize(FACTOR_NAMES[3], loss_wrt_probs),
    ]
