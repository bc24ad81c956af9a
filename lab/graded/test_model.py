"""Graded tests of the model exercise (``build`` and ``predict`` in model.py).

While these tests run, the lab's reference sigmoid and softmax stand in for the ones in
activations.py, so only the model itself is graded here. Expected probabilities come
from NumPy in float64, computed from the model's own variables.
"""

import numpy as np
import pytest
import tensorflow as tf

from lab.grading import from_scratch
from lab.grading.checks import Mistake, assert_close, assert_dtype, assert_shape, check
from lab.grading.checks import numeric_array
from lab.grading.reference import np_sigmoid, np_softmax, tf_sigmoid, tf_softmax
from lab.grading.substitute import reference_activations

pytestmark = pytest.mark.exercise("model")

SEED = 7
N_CLASSES = 10
N_FEATURES = 784
UNIFORM_STD = 1.0 / np.sqrt(12.0)  # standard deviation of U[0, 1)
# Tolerances on the mean and standard deviation of the 7,840 weights, at least 4
# standard errors wide: 0.02 is 6 for the mean of U[0, 1), 0.05 is 4.4 for N(0, 1).
UNIFORM_TOLERANCE = 0.02
NORMAL_TOLERANCE = 0.05

BIAS_COLUMN_ADVICE = ("make the bias a column of shape (n_classes, 1): it then broadcasts over "
                      "the examples, which are the columns of W @ x")


@pytest.fixture
def model_class(impl):
    """The implementation's model class, run with the lab's reference activations."""
    with reference_activations(impl, "model"):
        yield impl.model_class


def built_model(model_class, initializer=None, n_classes=N_CLASSES, n_features=N_FEATURES):
    """Return a model whose build ran once with a fixed global seed."""
    tf.random.set_seed(SEED)
    model = model_class(n_classes) if initializer is None else model_class(n_classes, initializer=initializer)
    model.build(n_features)
    return model


def variable_array(model, name):
    """Return ``model.<name>`` as a float64 array, or fail saying build did not set it."""
    value = getattr(model, name, None)
    check(value is not None, f"after build, model.{name} is None: build must assign self.{name}")
    return numeric_array(value, f"model.{name}")


def require_variables(model):
    """Fail unless ``model.weights`` and ``model.bias`` are tf.Variable objects."""
    for name in ("weights", "bias"):
        variable = getattr(model, name, None)
        check(isinstance(variable, tf.Variable),
              f"model.{name} is a {type(variable).__name__}, not a tf.Variable: gradient descent "
              f"updates the model's variables in place, so build must wrap them in tf.Variable")


def set_variables(model, weights, bias):
    """Give ``model`` known weights and bias, as tf.Variables of the contract's shapes."""
    model.weights = tf.Variable(weights, dtype=tf.float32, name="weights")
    model.bias = tf.Variable(bias, dtype=tf.float32, name="bias")


def predict_keeping_variables(model, x):
    """Return ``model.predict(x)``, failing if predict replaced the model's variables."""
    variables = (model.weights, model.bias)
    probs = model.predict(tf.constant(x))
    check(model.weights is variables[0] and model.bias is variables[1],
          "predict replaced model.weights or model.bias with new variables; predict must "
          "compute with the self.weights and self.bias that build created once")
    return probs


def np_predict(weights, bias, x):
    """Return softmax(sigmoid(W @ x + b)) over axis 0, with b reshaped to a column."""
    bias = np.reshape(bias, (-1, 1))
    return np_softmax(np_sigmoid(weights @ x + bias))


def predict_mistakes(weights, bias, x):
    """Return the Mistakes common wrong predict methods produce."""
    logits = weights @ x + np.reshape(bias, (-1, 1))
    mistakes = [
        Mistake(np_softmax(np_sigmoid(weights @ x)),
                "this leaves out the bias: predict computes softmax(sigmoid(W @ x + b))"),
        Mistake(np_softmax(logits),
                "the sigmoid is missing: predict computes softmax(sigmoid(W @ x + b))"),
        Mistake(np_sigmoid(logits),
                "the softmax is missing: predict computes softmax(sigmoid(W @ x + b))"),
        Mistake(np_sigmoid(np_softmax(logits)),
                "sigmoid and softmax are swapped: the sigmoid comes first, the softmax last"),
    ]
    if logits.shape[0] == logits.shape[1]:
        mistakes.append(Mistake(
            np_softmax(np_sigmoid(weights @ x + np.reshape(bias, (1, -1)))),
            "the bias is added along the wrong axis (a bias of shape (n_classes,) adds "
            f"bias[j] to example j): {BIAS_COLUMN_ADVICE}",
        ))
    return mistakes


