"""A deep network: the bonus exercise on vanishing gradients across many layers.

The one-layer model saturates because its logits are large. A deep network has a second
way to lose its gradient: backpropagation multiplies one factor per layer, W^T times
the activation's derivative, and the sigmoid's derivative is at most 0.25. Ten layers
of factors below 1 shrink dL/dW of the first layer by orders of magnitude. The fixes
practitioners use are an activation whose derivative is 1 over a wide range (tanh near
0, relu above 0) and an initialization scaled to the layer's fan-in and fan-out.

``DeepNetwork`` stacks dense layers: each hidden layer computes
``activation(W @ h + b)``, and the last layer's logits go straight into the softmax.
Examples are columns, as everywhere in the lab: ``x`` is ``(n_features, n_examples)``
and the output is ``(n_classes, n_examples)``.

You write ``relu``, ``DeepNetwork.build`` and ``DeepNetwork.predict``. Keep the names
and signatures, and keep ``__init__`` and ``__call__`` as they are: the graded tests
and ``python -m lab depth`` read the variables from ``self.weights`` and
``self.biases``. ``pytest exercises/ -k relu`` and ``pytest exercises/ -k deep`` check
your work (a bonus, scored on its own line); ``python -m lab hint deep`` prints a hint.
"""

import math  # noqa: F401 (math.sqrt is handy for the initializers' formulas)

import tensorflow as tf

from .activations import sigmoid, softmax

ACTIVATIONS = ("sigmoid", "tanh", "relu")
INITIALIZERS = ("uniform", "normal", "glorot_uniform", "he_normal")


def relu(z):
    """Compute the rectified linear unit max(z, 0) elementwise.

    Args:
        z: a float32 tensor (or anything ``tf.convert_to_tensor`` turns into one) of
            any shape.

    Returns:
        A float32 tensor of the same shape as ``z``. Its gradient is 0 where z < 0
        and 1 where z > 0.
    """
    z = tf.convert_to_tensor(z, dtype=tf.float32)

    # TODO: return max(z, 0) elementwise, built from TensorFlow ops (not tf.nn.relu,
    # not NumPy), so that a tf.GradientTape can differentiate it.
    raise NotImplementedError("relu is not written yet: replace the raise in deep.py with your code")


class DeepNetwork(tf.Module):
    """Dense layers with one activation, then a softmax over classes.

    Args:
        layer_sizes: the number of outputs of each layer, first to last, e.g.
            ``[64] * 9 + [10]`` for nine hidden layers of 64 units and 10 classes.
            The number of inputs of the first layer is read from ``x`` on the first
            call.
        activation: ``"sigmoid"`` (your own, from ``activations.py``), ``"tanh"``
            (``tf.math.tanh``) or ``"relu"`` (``relu`` above). Hidden layers use it;
            the last layer does not.
        initializer: how ``build`` draws each weight matrix of shape
            ``(fan_out, fan_in)`` = ``(n_out, n_in)``:

            - ``"uniform"``: U[0, 1), the one-layer lesson's initialization;
            - ``"normal"``: N(0, 1);
            - ``"glorot_uniform"``: U(-limit, limit) with
              limit = sqrt(6 / (fan_in + fan_out)), so the variance is
              2 / (fan_in + fan_out) (Glorot and Bengio, 2010);
            - ``"he_normal"``: N(0, 2 / fan_in), a plain normal with standard
              deviation sqrt(2 / fan_in) (He et al., 2015). Keras' ``HeNormal`` draws
              from a normal truncated at two standard deviations and rescaled to the
              same variance; the graded tests accept either.

            Biases start at zero whatever the initializer.
        name: name of the ``tf.Module``.

    ``build`` creates ``weights``, a list with one ``tf.Variable`` of shape
    ``(n_out, n_in)`` per layer, and ``biases``, a list with one ``tf.Variable`` of
    shape ``(n_out, 1)`` per layer. Draws use TensorFlow's global seed, so call
    ``tf.random.set_seed`` first for repeatable weights.
    """

    def __init__(self, layer_sizes, activation="sigmoid", initializer="glorot_uniform", name=None):
        super().__init__(name=name)
        layer_sizes = tuple(layer_sizes)
        if not layer_sizes or any(
            isinstance(size, bool) or not isinstance(size, int) or size < 1 for size in layer_sizes
        ):
            raise ValueError(
                f"layer_sizes must be a non-empty list of positive integers, got {layer_sizes!r}"
            )
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}"
            )
        if initializer not in INITIALIZERS:
            raise ValueError(
                f"initializer must be one of {', '.join(INITIALIZERS)}, got {initializer!r}"
            )
        self.layer_sizes = layer_sizes
        self.activation = activation
        self.initializer = initializer
        self.activation_fn = {"sigmoid": sigmoid, "tanh": tf.math.tanh, "relu": relu}[activation]
        self.weights = None
        self.biases = None

    def build(self, n_features):
        """Create one weight matrix (n_out, n_in) and one bias (n_out, 1) per layer."""
        # TODO: for each size in self.layer_sizes, draw a float32 weight matrix of shape
        # (n_out, n_in) from self.initializer with the formula in the class docstring.
        # The first layer has n_in = n_features; every later layer's n_in is the
        # previous layer's n_out. fan_in is n_in and fan_out is n_out.

        # TODO: assign self.weights and self.biases as lists of tf.Variable objects, one
        # of each per layer, in order. Every bias starts at zeros of shape (n_out, 1).
        raise NotImplementedError(
            "DeepNetwork.build is not written yet: replace the raise in deep.py with your code"
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
        hidden = tf.convert_to_tensor(x, dtype=tf.float32)

        # TODO: for every layer but the last, compute
        # self.activation_fn(W @ hidden + b) with that layer's variables from
        # self.weights and self.biases (never new ones).

        # TODO: the last layer is linear: compute its logits W @ hidden + b, shape
        # (n_classes, n_examples), and return softmax(logits).
        raise NotImplementedError(
            "DeepNetwork.predict is not written yet: replace the raise in deep.py with your code"
        )
