"""Graded bonus tests of the deep-network exercises (``relu`` and ``DeepNetwork`` in deep.py).

The scores count on the bonus line, apart from the total. While ``DeepNetwork`` is
graded, the lab's reference sigmoid, softmax and relu stand in for the student's, so a
mistake in one of those costs points in its own exercise only. Expected values come from
NumPy in float64. Initializer statistics are checked within six standard errors of the
formula, so a correct initializer fails about once in 10^8 draws. The gradient-ratio tests
use 200 bundled digits, 20 of each class, and the median of three seeds.

``__all__`` limits what ``test_graded.py`` star-imports to the tests and their fixture, so
the helpers here cannot replace same-named ones of other graded modules there.
"""

import functools
import math

import numpy as np
import pytest
import tensorflow as tf

from lab.grading import from_scratch
from lab.grading.checks import GradedFailure, Mistake, assert_close, assert_dtype, assert_shape
from lab.grading.checks import check, gradient, numeric_array
from lab.grading.reference import EPSILON, np_sigmoid, np_softmax, tf_sigmoid, tf_softmax
from lab.grading.substitute import import_module, reference_activations

# The relu tests override the exercise with their own mark.
pytestmark = [pytest.mark.exercise("deep"), pytest.mark.bonus]

# The fixture is listed too: a star import has to bring it along with the tests.
__all__ = [
    "network_class",
    "test_relu_known_values",
    "test_relu_keeps_shape_and_dtype",
    "test_relu_gradient_zero_below_one_above",
    "test_relu_written_from_scratch",
    "test_deep_build_layer_shapes",
    "test_deep_build_creates_float32_variables",
    "test_deep_initializer_statistics",
    "test_deep_predict_shape_and_column_sums",
    "test_deep_predict_formula",
    "test_deep_predict_reuses_variables",
    "test_deep_sigmoid_glorot_gradient_vanishes",
    "test_deep_tanh_glorot_gradient_keeps_scale",
    "test_deep_relu_he_gradient_keeps_scale",
]

SEED = 11
N_FEATURES = 784
# Wide first layers make the statistics tight. Every layer has fan_in far from fan_out,
# so a formula that uses the wrong one shows in each of them.
STATISTICS_SIZES = (256, 128, 10)
STANDARD_ERRORS = 6.0

# The gradient-ratio tests: depth 10, width 64, as ``python -m lab depth`` runs them.
RATIO_DEPTH = 10
RATIO_WIDTH = 64
RATIO_EXAMPLES = 200
RATIO_SEEDS = (1, 2, 3)

NUMPY_ADVICE = ("compute it with TensorFlow ops (tf.maximum or tf.where), not NumPy, so that "
                "the result is a float32 tensor the tape can differentiate")
LAYOUT_ADVICE = ("weights are (n_out, n_in), so that W @ h is (n_out, n_examples), and each "
                 "bias is a column (n_out, 1)")
REUSE_ADVICE = ("build must run once, on the first call (the given __call__ does that), and "
                "predict must use self.weights and self.biases instead of making new variables")


def tf_relu(z):
    """Compute max(z, 0): the reference relu that replaces the student's while DeepNetwork is graded."""
    return tf.maximum(tf.convert_to_tensor(z, dtype=tf.float32), 0.0)


def tf_crossentropy(labels, probs):
    """Mean clipped crossentropy in float32, classes on axis 0, for the gradient tests."""
    clipped = tf.clip_by_value(probs, EPSILON, 1.0 - EPSILON)
    targets = tf.one_hot(labels, depth=tf.shape(probs)[0], axis=0, dtype=tf.float32)
    return tf.reduce_mean(-tf.reduce_sum(targets * tf.math.log(clipped), axis=0))


NP_ACTIVATIONS = {
    "sigmoid": np_sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
}


def relu_function(impl):
    return import_module(impl, "deep").relu


@pytest.fixture
def network_class(impl):
    """The implementation's DeepNetwork, run with the reference sigmoid, softmax and relu."""
    functions = {"sigmoid": tf_sigmoid, "softmax": tf_softmax, "relu": tf_relu}
    with reference_activations(impl, "deep", functions=functions) as module:
        yield module.DeepNetwork


def built_network(network_class, sizes, activation="tanh", initializer="glorot_uniform",
                  n_features=N_FEATURES, seed=SEED):
    """Return a network whose build ran once with a fixed global seed."""
    tf.random.set_seed(seed)
    network = network_class(list(sizes), activation=activation, initializer=initializer)
    network.build(n_features)
    return network