@pytest.mark.points(2)
def test_model_build_shapes(model_class):
    model = built_model(model_class)
    assert_shape(variable_array(model, "weights"), (N_CLASSES, N_FEATURES),
                 what=f"model.weights after build({N_FEATURES}) with n_classes={N_CLASSES}",
                 advice="weights are (n_classes, n_features), so that W @ x is (n_classes, n_examples)")
    assert_shape(variable_array(model, "bias"), (N_CLASSES, 1),
                 what=f"model.bias after build({N_FEATURES}) with n_classes={N_CLASSES}",
                 advice=BIAS_COLUMN_ADVICE)


@pytest.mark.points(1)
def test_model_build_creates_float32_variables(model_class):
    model = built_model(model_class)
    require_variables(model)
    for name in ("weights", "bias"):
        variable = getattr(model, name)
        check(variable.trainable, f"model.{name} is not trainable: leave trainable=True")
        assert_dtype(variable, tf.float32, what=f"model.{name}")


@pytest.mark.points(2)
def test_model_uniform_by_default(model_class):
    weights = variable_array(built_model(model_class), "weights")
    what = "weights of MultiClassLogisticRegression(10) (uniform by default)"
    advice = "draw them with tf.random.uniform(shape, minval=0.0, maxval=1.0)"
    check(weights.min() >= 0.0,
          f"{what}: expected every weight in [0, 1), got a minimum of {weights.min():.4g}; {advice}")
    check(weights.max() < 1.0,
          f"{what}: expected every weight in [0, 1), got a maximum of {weights.max():.4g}; {advice}")
    assert_close(weights.mean(), 0.5, what=f"mean of the {weights.size} {what}",
                 rtol=0, atol=UNIFORM_TOLERANCE, advice=advice)
    assert_close(weights.std(), UNIFORM_STD, what=f"standard deviation of the {what}",
                 rtol=0, atol=UNIFORM_TOLERANCE, advice=advice)


@pytest.mark.points(2)
def test_model_normal_on_request(model_class):
    weights = variable_array(built_model(model_class, initializer="normal"), "weights")
    what = 'weights of MultiClassLogisticRegression(10, initializer="normal")'
    advice = "draw them with tf.random.normal(shape, mean=0.0, stddev=1.0)"
    check(weights.min() < 0.0,
          f"{what}: expected negative weights too, got a minimum of {weights.min():.4g}; {advice}")
    assert_close(weights.mean(), 0.0, what=f"mean of the {weights.size} {what}",
                 rtol=0, atol=NORMAL_TOLERANCE, advice=advice)
    assert_close(weights.std(), 1.0, what=f"standard deviation of the {what}",
                 rtol=0, atol=NORMAL_TOLERANCE, advice=advice)


@pytest.mark.points(2)
def test_model_variables_created_once(model_class):
    tf.random.set_seed(SEED)
    model = model_class(3)
    x = tf.random.uniform((5, 4), seed=SEED)
    model(x)
    weights, bias = model.weights, model.bias
    first = numeric_array(weights, "model.weights after the first call")
    model(x)
    advice = ("build must run once, on the first call (the given __call__ does that), and "
              "predict must use self.weights and self.bias instead of making new variables; "
              "new variables on every call undo each gradient step")
    check(model.weights is weights,
          f"the second call replaced model.weights with a new object; {advice}")
    check(model.bias is bias, f"the second call replaced model.bias with a new object; {advice}")
    assert_close(model.weights, first, what="model.weights after a second call",
                 rtol=0, atol=0, advice=advice)


