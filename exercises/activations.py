"""Activation functions: the sigmoid and a numerically stable softmax.

The model of this lab computes ``softmax(sigmoid(W @ x + b))``. Here you write its two
activations with TensorFlow ops, so that a ``tf.GradientTape`` can differentiate them.
Tensors are float32. Logits and probabilities are laid out as
``(n_classes, n_examples)``: classes on axis 0, one example per column.

Keep the names and signatures of both functions: the graded tests, the training step
and ``model.py`` call them as they are. Run ``pytest exercises/ -k sigmoid`` (or
``-k softmax``) to check one function; ``python -m lab hint sigmoid`` prints a hint.
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

    # TODO: return 1 / (1 + exp(-z)) built from tf.exp (not tf.math.sigmoid), with a
    # value and a gradient that stay finite for z = -100 and z = 100. exp(-z) overflows
    # to inf once z is below about -88 in float32.
    raise NotImplementedError(
        "sigmoid is not written yet: replace the raise in activations.py with your code"
    )


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

    # TODO: subtract each column's maximum (reduce over axis 0, keepdims=True) from the
    # logits, so that the largest exponent is 0.

    # TODO: exponentiate, then divide each column by its own sum over axis 0, and return
    # a tensor of the same shape as the logits.
    raise NotImplementedError(
        "softmax is not written yet: replace the raise in activations.py with your code"
    )