def layer_variables(network, name, n_layers):
    """Return ``network.<name>`` (weights or biases), failing unless it is a list per layer."""
    variables = getattr(network, name, None)
    check(variables is not None, f"after build, network.{name} is None: build must assign "
          f"self.{name}, a list with one tf.Variable per layer")
    check(isinstance(variables, (list, tuple)),
          f"network.{name} is a {type(variables).__name__}, expected a list with one "
          f"tf.Variable per layer")
    check(len(variables) == n_layers,
          f"network.{name} has {len(variables)} entries for layer_sizes of {n_layers} "
          f"layers; expected one per layer")
    return list(variables)


# --- relu -------------------------------------------------------------------------------


@pytest.mark.exercise("relu")
@pytest.mark.points(1)
def test_relu_known_values(impl):
    z = np.array([-3.0, -0.5, 0.0, 0.5, 3.0], dtype=np.float32)
    mistakes = [
        Mistake(np.sign(z), "this is the sign of z; relu keeps positive values as they are "
                "and replaces negative ones with 0"),
        Mistake(np.abs(z), "this is |z|; relu replaces negative values with 0"),
        Mistake(np.minimum(z, 0.0), "this is min(z, 0); relu keeps the positive part"),
    ]
    got = relu_function(impl)(tf.constant(z))
    assert_close(got, np.maximum(z, 0.0), what="relu([-3, -0.5, 0, 0.5, 3])", rtol=0, atol=0,
                 mistakes=mistakes)


@pytest.mark.exercise("relu")
@pytest.mark.points(1)
def test_relu_keeps_shape_and_dtype(impl):
    z = tf.reshape(tf.linspace(-3.0, 3.0, 12), (4, 3))
    got = relu_function(impl)(z)
    what = "relu of a float32 tensor of shape (4, 3)"
    assert_shape(got, (4, 3), what=what)
    assert_dtype(got, tf.float32, what=what, advice=NUMPY_ADVICE)
    assert_close(got, np.maximum(z.numpy(), 0.0), what=what, rtol=0, atol=0)


@pytest.mark.exercise("relu")
@pytest.mark.points(1)
def test_relu_gradient_zero_below_one_above(impl):
    # z = 0 is left out: relu has no derivative there, and TensorFlow's ops pick 0 or 1.
    z = np.array([-5.0, -1.0, -0.01, 0.01, 1.0, 5.0], dtype=np.float32)
    _, grads = gradient(relu_function(impl), z, what="d relu(z) / dz")
    mistakes = [
        Mistake(np.zeros_like(z), "the gradient is 0 everywhere, as for the sign of z; relu "
                "passes the gradient through unchanged where z > 0"),
        Mistake(np.ones_like(z), "the gradient is 1 everywhere, as for the identity; relu's "
                "gradient is 0 where z < 0"),
    ]
    assert_close(grads, (z > 0).astype(np.float64),
                 what="d relu(z) / dz at z = [-5, -1, -0.01, 0.01, 1, 5]", rtol=0, atol=1e-7,
                 mistakes=mistakes)


@pytest.mark.exercise("relu")
@pytest.mark.points(1)
def test_relu_written_from_scratch(impl):
    z = tf.constant([-1.0, 0.0, 2.0])
    call = from_scratch.find_library_call("relu", relu_function(impl), (z,), impl.path)
    check(call is None, call and (
        f"relu calls {from_scratch.LIBRARY_FUNCTIONS['relu'][1]}"
        f"{' (reached from ' + call.location + ')' if call.location else ''}; this exercise "
        f"asks you to write it from basic ops such as tf.maximum or tf.where"
    ))


# --- DeepNetwork.build ------------------------------------------------------------------


@pytest.mark.points(1)
def test_deep_build_layer_shapes(network_class):
    sizes = (32, 16, 10)
    network = built_network(network_class, sizes, n_features=20)
    weights = layer_variables(network, "weights", len(sizes))
    biases = layer_variables(network, "biases", len(sizes))
    n_in = 20
    for index, n_out in enumerate(sizes):
        where = f"layer {index + 1} of DeepNetwork([32, 16, 10]) built for 20 features"
        assert_shape(weights[index], (n_out, n_in), what=f"weights of {where}", advice=LAYOUT_ADVICE)
        assert_shape(biases[index], (n_out, 1), what=f"bias of {where}", advice=LAYOUT_ADVICE)
        assert_close(numeric_array(biases[index], f"bias of {where}"), np.zeros((n_out, 1)),
                     what=f"bias of {where}", rtol=0, atol=0,
                     advice="every bias starts at zeros, whatever the initializer")
        n_in = n_out


