"""The model: multi-class logistic regression with a sigmoid before the softmax.

``predict`` computes ``softmax(sigmoid(weights @ x + bias))``. The sigmoid between the
linear layer and the softmax is what this lab is about: once the logits are large,
the sigmoid saturates at 1.0 and the gradient through it vanishes.
"""

import tensorflow as tf

from .activations import sigmoid, softmax

INITIALIZERS = ("uniform", "normal")


class MultiClassLogisticRegression(tf.Module):
    """A linear layer, a sigmoid, then a softmax over classes.

    Args:
        n_classes: number of classes, the number of rows of ``weights``.
        initializer: ``"uniform"`` draws the weights from U[0, 1), ``"normal"`` from
            N(0, 1).
        name: name of the ``tf.Module``.

    The variables are created lazily on the first call, once the number of features is
    known: ``weights`` of shape ``(n_classes, n_features)`` and ``bias`` of shape
    ``(n_classes, 1)``. Later calls reuse them. Draws use TensorFlow's global seed, so
    call ``tf.random.set_seed`` first for repeatable weights.
    """

    def __init__(self, n_classes, initializer="uniform", name=None):
        super().__init__(name=name)
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
            raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
        if initializer not in INITIALIZERS:
            raise ValueError(
                f"initializer must be one of {', '.join(INITIALIZERS)}, got {initializer!r}"
            )
        self.n_classes = n_classes
        self.initializer = initializer
        self.weights = None
        self.bias = None

    def build(self, n_features):
        """Create ``weights`` (n_classes, n_features) and ``bias`` (n_classes, 1)."""
        shape = (self.n_classes, n_features)
        if self.initializer == "uniform":
            # U[0, 1): every weight is positive, so on MNIST pixels in [0, 1] every
            # logit is a sum of hundreds of positive terms, far into the saturated
            # range of the sigmoid.
            initial = tf.random.uniform(shape, minval=0.0, maxval=1.0, dtype=tf.float32)
        else:
            initial = tf.random.normal(shape, mean=0.0, stddev=1.0, dtype=tf.float32)
        self.weights = tf.Variable(initial, name="weights")
        # One bias per class, as a column so that it broadcasts over the examples.
        self.bias = tf.Variable(tf.zeros((self.n_classes, 1), dtype=tf.float32), name="bias")

    def __call__(self, x):
        """Build the variables on the first call, then return ``predict(x)``."""
        x = tf.convert_to_tensor(x, dtype=tf.float32)
        if self.weights is None:
            self.build(int(x.shape[0]))
        return self.predict(x)

    def predict(self, x):
        """Return class probabilities of shape ``(n_classes, n_examples)``.

        Args:
            x: float32 tensor of shape ``(n_features, n_examples)``.
        """
        x = tf.convert_to_tensor(x, dtype=tf.float32)
        logits = tf.matmul(self.weights, x) + self.bias  # (n_classes, n_examples)
        return softmax(sigmoid(logits))
