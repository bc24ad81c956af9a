"""The loss: sparse categorical crossentropy with classes on axis 0."""

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
    if from_logits:
        probs = softmax(probs)

    # Clip before the log: ln(0) is -inf, and its gradient 1/p is inf.
    clipped = tf.clip_by_value(probs, EPSILON, 1.0 - EPSILON)

    # one_hot(axis=0) lays the labels out like probs, (n_classes, n_examples), so the
    # sum over axis 0 keeps only each example's true-class term.
    n_classes = tf.shape(probs)[0]
    targets = tf.one_hot(labels, depth=n_classes, axis=0, dtype=tf.float32)
    per_example = -tf.reduce_sum(targets * tf.math.log(clipped), axis=0)  # (n_examples,)

    # The mean, not the sum, keeps the loss and the learning rate independent of the
    # number of examples.
    return tf.reduce_mean(per_example)