@pytest.mark.points(1)
def test_deep_build_creates_float32_variables(network_class):
    network = built_network(network_class, (4, 3), n_features=5)
    for name in ("weights", "biases"):
        for index, variable in enumerate(layer_variables(network, name, 2)):
            what = f"network.{name}[{index}]"
            check(isinstance(variable, tf.Variable),
                  f"{what} is a {type(variable).__name__}, not a tf.Variable: gradient descent "
                  f"updates the variables in place, so build must wrap them in tf.Variable")
            check(variable.trainable, f"{what} is not trainable: leave trainable=True")
            assert_dtype(variable, tf.float32, what=what)


def expected_moments(initializer, fan_in, fan_out):
    """Return ``(mean, std, bounds or None, formula)`` of an initializer's distribution."""
    if initializer == "uniform":
        return 0.5, math.sqrt(1.0 / 12.0), (0.0, 1.0), "U[0, 1)"
    if initializer == "normal":
        return 0.0, 1.0, None, "N(0, 1)"
    if initializer == "glorot_uniform":
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        formula = (f"U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out)) = "
                   f"sqrt(6 / ({fan_in} + {fan_out})) = {limit:.5g}")
        return 0.0, limit / math.sqrt(3.0), (-limit, limit), formula
    std = math.sqrt(2.0 / fan_in)
    return 0.0, std, None, f"N(0, 2 / fan_in) with standard deviation sqrt(2 / {fan_in}) = {std:.5g}"


def initializer_mistakes(initializer, fan_in, fan_out):
    """Return Mistakes for the standard deviation that common wrong formulas give."""
    if initializer == "glorot_uniform":
        return [
            Mistake(math.sqrt(6.0 / fan_in) / math.sqrt(3.0),
                    "this is limit = sqrt(6 / fan_in): Glorot uses fan_in + fan_out"),
            Mistake(math.sqrt(6.0 / fan_out) / math.sqrt(3.0),
                    "this is limit = sqrt(6 / fan_out): Glorot uses fan_in + fan_out"),
            Mistake(math.sqrt(6.0 / (fan_in + fan_out)),
                    "this is the standard deviation of a normal with the Glorot limit: draw "
                    "uniformly from (-limit, limit) instead"),
        ]
    if initializer == "he_normal":
        return [
            Mistake(math.sqrt(2.0 / fan_out),
                    "this is sqrt(2 / fan_out): He uses fan_in, the number of inputs of the "
                    "layer (the columns of W). Keras initializers read a 2-D shape as "
                    "(fan_in, fan_out), the transpose of this lab's (n_out, n_in)"),
            Mistake(2.0 / fan_in, "this is 2 / fan_in, the variance: the standard deviation "
                    "is its square root"),
            Mistake(math.sqrt(2.0 / (fan_in + fan_out)),
                    "this is Glorot's variance 2 / (fan_in + fan_out): He uses 2 / fan_in"),
        ]
    return []


@pytest.mark.points(1)
@pytest.mark.parametrize("initializer", ["uniform", "normal", "glorot_uniform", "he_normal"])
def test_deep_initializer_statistics(network_class, initializer):
    network = built_network(network_class, STATISTICS_SIZES, initializer=initializer)
    weights = layer_variables(network, "weights", len(STATISTICS_SIZES))
    fan_in = N_FEATURES
    for index, fan_out in enumerate(STATISTICS_SIZES):
        where = f"{initializer} weights of layer {index + 1}, shape ({fan_out}, {fan_in})"
        values = numeric_array(weights[index], where)
        assert_shape(values, (fan_out, fan_in), what=where, advice=LAYOUT_ADVICE)
        mean, std, bounds, formula = expected_moments(initializer, fan_in, fan_out)
        advice = f"expected {formula}"
        if bounds is not None:
            check(values.min() >= bounds[0] and values.max() <= bounds[1],
                  f"{where}: expected every value in [{bounds[0]:.5g}, {bounds[1]:.5g}], got "
                  f"values from {values.min():.5g} to {values.max():.5g}; {advice}")
        # Six standard errors: sigma / sqrt(n) for the mean, and at most
        # sigma / sqrt(2 n) for the standard deviation (the normal's, the widest here).
        n = values.size
        assert_close(values.mean(), mean, what=f"mean of the {n:,} {where}", rtol=0,
                     atol=STANDARD_ERRORS * std / math.sqrt(n), advice=advice)
        assert_close(values.std(), std, what=f"standard deviation of the {n:,} {where}",
                     rtol=STANDARD_ERRORS / math.sqrt(2.0 * n), atol=0, advice=advice,
                     mistakes=initializer_mistakes(initializer, fan_in, fan_out))
        fan_in = fan_out


