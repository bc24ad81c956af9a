"""The model: multi-class logistic regression with a sigmoid before the softmax.

``predict`` computes ``softmax(sigmoid(weights @ x + bias))``. The sigmoid between the
linear layer and the softmax is what this lab is about: once the logits are large,
the sigmoid saturates at 1.0 and the gradient through it vanishes.

You write ``build`` and ``predict``. Keep ``__init__`` and ``__call__`` as they are:
the training step relies on the variables being created once, on the first call, and
on their names ``weights`` and ``bias``. ``pytest exercises/ -k model`` checks it.
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
        # TODO: draw the initial weights, shape (self.n_classes, n_features), float32:
        # from U[0, 1) when self.initializer is "uniform", from N(0, 1) when "normal".

        # TODO: assign self.weights and self.bias as tf.Variable objects; the bias
        # starts at zeros and is a column of shape (self.n_classes, 1).
        raise NotImplementedError(
            "MultiClassLogisticRegression.build is not written yet: replace the raise in "
            "model.py with your code"
        )

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

        # TODO: compute the logits W @ x + b, shape (n_classes, n_examples), from
        # self.weights and self.bias (never new variables), then return
        # softmax(sigmoid(logits)) with the functions imported from activations.py.
        raise NotImplementedError(
            "MultiClassLogisticRegression.predict is not written yet: replace the raise in "
            "model.py with your code"
        )
