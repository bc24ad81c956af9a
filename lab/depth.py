"""Vanishing gradients across depth: per-layer gradient norms of a deep network.

For one full-batch gradient, dL/dW of layer l is a product of one factor per layer
above it::

    dL/dz_L = (probs - one_hot(labels)) / n_examples    (the last layer's logits)
    dL/dz_l = (W_{l+1}^T @ dL/dz_{l+1}) * f'(z_l)         (hidden layer l)
    dL/dW_l = dL/dz_l @ h_{l-1}^T                         (n_out, n_in)

where f is the activation and h_{l-1} the layer's input. ``layer_gradient_norms``
measures the Frobenius norm of every dL/dW_l, first layer to last, so a factor that
shrinks the gradient at each layer shows as a straight line on a log axis.
``measure_configuration`` adds a few epochs of full-batch gradient descent to show
which configurations learn. The network comes from the implementation's ``deep.py``.

TensorFlow is imported inside the functions that use it, so that the command line can
read the choices and defaults here without waiting seconds for that import.
"""

import math
from dataclasses import dataclass, field

import numpy as np

N_CLASSES = 10
DEFAULT_DEPTH = 10
DEFAULT_WIDTH = 64
DEFAULT_SAMPLES = 1000
DEFAULT_EPOCHS = 20
DEFAULT_SEED = 4
# Full-batch gradient descent on the default 1,000 digits: at 0.1 the loss of relu + He
# bounces within the first epochs. At 0.05 it falls for 17 epochs before it bounces, and
# the loss of tanh + Glorot falls in all 20.
LEARNING_RATE = 0.05

ACTIVATIONS = ("sigmoid", "tanh", "relu")
INITIALIZERS = ("uniform", "normal", "glorot_uniform", "he_normal")


class DepthError(RuntimeError):
    """The deep network cannot be measured: a gradient is missing or a shape is wrong."""


@dataclass(frozen=True)
class Configuration:
    """One activation paired with one initializer."""

    activation: str
    initializer: str

    @property
    def label(self):
        return f"{self.activation}+{self.initializer}"


# The pairs ``python -m lab depth`` compares by default: the lesson's saturating
# sigmoid + U[0, 1), the sigmoid with a good initializer, and the two standard fixes.
DEFAULT_CONFIGURATIONS = (
    Configuration("sigmoid", "uniform"),
    Configuration("sigmoid", "glorot_uniform"),
    Configuration("tanh", "glorot_uniform"),
    Configuration("relu", "he_normal"),
)


@dataclass
class DepthResult:
    """The measurements of one configuration: per-layer gradient norms and training losses."""

    configuration: Configuration
    grad_norms: list  # Frobenius norm of dL/dW per layer, first layer to last
    losses: list = field(default_factory=list)  # loss before each epoch's update
    final_loss: float = float("nan")  # loss after the last update
    diverged_at: int = 0  # the epoch whose loss was not finite, 0 if none

    @property
    def ratio(self):
        """The first layer's gradient norm over the last layer's, or NaN when the last is 0."""
        first, last = self.grad_norms[0], self.grad_norms[-1]
        if last == 0 or not math.isfinite(first) or not math.isfinite(last):
            return float("nan")
        return first / last

    @property
    def zero_layers(self):
        """1-based indices of the layers whose gradient is exactly 0."""
        return [index + 1 for index, norm in enumerate(self.grad_norms) if norm == 0]

    def as_dict(self):
        return {
            "activation": self.configuration.activation,
            "initializer": self.configuration.initializer,
            "grad_norms": [_json_float(norm) for norm in self.grad_norms],
            "ratio_first_last": _json_float(self.ratio),
            "zero_layers": self.zero_layers,
            "losses": [_json_float(loss) for loss in self.losses],
            "final_loss": _json_float(self.final_loss),
            "diverged_at": self.diverged_at,
        }


def _json_float(value):
    """Return ``value``, or None for NaN and inf, which JSON cannot hold."""
    return value if math.isfinite(value) else None