@pytest.mark.points(2)
def test_model_predict_formula(model_class):
    rng = np.random.default_rng(21)
    weights = (0.5 * rng.standard_normal((3, 6))).astype(np.float32)
    bias = rng.standard_normal((3, 1)).astype(np.float32)
    x = rng.uniform(0.0, 1.0, (6, 4)).astype(np.float32)
    model = model_class(3)
    set_variables(model, weights, bias)
    assert_close(predict_keeping_variables(model, x), np_predict(weights, bias, x),
                 what="predict(x) for 3 classes, 6 features, 4 examples", rtol=1e-5, atol=1e-6,
                 mistakes=predict_mistakes(weights, bias, x))


@pytest.mark.points(1)
def test_model_predict_square_batch(model_class):
    # With as many examples as classes, a bias of the wrong shape or a transposed product
    # still broadcasts, so only the values tell.
    tf.random.set_seed(SEED)
    model = model_class(4)
    x = tf.random.uniform((6, 4), seed=SEED)
    model(x)
    require_variables(model)
    model.weights.assign(0.5 * tf.random.normal(tuple(model.weights.shape), seed=SEED))
    model.bias.assign(tf.reshape(tf.linspace(-1.0, 1.0, int(np.prod(model.bias.shape))),
                                 model.bias.shape))
    weights = numeric_array(model.weights, "model.weights")
    bias = numeric_array(model.bias, "model.bias")
    got = predict_keeping_variables(model, x)
    assert_shape(got, (4, 4), what="predict(x) for 4 classes and 4 examples")
    assert_close(got, np_predict(weights, bias, np.asarray(x)),
                 what="predict(x) for 4 classes and 4 examples", rtol=1e-5, atol=1e-6,
                 mistakes=predict_mistakes(weights, bias, np.asarray(x)))


@pytest.mark.points(1)
def test_model_first_call_builds_from_features(model_class):
    tf.random.set_seed(SEED)
    model = model_class(N_CLASSES)
    probs = model(tf.random.uniform((5, 3), seed=SEED))
    assert_shape(variable_array(model, "weights"), (N_CLASSES, 5),
                 what="model.weights after a first call on x of shape (5, 3)")
    assert_shape(probs, (N_CLASSES, 3),
                 what="model(x) for 10 classes and x of shape (5 features, 3 examples)",
                 advice="probabilities are (n_classes, n_examples), one column per example")


@pytest.mark.points(1)
def test_model_gradient_reaches_variables(model_class):
    tf.random.set_seed(SEED)
    model = model_class(3, initializer="normal")
    x = tf.random.uniform((5, 4), seed=SEED)
    model(x)
    require_variables(model)
    weights = tf.constant(np.arange(12, dtype=np.float32).reshape(3, 4))
    with tf.GradientTape() as tape:
        objective = tf.reduce_sum(model(x) * weights)
    grad_w, grad_b = tape.gradient(objective, [model.weights, model.bias])
    advice = ("predict must compute with TensorFlow ops on self.weights and self.bias (no "
              "NumPy, no .numpy(), no new variables) so that the tape reaches them")
    check(grad_w is not None, f"the tape recorded no gradient for model.weights; {advice}")
    check(grad_b is not None, f"the tape recorded no gradient for model.bias; {advice}")
    check(np.all(np.isfinite(grad_w)), "the gradient for model.weights holds NaN or inf")


@pytest.mark.points(1)
def test_model_predict_uses_activations(impl):
    calls = {"sigmoid": 0, "softmax": 0}

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return wrapper

    functions = {"sigmoid": counted("sigmoid", tf_sigmoid), "softmax": counted("softmax", tf_softmax)}
    with reference_activations(impl, "model", functions=functions):
        model = impl.model_class(3)
        set_variables(model, np.ones((3, 2), np.float32), np.zeros((3, 1), np.float32))
        x = tf.constant([[0.5, -1.0], [2.0, 0.0]])
        call = from_scratch.find_library_call("model", model.predict, (x,), impl.path)
    check(call is None, call and (
        f"predict calls {from_scratch.LIBRARY_FUNCTIONS['model'][1]}"
        f"{' (reached from ' + call.location + ')' if call.location else ''}; use the sigmoid "
        f"and softmax you wrote in activations.py (from .activations import sigmoid, softmax)"
    ))
    for name, count in calls.items():
        check(count > 0, f"predict never calls {name} from activations.py; keep "
              f"`from .activations import sigmoid, softmax` and call both")
