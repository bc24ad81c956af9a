"""The loss: sparse categorical crossentropy with classes on axis 0.

Gradient descent lowers this number. For one example it is -ln of the probability the
model gave the true class, and the loss is its mean over the examples. Probabilities
are laid out as ``(n_classes, n_examples)`` and labels are integer class indices.

Keep ``EPSILON``, the function's name and its signature: the graded tests and the
training step call it as it is. ``pytest exercises/ -k crossentropy`` checks it.
"""

import tensorflow as tf

from .activations import softmax

# Probabilities are clipped to [EPSILON, 1 - EPSILON] before the log, as Keras does,
# so a true-class probability of 0 costs -ln(1e-7), about 16.118, instead of inf.
EPSILON = 1e-7


def sparse_categorical_crossentropy(labels, probs, from_logits=False):
    """Compute the mean crossentropy between integer labels and predicted probabilities.

    Args:
        labels: integer tensor of shape ``(n_examples,)`` with class indices in
            ``[0, n_classes)``.
        probs: float32 tensor of shape ``(n_classes, n_examples)``, each column a
            probability distribution. With ``from_logits=True``, raw scores instead.
        from_logits: when True, apply ``softmax`` to ``probs`` first.

    Returns:
        A float32 scalar: the mean over examples of -ln(p[label]), with each
        probability clipped to [1e-7, 1 - 1e-7] before the log.
    """
    probs = tf.convert_to_tensor(probs, dtype=tf.float32)
    labels = tf.convert_to_tensor(labels)

    # TODO: when from_logits is True, turn the logits into probabilities with softmax.

    # TODO: clip the probabilities to [EPSILON, 1 - EPSILON] before taking the log.

    # TODO: pick each example's true-class probability (labels stay integers), take
    # -ln of it, and return the mean over the examples as a float32 scalar.
    raise NotImplementedError(
        "sparse_categorical_crossentropy is not written yet: replace the raise in "
        "losses.py with your code"
    )