def layer_sizes(depth, width, n_classes=N_CLASSES):
    """Return ``depth`` layer sizes: ``depth - 1`` hidden layers of ``width``, then ``n_classes``."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 2:
        raise ValueError(f"depth must be an integer of at least 2 (one hidden layer), got {depth!r}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive integer, got {width!r}")
    return [width] * (depth - 1) + [n_classes]


def balanced_subset(x, labels, n_examples):
    """Return ``(x, labels)`` for ``n_examples`` examples taken evenly from every class.

    The bundled digits are sorted by label, so their first 1,000 are only zeros and
    ones. This takes the first example of each class, then the second of each, and so
    on, keeping the original order of the chosen columns. The choice involves no
    random numbers, so the same ``n_examples`` always gives the same examples.
    """
    labels = np.asarray(labels)
    n_classes = np.unique(labels).size
    if n_examples < n_classes:
        raise ValueError(
            f"requested {n_examples:,} examples, too few to take one from each of the "
            f"{n_classes} classes; request at least {n_classes}"
        )
    if n_examples > labels.size:
        raise ValueError(
            f"requested {n_examples:,} examples but the data contains {labels.size:,}; "
            f"request at most {labels.size:,}"
        )
    rank_in_class = np.empty(labels.size, dtype=np.int64)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        rank_in_class[members] = np.arange(members.size)
    # lexsort sorts by its last key first: rank within the class, then the class.
    chosen = np.sort(np.lexsort((labels, rank_in_class))[:n_examples])
    return x[:, chosen], labels[chosen]


def build_network(deep_module, configuration, sizes, n_features, seed):
    """Create ``deep_module.DeepNetwork`` with a seeded initializer and build its variables.

    Raises DepthError when the network has the wrong number of layers or shapes after
    its first call, so that later errors do not point at the wrong place.
    """
    import tensorflow as tf

    tf.random.set_seed(seed)
    network = deep_module.DeepNetwork(
        sizes, activation=configuration.activation, initializer=configuration.initializer
    )
    # One eager call on a single example builds the variables.
    network(tf.zeros((n_features, 1), dtype=tf.float32))
    check_layers(network, sizes, n_features)
    return network


def check_layers(network, sizes, n_features):
    """Raise DepthError unless ``network`` has one (n_out, n_in) weight and (n_out, 1) bias per layer."""
    weights = getattr(network, "weights", None)
    biases = getattr(network, "biases", None)
    if not isinstance(weights, (list, tuple)) or not isinstance(biases, (list, tuple)):
        raise DepthError(
            "the network has no list of weights or biases after its first call; build must "
            "assign self.weights and self.biases, one tf.Variable per layer"
        )
    if len(weights) != len(sizes) or len(biases) != len(sizes):
        raise DepthError(
            f"expected {len(sizes)} layers for layer_sizes {sizes}, got {len(weights)} "
            f"weights and {len(biases)} biases"
        )
    n_in = n_features
    for index, n_out in enumerate(sizes):
        expected = [(n_out, n_in), (n_out, 1)]
        got = [tuple(weights[index].shape), tuple(biases[index].shape)]
        if got != expected:
            raise DepthError(
                f"layer {index + 1}: expected weights {expected[0]} and bias {expected[1]}, "
                f"got {got[0]} and {got[1]}; weights are (n_out, n_in)"
            )
        n_in = n_out


def layer_gradient_norms(network, x, labels, loss_fn):
    """Return the Frobenius norm of dL/dW for every layer, first to last, as floats.

    One full-batch forward pass and one gradient. The norms are taken in float64:
    squaring a float32 gradient of 1e-24 underflows to 0, and the point of the
    measurement is to tell tiny gradients from zero ones.
    """
    import tensorflow as tf

    with tf.GradientTape() as tape:
        probs = network(x)  # (n_classes, n_examples)
        loss = loss_fn(labels, probs)
    grads = tape.gradient(loss, list(network.weights))
    _check_grads(grads)
    return [float(np.linalg.norm(np.asarray(grad, dtype=np.float64))) for grad in grads]


def _check_grads(grads):
    for index, grad in enumerate(grads):
        if grad is None:
            raise DepthError(
                f"the loss does not depend on the weights of layer {index + 1} (the gradient "
                f"is None); predict must use the variables that build created, and compute "
                f"with TensorFlow ops, not NumPy"
            )


def train_network(network, x, labels, loss_fn, epochs, learning_rate=LEARNING_RATE):
    """Run ``epochs`` full-batch gradient-descent steps on every weight and bias.

    Returns ``(losses, final_loss, diverged_at)``: the loss before each update, the loss
    after the last one, and the first epoch whose loss was not finite (0 if none).
    Training stops at that epoch, because a NaN only spreads from there.
    """
    import tensorflow as tf

    variables = list(network.weights) + list(network.biases)
    losses = []
    for epoch in range(1, epochs + 1):
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, network(x))
        grads = tape.gradient(loss, variables)
        _check_grads(grads)
        losses.append(float(loss))
        if not math.isfinite(losses[-1]):
            return losses, float("nan"), epoch
        for variable, grad in zip(variables, grads):
            variable.assign_sub(learning_rate * grad)
    final_loss = float(loss_fn(labels, network(x)))
    return losses, final_loss, 0 if math.isfinite(final_loss) else epochs + 1


def measure_configuration(implementation, configuration, x, labels, *, depth=DEFAULT_DEPTH,
                          width=DEFAULT_WIDTH, epochs=DEFAULT_EPOCHS, seed=DEFAULT_SEED,
                          learning_rate=LEARNING_RATE):
    """Measure one configuration: gradient norms at initialization, then train ``epochs``.

    Args:
        implementation: an Implementation (``lab.implementation``) whose folder
            contains ``deep.py``. Its own loss is used.
        x: float32 inputs of shape ``(n_features, n_examples)``.
        labels: integer labels of shape ``(n_examples,)``.
    """
    import tensorflow as tf

    x = tf.convert_to_tensor(x, dtype=tf.float32)
    labels = tf.convert_to_tensor(labels, dtype=tf.int32)
    sizes = layer_sizes(depth, width)
    network = build_network(implementation.module("deep"), configuration, sizes, int(x.shape[0]), seed)
    result = DepthResult(configuration, layer_gradient_norms(network, x, labels, implementation.loss))
    if epochs:
        result.losses, result.final_loss, result.diverged_at = train_network(
            network, x, labels, implementation.loss, epochs, learning_rate
        )
    return result


def plot_gradient_norms(results, path, title):
    """Save a figure of gradient norm against layer index, one line per configuration.

    The y axis is logarithmic. A norm of exactly 0 has no place on it, so those layers
    are left out of their line and the legend names them.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 4.8), layout="constrained")
    axes = figure.add_subplot()
    for result in results:
        layers = np.arange(1, len(result.grad_norms) + 1)
        norms = np.asarray(result.grad_norms, dtype=np.float64)
        shown = np.isfinite(norms) & (norms > 0)
        label = result.configuration.label
        if result.zero_layers:
            label += f" (exactly 0 at {format_layer_range(result.zero_layers)})"
        axes.plot(layers[shown], norms[shown], marker="o", label=label)
    axes.set_yscale("log")
    axes.set_xlabel("layer (1 = next to the input)")
    axes.set_ylabel("||dL/dW|| (Frobenius norm)")
    axes.set_xticks(np.arange(1, max(len(r.grad_norms) for r in results) + 1))
    axes.set_title(title)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small")
    figure.savefig(path, dpi=120)


def format_layer_range(layers):
    """Return ``"layer 3"`` or ``"layers 1-7"`` for a sorted list of consecutive indices."""
    if len(layers) == 1:
        return f"layer {layers[0]}"
    if layers == list(range(layers[0], layers[-1] + 1)):
        return f"layers {layers[0]}-{layers[-1]}"
    return "layers " + ", ".join(str(layer) for layer in layers)