# --- DeepNetwork.predict ----------------------------------------------------------------


def set_known_variables(network, sizes, n_features, seed):
    """Assign seeded NumPy weights and biases to ``network``; return them as float64 lists."""
    rng = np.random.default_rng(seed)
    weights = layer_variables(network, "weights", len(sizes))
    biases = layer_variables(network, "biases", len(sizes))
    known_weights, known_biases = [], []
    n_in = n_features
    for index, n_out in enumerate(sizes):
        w = (rng.standard_normal((n_out, n_in)) / math.sqrt(n_in)).astype(np.float32)
        b = (0.5 * rng.standard_normal((n_out, 1))).astype(np.float32)
        assert_shape(weights[index], w.shape, what=f"network.weights[{index}]", advice=LAYOUT_ADVICE)
        assert_shape(biases[index], b.shape, what=f"network.biases[{index}]", advice=LAYOUT_ADVICE)
        weights[index].assign(w)
        biases[index].assign(b)
        known_weights.append(w.astype(np.float64))
        known_biases.append(b.astype(np.float64))
        n_in = n_out
    return known_weights, known_biases


def np_forward(weights, biases, x, activation, activate_last=False, activate_hidden=True,
               with_bias=True, with_softmax=True):
    """Return the network's output in float64; the flags build the known wrong variants."""
    act = NP_ACTIVATIONS[activation]
    hidden = x
    for index, (w, b) in enumerate(zip(weights, biases)):
        z = w @ hidden + (b if with_bias else 0.0)
        last = index == len(weights) - 1
        hidden = act(z) if (activate_last if last else activate_hidden) else z
    return np_softmax(hidden) if with_softmax else hidden


def predict_mistakes(weights, biases, x, activation):
    def variant(**flags):
        return np_forward(weights, biases, x, activation, **flags)

    return [
        Mistake(variant(activate_last=True),
                f"this applies {activation} to the last layer too: the last layer's logits go "
                f"straight into the softmax, with no activation"),
        Mistake(variant(activate_hidden=False),
                f"the hidden layers are linear: apply {activation} (self.activation_fn) to every "
                f"layer but the last"),
        Mistake(variant(with_bias=False), "the biases are left out: each layer computes W @ h + b"),
        Mistake(variant(with_softmax=False), "the softmax is missing: return softmax(logits)"),
    ]


@pytest.mark.points(1)
def test_deep_predict_shape_and_column_sums(network_class):
    network = built_network(network_class, (8, 8, 10), activation="relu",
                            initializer="he_normal", n_features=12)
    x = tf.random.stateless_uniform((12, 5), seed=(SEED, 0))
    probs = network.predict(x)
    what = "predict(x) of DeepNetwork([8, 8, 10]) for x of shape (12 features, 5 examples)"
    assert_shape(probs, (10, 5), what=what,
                 advice="probabilities are (n_classes, n_examples), one column per example")
    assert_close(numeric_array(probs, what).sum(axis=0), np.ones(5), what=f"column sums of {what}",
                 rtol=0, atol=1e-5, advice="each column is a probability distribution over "
                 "classes: end with softmax(logits)")


@pytest.mark.points(1)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_deep_predict_formula(network_class, activation):
    sizes, n_features = (5, 4, 3), 6
    network = built_network(network_class, sizes, activation=activation, n_features=n_features)
    weights, biases = set_known_variables(network, sizes, n_features, seed=23)
    x = np.random.default_rng(29).uniform(-1.0, 1.0, (n_features, 7))
    got = network.predict(tf.constant(x, dtype=tf.float32))
    assert_close(got, np_forward(weights, biases, x, activation),
                 what=f"predict(x) of DeepNetwork([5, 4, 3], activation={activation!r}) for x "
                 f"of shape (6, 7), with known weights and biases",
                 rtol=1e-4, atol=1e-6, mistakes=predict_mistakes(weights, biases, x, activation),
                 advice=f"hidden layers compute {activation}(W @ h + b) with the variables in "
                 f"self.weights and self.biases; the last computes softmax(W @ h + b)")


