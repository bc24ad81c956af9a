"""The classic eager training step, written the way a notebook writes it.

The benchmarks time it as the baseline the lab's compiled step is compared against.
Everything runs eagerly, one TensorFlow operation at a time: the textbook sigmoid
``1 / (1 + exp(-z))``, a softmax without the max shift, the crossentropy on one-hot
labels, ``tf.GradientTape`` for the gradients, and updates computed in Python as
``w.assign(w - lr * dw)``.

These functions are the textbook forms, not the lab's numerically safe ones: the
softmax overflows for logits above about 88, and the loss has no clipping, so a
probability of exactly 0 gives an infinite loss. With a sigmoid in front of the
softmax its inputs stay in [0, 1], so neither happens in this model.
"""

import tensorflow as tf


def sigmoid(z):
    """Compute 1 / (1 + exp(-z)) elementwise, exactly as the textbook writes it."""
    return 1.0 / (1.0 + tf.exp(-z))


def softmax(logits):
    """Turn each column of ``logits`` (n_classes, n_examples) into probabilities."""
    exps = tf.exp(logits)
    return exps / tf.reduce_sum(exps, axis=0, keepdims=True)


def crossentropy(labels, probs):
    """Return the mean over examples of -ln(probs[label]); probs is (n_classes, n_examples)."""
    targets = tf.one_hot(labels, depth=probs.shape[0], axis=0)  # (n_classes, n_examples)
    return -tf.reduce_mean(tf.reduce_sum(targets * tf.math.log(probs), axis=0))


def initial_parameters(initializer, n_features, n_classes=10, seed=4):
    """Return ``(weights, bias)`` variables drawn as the lab's model draws them.

    ``initializer`` is ``"uniform"`` for U[0, 1) or ``"normal"`` for N(0, 1). The
    weights are (n_classes, n_features) and the bias (n_classes, 1) of zeros.
    """
    if initializer not in ("uniform", "normal"):
        raise ValueError(f"initializer must be 'uniform' or 'normal', got {initializer!r}")
    tf.random.set_seed(seed)
    shape = (n_classes, n_features)
    if initializer == "uniform":
        initial = tf.random.uniform(shape, minval=0.0, maxval=1.0)
    else:
        initial = tf.random.normal(shape, mean=0.0, stddev=1.0)
    return tf.Variable(initial, name="weights"), tf.Variable(tf.zeros((n_classes, 1)), name="bias")


def classic_step(weights, bias, x, labels, learning_rate):
    """Run one eager full-batch gradient-descent step; return ``(loss, grad_weights, grad_bias)``.

    Args:
        weights: tf.Variable (n_classes, n_features), updated in place.
        bias: tf.Variable (n_classes, 1), updated in place.
        x: float32 tensor (n_features, n_examples).
        labels: int tensor (n_examples,).
        learning_rate: a Python float.

    The loss and the gradients are those of the parameters before the update.
    """
    with tf.GradientTape() as tape:
        logits = tf.matmul(weights, x) + bias  # (n_classes, n_examples)
        probs = softmax(sigmoid(logits))
        loss = crossentropy(labels, probs)

    grad_weights, grad_bias = tape.gradient(loss, [weights, bias])

    weights.assign(weights - learning_rate * grad_weights)
    bias.assign(bias - learning_rate * grad_bias)
    return loss, grad_weights, grad_bias
