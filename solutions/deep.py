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
"""

import math

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
    # A TensorFlow op, not np.maximum: the tape can only differentiate TensorFlow ops.
    return tf.maximum(z, 0.0)


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
        self.weights = []
        self.biases = []
        fan_in = n_features
        for index, fan_out in enumerate(self.layer_sizes):
            initial = _initial_weights(self.initializer, fan_out, fan_in)
            self.weights.append(tf.Variable(initial, name=f"weights_{index}"))
            self.biases.append(tf.Variable(tf.zeros((fan_out, 1), dtype=tf.float32), name=f"bias_{index}"))
            fan_in = fan_out  # the next layer's inputs are this layer's outputs

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
        for weights, bias in zip(self.weights[:-1], self.biases[:-1]):
            hidden = self.activation_fn(tf.matmul(weights, hidden) + bias)  # (n_out, n_examples)
        # The last layer stays linear: its logits go straight into the softmax. An
        # activation here would squash them (a sigmoid into (0, 1)) and cap how sure
        # the softmax can be.
        logits = tf.matmul(self.weights[-1], hidden) + self.biases[-1]  # (n_classes, n_examples)
        return softmax(logits)


def _initial_weights(initializer, fan_out, fan_in):
    """Draw a float32 weight matrix of shape (fan_out, fan_in) from ``initializer``."""
    shape = (fan_out, fan_in)
    if initializer == "uniform":
        return tf.random.uniform(shape, minval=0.0, maxval=1.0, dtype=tf.float32)
    if initializer == "normal":
        return tf.random.normal(shape, mean=0.0, stddev=1.0, dtype=tf.float32)
    if initializer == "glorot_uniform":
        # U(-l, l) has variance l^2 / 3 = 2 / (fan_in + fan_out): a compromise between
        # keeping the forward activations' variance (1 / fan_in) and the backward
        # gradients' variance (1 / fan_out) constant from layer to layer.
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return tf.random.uniform(shape, minval=-limit, maxval=limit, dtype=tf.float32)
    # he_normal: relu zeroes half of its inputs, which halves the variance each layer
    # passes on. A variance of 2 / fan_in, twice Glorot's forward term, makes up for it.
    return tf.random.normal(shape, mean=0.0, stddev=math.sqrt(2.0 / fan_in), dtype=tf.float32)