@pytest.mark.points(1)
def test_deep_predict_reuses_variables(network_class):
    tf.random.set_seed(SEED)
    network = network_class([5, 3], activation="tanh", initializer="glorot_uniform")
    x = tf.random.stateless_uniform((4, 6), seed=(SEED, 1))
    first = numeric_array(network(x), "the first call network(x)")
    weights, biases = network.weights, network.biases
    second = numeric_array(network(x), "the second call network(x)")
    check(network.weights is weights and network.biases is biases,
          f"the second call replaced network.weights or network.biases; {REUSE_ADVICE}")
    assert_close(second, first, what="network(x) called twice on the same x", rtol=0, atol=1e-6,
                 advice=REUSE_ADVICE)
    with tf.GradientTape() as tape:
        objective = tf.reduce_sum(network(x) * tf.reshape(tf.range(18, dtype=tf.float32), (3, 6)))
    grads = tape.gradient(objective, list(network.weights) + list(network.biases))
    check(all(grad is not None for grad in grads),
          "the tape recorded no gradient for some of network.weights and network.biases; "
          "predict must compute with TensorFlow ops on those variables (no NumPy, no new "
          "variables)")


# --- gradients across depth -------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def ratio_digits():
    """Return ``(x, labels)``: 200 bundled digits, 20 of each class, as tensors."""
    from lab.data import load_dataset
    from lab.depth import balanced_subset

    dataset = load_dataset("bundled")
    x, labels = balanced_subset(dataset.x, dataset.labels, RATIO_EXAMPLES)
    return tf.constant(x), tf.constant(labels)


def gradient_ratio(network_class, activation, initializer):
    """Return the median over RATIO_SEEDS of ||dL/dW|| of layer 1 over that of layer 10."""
    from lab.depth import DepthError, layer_gradient_norms, layer_sizes

    x, labels = ratio_digits()
    sizes = layer_sizes(RATIO_DEPTH, RATIO_WIDTH)
    ratios = []
    for seed in RATIO_SEEDS:
        tf.random.set_seed(seed)
        network = network_class(sizes, activation=activation, initializer=initializer)
        network(x[:, :1])
        layer_variables(network, "weights", len(sizes))
        try:
            norms = layer_gradient_norms(network, x, labels, tf_crossentropy)
        except DepthError as error:
            raise GradedFailure(str(error)) from None
        check(np.all(np.isfinite(norms)) and norms[-1] > 0,
              f"{activation} with {initializer}: the gradient norms per layer are "
              f"{format_norms(norms)}, expected finite values and a last layer above 0")
        ratios.append(norms[0] / norms[-1])
    return float(np.median(ratios)), ratios


def format_norms(norms):
    return "[" + ", ".join(f"{norm:.2e}" for norm in norms) + "]"


def describe_ratio(activation, initializer, ratio, ratios):
    seeds = ", ".join(f"{value:.3g}" for value in ratios)
    return (f"{activation} with {initializer}, depth {RATIO_DEPTH}, width {RATIO_WIDTH}: "
            f"||dL/dW|| of layer 1 over that of layer {RATIO_DEPTH} is {ratio:.3g} (median of "
            f"{seeds} for seeds {', '.join(map(str, RATIO_SEEDS))})")


@pytest.mark.points(1)
def test_deep_sigmoid_glorot_gradient_vanishes(network_class):
    ratio, ratios = gradient_ratio(network_class, "sigmoid", "glorot_uniform")
    check(ratio < 1e-3,
          f"{describe_ratio('sigmoid', 'glorot_uniform', ratio, ratios)}; expected below 1e-3 "
          f"(about 6e-6): every sigmoid layer scales the gradient by at most 0.25. Check that "
          f"the hidden layers use the activation and the Glorot limit")


@pytest.mark.points(1)
def test_deep_tanh_glorot_gradient_keeps_scale(network_class):
    ratio, ratios = gradient_ratio(network_class, "tanh", "glorot_uniform")
    check(0.1 <= ratio <= 10,
          f"{describe_ratio('tanh', 'glorot_uniform', ratio, ratios)}; expected between 0.1 "
          f"and 10 (about 3.5): with Glorot's variance tanh keeps the gradient's scale from "
          f"layer to layer. Check the Glorot limit and that only the hidden layers use tanh")


@pytest.mark.points(1)
def test_deep_relu_he_gradient_keeps_scale(network_class):
    ratio, ratios = gradient_ratio(network_class, "relu", "he_normal")
    check(0.1 <= ratio <= 10,
          f"{describe_ratio('relu', 'he_normal', ratio, ratios)}; expected between 0.1 and 10 "
          f"(about 3): with He's variance 2 / fan_in relu keeps the gradient's scale from layer "
          f"to layer. Check the He standard deviation sqrt(2 / fan_in)")
