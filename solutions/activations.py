"""Activation functions: the sigmoid and a numerically stable softmax.

Both are written with TensorFlow ops, so a ``tf.GradientTape`` can differentiate them.
Tensors are float32. Logits and probabilities are laid out as
``(n_classes, n_examples)``: classes on axis 0, one example per column.
"""

import tensorflow as tf


def sigmoid(z):
    """Compute the logistic function 1 / (1 + exp(-z)) elementwise.

    Args:
        z: a float32 tensor (or anything ``tf.convert_to_tensor`` turns into one) of
            any shape, scalars included.

    Returns:
        A float32 tensor of the same shape as ``z``, with values in [0, 1].

    The value and its gradient are finite for every float32 input. For z >= 0 the
    result and its gradient equal the textbook form: the gradient is about 2e-9 at
    z = 20 and 2e-22 at z = 50, small but not 0 (``tf.math.sigmoid`` returns exactly 0
    there). The lab measures those tiny gradients, so they must survive.
    """
    z = tf.convert_to_tensor(z, dtype=tf.float32)

    # exp(-|z|) is in (0, 1], so neither branch below can overflow, even the one
    # tf.where does not pick. An overflowing unpicked branch would still send a NaN
    # into the gradient. tf.where builds -|z| with gradient -1 or +1 on each side,
    # where tf.abs would give a gradient of 0 at z = 0.
    neg_abs_z = tf.where(z >= 0, -z, z)
    exp_neg_abs = tf.exp(neg_abs_z)

    # z >= 0: the textbook form 1 / (1 + exp(-z)).
    # z < 0: the same value rewritten as exp(z) / (1 + exp(z)), which avoids exp(-z).
    positive_branch = 1.0 / (1.0 + exp_neg_abs)
    negative_branch = exp_neg_abs / (1.0 + exp_neg_abs)
    return tf.where(z >= 0, positive_branch, negative_branch)


def softmax(logits):
    """Turn each column of logits into a probability distribution over classes.

    Args:
        logits: float32 tensor of shape ``(n_classes, n_examples)``.

    Returns:
        A float32 tensor of the same shape whose columns (axis 0) sum to 1.

    Subtracting each column's maximum before ``exp`` keeps the largest exponent at 0,
    so logits of +-1000 give finite probabilities instead of inf / inf = NaN.
    """
    logits = tf.convert_to_tensor(logits, dtype=tf.float32)

    # Shifting a column by a constant leaves its softmax unchanged, so the shift needs
    # no gradient of its own.
    column_max = tf.stop_gradient(tf.reduce_max(logits, axis=0, keepdims=True))  # (1, n_examples)
    exps = tf.exp(logits - column_max)  # (n_classes, n_examples), largest entry per column is 1
    return exps / tf.reduce_sum(exps, axis=0, keepdims=True)
