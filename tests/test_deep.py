"""The deep-network bonus: the reference solution, its graded tests, and ``python -m lab depth``.

The graded tests run in a real pytest subprocess against folders written into tmp_path:
the solutions, the stubs, and copies of the solutions with one mistake each. A conftest in
that folder writes every graded result to JSON, so each test here checks one folder's
results. The command runs as a user runs it, in a subprocess. No test touches the network.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from graded_variants import Edit, Variant, replace_definition
from lab.commands.depth import configurations, per_layer_factor
from lab.depth import (DEFAULT_CONFIGURATIONS, Configuration, DepthResult, balanced_subset,
                       format_layer_range, layer_gradient_norms, layer_sizes, train_network)
from solutions.deep import DeepNetwork, relu

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
OTHER_MODULES = ("__init__.py", "activations.py", "losses.py", "model.py")
GRADED_MODULE = "lab.graded.test_deep"

# The graded tests that measure gradient ratios train nothing but still take about a
# second each, so only the runs that need them include them.
RATIO_TESTS = (
    "test_deep_sigmoid_glorot_gradient_vanishes",
    "test_deep_tanh_glorot_gradient_keeps_scale",
    "test_deep_relu_he_gradient_keeps_scale",
)
GRADIENT_RTOL = 1e-4  # float32 network against a float64 backpropagation

RESULTS_CONFTEST = """
import dataclasses
import json
import os

from lab.grading.plugin import graded_results


def pytest_sessionfinish(session):
    results = [dataclasses.asdict(result) for result in graded_results(session.config)]
    with open(os.environ["DEEP_GRADED_RESULTS"], "w") as file:
        json.dump(results, file)
"""


def function_body(*parts):
    """Return the parts, each dedented on its own, joined and indented as a function body."""
    code = "".join(textwrap.dedent(part).strip("\n") + "\n" for part in parts)
    return textwrap.indent(code, "    ")


def relu_edit(*parts):
    return Edit("deep.py", "relu", f"def relu(z):\n{function_body(*parts)}")


def initial_weights_edit(*parts):
    return Edit("deep.py", "_initial_weights",
                f"def _initial_weights(initializer, fan_out, fan_in):\n{function_body(*parts)}")


def method_edit(name, *parts):
    signature = {"build": "def build(self, n_features):", "predict": "def predict(self, x):"}[name]
    return Edit("deep.py", f"DeepNetwork.{name}", f"{signature}\n{function_body(*parts)}")


# The solution's _initial_weights up to the he_normal line, for variants that change it.
INITIAL_WEIGHTS_HEAD = """
    shape = (fan_out, fan_in)
    if initializer == "uniform":
        return tf.random.uniform(shape, minval=0.0, maxval=1.0, dtype=tf.float32)
    if initializer == "normal":
        return tf.random.normal(shape, mean=0.0, stddev=1.0, dtype=tf.float32)
"""
GLOROT_LINES = """
    if initializer == "glorot_uniform":
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return tf.random.uniform(shape, minval=-limit, maxval=limit, dtype=tf.float32)
"""
PREDICT_HIDDEN = """
    hidden = tf.convert_to_tensor(x, dtype=tf.float32)
    for weights, bias in zip(self.weights[:-1], self.biases[:-1]):
        hidden = self.activation_fn(tf.matmul(weights, hidden) + bias)
"""

MISTAKES = (
    Variant("relu_sign", (relu_edit("""
        return tf.sign(tf.convert_to_tensor(z, dtype=tf.float32))
    """),), loses={"relu": "sign of z"}, keeps=("deep",)),
    Variant("relu_numpy", (relu_edit("""
        import numpy as np
        return np.maximum(np.asarray(z, dtype=np.float32), 0.0)
    """),), loses={"relu": "not a TensorFlow tensor"}, keeps=("deep",)),
    Variant("relu_tf_builtin", (relu_edit("""
        return tf.nn.relu(tf.convert_to_tensor(z, dtype=tf.float32))
    """),), loses={"relu": "TensorFlow's own relu"}, keeps=("deep",)),
    Variant("relu_abs", (relu_edit("""
        return tf.abs(tf.convert_to_tensor(z, dtype=tf.float32))
    """),), loses={"relu": "this is |z|"}, keeps=("deep",)),
    Variant("he_from_fan_out", (initial_weights_edit(INITIAL_WEIGHTS_HEAD, GLOROT_LINES, """
        return tf.random.normal(shape, mean=0.0, stddev=math.sqrt(2.0 / fan_out), dtype=tf.float32)
    """),), loses={"deep": "sqrt(2 / fan_out): He uses fan_in"}, keeps=("relu",)),
    Variant("he_variance_as_std", (initial_weights_edit(INITIAL_WEIGHTS_HEAD, GLOROT_LINES, """
        return tf.random.normal(shape, mean=0.0, stddev=2.0 / fan_in, dtype=tf.float32)
    """),), loses={"deep": "the standard deviation is its square root"}, keeps=("relu",)),
    Variant("he_keras_on_lab_layout", (initial_weights_edit(INITIAL_WEIGHTS_HEAD, GLOROT_LINES, """
        return tf.keras.initializers.HeNormal()(shape)
    """),), loses={"deep": "Keras initializers read a 2-D shape as (fan_in, fan_out)"},
        keeps=("relu",)),
    Variant("glorot_from_fan_in_only", (initial_weights_edit(INITIAL_WEIGHTS_HEAD, """
        if initializer == "glorot_uniform":
            limit = math.sqrt(6.0 / fan_in)
            return tf.random.uniform(shape, minval=-limit, maxval=limit, dtype=tf.float32)
        return tf.random.normal(shape, mean=0.0, stddev=math.sqrt(2.0 / fan_in), dtype=tf.float32)
    """),), loses={"deep": "sqrt(6 / (fan_in + fan_out))"}, keeps=("relu",)),
    Variant("activation_after_last_layer", (method_edit("predict", PREDICT_HIDDEN, """
        logits = tf.matmul(self.weights[-1], hidden) + self.biases[-1]
        return softmax(self.activation_fn(logits))
    """),), loses={"deep": "to the last layer too"}, keeps=("relu",)),
    Variant("layers_recreated_every_call", (method_edit("predict", """
        self.build(int(x.shape[0]))
    """, PREDICT_HIDDEN, """
        return softmax(tf.matmul(self.weights[-1], hidden) + self.biases[-1])
    """),), loses={"deep": "replaced network.weights"}, keeps=("relu",)),
    Variant("biases_left_out", (method_edit("predict", """
        hidden = tf.convert_to_tensor(x, dtype=tf.float32)
        for weights in self.weights[:-1]:
            hidden = self.activation_fn(tf.matmul(weights, hidden))
        return softmax(tf.matmul(self.weights[-1], hidden))
    """),), loses={"deep": "biases are left out"}, keeps=("relu",)),
    Variant("plain_tensors", (method_edit("build", """
        self.weights, self.biases = [], []
        fan_in = n_features
        for fan_out in self.layer_sizes:
            self.weights.append(_initial_weights(self.initializer, fan_out, fan_in))
            self.biases.append(tf.zeros((fan_out, 1), dtype=tf.float32))
            fan_in = fan_out
    """),), loses={"deep": "not a tf.Variable"}, keeps=("relu",)),
    Variant("weights_transposed", (
        method_edit("build", """
            self.weights, self.biases = [], []
            fan_in = n_features
            for fan_out in self.layer_sizes:
                initial = tf.transpose(_initial_weights(self.initializer, fan_out, fan_in))
                self.weights.append(tf.Variable(initial))
                self.biases.append(tf.Variable(tf.zeros((fan_out, 1), dtype=tf.float32)))
                fan_in = fan_out
        """),
        method_edit("predict", """
            hidden = tf.convert_to_tensor(x, dtype=tf.float32)
            for weights, bias in zip(self.weights[:-1], self.biases[:-1]):
                hidden = self.activation_fn(tf.matmul(weights, hidden, transpose_a=True) + bias)
            return softmax(tf.matmul(self.weights[-1], hidden, transpose_a=True) + self.biases[-1])
        """),
    ), loses={"deep": "weights are (n_out, n_in)"}, keeps=("relu",)),
)

# Correct implementations written differently from the solution.
ALTERNATIVES = (
    Variant("keras_initializers_transposed", (initial_weights_edit(INITIAL_WEIGHTS_HEAD, """
        # Keras reads a 2-D shape as (fan_in, fan_out): draw that, then transpose.
        keras_class = {"glorot_uniform": tf.keras.initializers.GlorotUniform,
                       "he_normal": tf.keras.initializers.HeNormal}[initializer]
        return tf.transpose(keras_class()((fan_in, fan_out)))
    """),), keeps=("relu", "deep")),
    Variant("relu_where", (relu_edit("""
        z = tf.convert_to_tensor(z, dtype=tf.float32)
        return tf.where(z > 0, z, tf.zeros_like(z))
    """),), keeps=("relu", "deep")),
)

REFERENCE = Variant("solutions", (), keeps=("relu", "deep"))

# The runs that include the gradient-ratio tests.
WITH_RATIO_TESTS = ("solutions", "keras_initializers_transposed", "exercises")


def write_variant(variant, folder):
    """Copy the solutions into ``folder`` with ``variant``'s edits to deep.py applied."""
    folder.mkdir(parents=True)
    for module in OTHER_MODULES + ("deep.py",):
        shutil.copyfile(SOLUTIONS / module, folder / module)
    for edit in variant.edits:
        path = folder / edit.file
        path.write_text(replace_definition(path.read_text(), edit.target, edit.code))
    return folder


def write_test_module(folder, name):
    """Write the graded deep tests into ``folder``, as ``test_graded.py`` imports them."""
    names = "*" if name in WITH_RATIO_TESTS else ", ".join(
        ["network_class"] + [test for test in _graded_test_names() if test not in RATIO_TESTS]
    )
    (folder / f"test_graded_{name}.py").write_text(f"from {GRADED_MODULE} import {names}\n")


def _graded_test_names():
    from lab.graded import test_deep

    return [name for name in test_deep.__all__ if name.startswith("test_")]


def run_graded(root, folders, env_extra=None):
    """Run pytest on ``folders`` under ``root``; return (completed process, results by folder)."""
    results_path = root / "results.json"
    (root / "conftest.py").write_text(RESULTS_CONFTEST)
    env = dict(os.environ, DEEP_GRADED_RESULTS=str(results_path), PYTHONUNBUFFERED="1",
               **(env_extra or {}))
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(root),
         *map(str, folders)],
        capture_output=True, text=True, timeout=900, cwd=root, env=env,
    )
    by_folder = {}
    if results_path.exists():
        for result in json.loads(results_path.read_text()):
            by_folder.setdefault(result["nodeid"].split("/")[0], []).append(result)
    return completed, by_folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The graded deep tests run once on the solutions, the stubs and every variant."""
    root = tmp_path_factory.mktemp("deep-graded")
    folders = []
    for variant in (REFERENCE, *MISTAKES, *ALTERNATIVES):
        folders.append(write_variant(variant, root / variant.name))
        write_test_module(folders[-1], variant.name)
    stubs = root / "exercises"
    stubs.mkdir()
    for module in OTHER_MODULES + ("deep.py",):
        shutil.copyfile(EXERCISES / module, stubs / module)
    write_test_module(stubs, "exercises")
    folders.append(stubs)
    completed, by_folder = run_graded(root, folders)
    assert by_folder, f"the graded run wrote no results:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    return by_folder


def exercise_results(graded, folder, exercise):
    return [result for result in graded[folder] if result["exercise"] == exercise]


def score(results):
    return sum(result["score"] for result in results), sum(result["points"] for result in results)


# --- the graded suite ---------------------------------------------------------------------


def test_graded_solutions_full_marks(graded):
    failed = [f"{r['name']}: {r['message']}" for r in graded["solutions"] if r["status"] != "passed"]
    assert failed == []


def test_graded_solutions_run_every_test(graded):
    names = {result["name"].split("[")[0] for result in graded["solutions"]}
    assert names == set(_graded_test_names())


def test_graded_deep_tests_are_bonus(graded):
    assert all(result["bonus"] for result in graded["solutions"])


def test_graded_stubs_not_started(graded):
    statuses = {result["name"]: result["status"] for result in graded["exercises"]}
    assert set(statuses.values()) == {"not started"}, statuses


def test_graded_stubs_score_zero(graded):
    assert score(graded["exercises"])[0] == 0


@pytest.mark.parametrize("variant", MISTAKES, ids=lambda variant: variant.name)
def test_graded_mistake_loses_points(graded, variant):
    for exercise in variant.loses:
        got, possible = score(exercise_results(graded, variant.name, exercise))
        assert got < possible, f"{variant.name} kept full marks in {exercise}"


@pytest.mark.parametrize("variant", MISTAKES, ids=lambda variant: variant.name)
def test_graded_mistake_names_the_mistake(graded, variant):
    for exercise, phrase in variant.loses.items():
        messages = [r["message"] for r in exercise_results(graded, variant.name, exercise)
                    if r["status"] != "passed"]
        assert any(phrase in message for message in messages), (
            f"{variant.name}: no feedback in {exercise} contains {phrase!r}:\n" + "\n".join(messages)
        )


@pytest.mark.parametrize("variant", MISTAKES + ALTERNATIVES, ids=lambda variant: variant.name)
def test_graded_variant_keeps_other_exercise(graded, variant):
    for exercise in variant.keeps:
        results = exercise_results(graded, variant.name, exercise)
        failed = [f"{r['name']}: {r['message']}" for r in results if r["status"] != "passed"]
        assert failed == [], f"{variant.name} lost points in {exercise}"


def test_graded_stub_run_shows_bonus_not_started(tmp_path):
    stubs = tmp_path / "exercises"
    stubs.mkdir()
    for module in OTHER_MODULES + ("deep.py",):
        shutil.copyfile(EXERCISES / module, stubs / module)
    (stubs / "test_graded.py").write_text(f"from {GRADED_MODULE} import *\n")
    completed, _ = run_graded(tmp_path, [stubs])
    bonus_lines = [line for line in completed.stdout.splitlines() if line.startswith("bonus")]
    assert len(bonus_lines) == 1, completed.stdout[-2000:]
    assert bonus_lines[0].split()[1].startswith("0/")
    assert "not started" in bonus_lines[0]


# --- the reference solution ---------------------------------------------------------------


def test_relu_values_match_numpy():
    z = np.linspace(-4.0, 4.0, 81, dtype=np.float32)
    np.testing.assert_array_equal(relu(z).numpy(), np.maximum(z, 0.0))


def test_relu_gradient_is_step():
    z = tf.constant([-2.0, -0.5, 0.5, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(z)
        values = relu(z)
    np.testing.assert_array_equal(tape.gradient(values, z).numpy(), [0.0, 0.0, 1.0, 1.0])


def test_deep_network_rejects_unknown_activation():
    with pytest.raises(ValueError, match="activation must be one of"):
        DeepNetwork([3], activation="swish")


def test_deep_network_rejects_unknown_initializer():
    with pytest.raises(ValueError, match="initializer must be one of"):
        DeepNetwork([3], initializer="lecun_normal")


@pytest.mark.parametrize("sizes", [[], [3, 0], [2.5], [True]])
def test_deep_network_rejects_bad_layer_sizes(sizes):
    with pytest.raises(ValueError, match="layer_sizes must be"):
        DeepNetwork(sizes)


# --- lab.depth ----------------------------------------------------------------------------


def tiny_network(activation="tanh", seed=3):
    tf.random.set_seed(seed)
    network = DeepNetwork([4, 3], activation=activation, initializer="glorot_uniform")
    network.build(5)
    return network


def crossentropy(labels, probs):
    targets = tf.one_hot(labels, depth=tf.shape(probs)[0], axis=0)
    return tf.reduce_mean(-tf.reduce_sum(targets * tf.math.log(probs), axis=0))


def numpy_weight_gradients(network, x, labels):
    """Backpropagate the mean crossentropy through a tanh network in float64, by hand."""
    weights = [np.asarray(w, dtype=np.float64) for w in network.weights]
    biases = [np.asarray(b, dtype=np.float64) for b in network.biases]
    inputs, hidden = [], x
    for w, b in zip(weights[:-1], biases[:-1]):
        inputs.append(hidden)
        hidden = np.tanh(w @ hidden + b)
    inputs.append(hidden)
    logits = weights[-1] @ hidden + biases[-1]
    probs = np.exp(logits - logits.max(axis=0)) / np.exp(logits - logits.max(axis=0)).sum(axis=0)
    targets = np.eye(probs.shape[0])[:, labels]
    d_z = (probs - targets) / x.shape[1]  # dL/d(logits) of the mean crossentropy
    grads = []
    for index in range(len(weights) - 1, -1, -1):
        grads.append(d_z @ inputs[index].T)
        if index:
            d_z = (weights[index].T @ d_z) * (1.0 - inputs[index] ** 2)  # tanh' = 1 - tanh^2
    return grads[::-1]


def test_layer_gradient_norms_match_backpropagation():
    network = tiny_network()
    x = np.random.default_rng(5).uniform(-1.0, 1.0, (5, 6))
    labels = np.array([0, 1, 2, 0, 1, 2])
    got = layer_gradient_norms(network, tf.constant(x, tf.float32), tf.constant(labels), crossentropy)
    expected = [np.linalg.norm(grad) for grad in numpy_weight_gradients(network, x, labels)]
    np.testing.assert_allclose(got, expected, rtol=GRADIENT_RTOL)


def test_layer_gradient_norms_keep_tiny_gradients():
    # Squared in float32, entries of 1e-24 underflow to 0; the norm must not.
    network = tiny_network()
    x = tf.constant(np.random.default_rng(5).uniform(-1.0, 1.0, (5, 6)), tf.float32)
    labels = tf.constant([0, 1, 2, 0, 1, 2])
    unscaled = layer_gradient_norms(network, x, labels, crossentropy)
    scaled = layer_gradient_norms(network, x, labels, lambda l, p: 1e-24 * crossentropy(l, p))
    np.testing.assert_allclose(np.asarray(scaled) / 1e-24, unscaled, rtol=1e-4)


class NetworkIgnoringFirstLayer:
    """A stand-in network whose output depends on its last weight matrix only."""

    def __init__(self):
        self.weights = [tf.Variable(tf.ones((4, 5))), tf.Variable(tf.ones((3, 4)))]
        self.biases = [tf.Variable(tf.zeros((4, 1))), tf.Variable(tf.zeros((3, 1)))]

    def __call__(self, x):
        logits = tf.matmul(self.weights[1], tf.ones((4, x.shape[1])))  # (3, n_examples)
        return tf.nn.softmax(logits, axis=0)


def test_layer_gradient_norms_reject_unused_weights():
    from lab.depth import DepthError

    with pytest.raises(DepthError, match="layer 1"):
        layer_gradient_norms(NetworkIgnoringFirstLayer(), tf.ones((5, 2)), tf.constant([0, 1]),
                             crossentropy)


def test_train_network_lowers_loss():
    network = tiny_network()
    x = tf.constant(np.random.default_rng(5).uniform(-1.0, 1.0, (5, 12)), tf.float32)
    labels = tf.constant(np.arange(12) % 3)
    losses, final_loss, diverged_at = train_network(network, x, labels, crossentropy, 30, 0.5)
    assert final_loss < losses[0] - 0.05
    assert diverged_at == 0
    assert len(losses) == 30


def test_balanced_subset_takes_each_class_equally():
    labels = np.repeat(np.arange(10), 50)  # sorted by label, like the bundled digits
    x = np.arange(500, dtype=np.float32)[None, :]
    _, chosen_labels = balanced_subset(x, labels, 200)
    np.testing.assert_array_equal(np.bincount(chosen_labels, minlength=10), np.full(10, 20))


def test_balanced_subset_keeps_columns_with_labels():
    labels = np.repeat(np.arange(10), 50)
    x = np.arange(500, dtype=np.float32)[None, :]  # column j holds j
    chosen_x, chosen_labels = balanced_subset(x, labels, 30)
    np.testing.assert_array_equal(labels[chosen_x[0].astype(int)], chosen_labels)


@pytest.mark.parametrize("n_examples, balanced", [(300, True), (15, False)])
def test_depth_json_balanced_flag(n_examples, balanced):
    from types import SimpleNamespace

    from lab.commands.depth import payload

    args = SimpleNamespace(depth=10, width=64, seed=4, epochs=2)
    dataset = payload(SimpleNamespace(name="solutions"), args, n_examples, [])["dataset"]
    assert dataset["n_examples"] == n_examples
    assert dataset["balanced"] is balanced


def test_balanced_subset_rejects_too_many():
    with pytest.raises(ValueError, match="at most 500"):
        balanced_subset(np.zeros((1, 500)), np.repeat(np.arange(10), 50), 501)


def test_balanced_subset_rejects_fewer_than_classes():
    with pytest.raises(ValueError, match="request at least 10"):
        balanced_subset(np.zeros((1, 500)), np.repeat(np.arange(10), 50), 9)


def test_balanced_subset_one_per_class_at_minimum():
    _, chosen_labels = balanced_subset(np.zeros((1, 500)), np.repeat(np.arange(10), 50), 10)
    np.testing.assert_array_equal(np.bincount(chosen_labels, minlength=10), np.ones(10))


def test_layer_sizes_hidden_then_classes():
    assert layer_sizes(4, 7) == [7, 7, 7, 10]


@pytest.mark.parametrize("depth", [1, 0, 2.0, True])
def test_layer_sizes_rejects_bad_depth(depth):
    with pytest.raises(ValueError, match="depth must be"):
        layer_sizes(depth, 8)


def test_depth_result_ratio_nan_when_last_is_zero():
    result = DepthResult(Configuration("relu", "uniform"), [0.0, 0.0, 0.0])
    assert math.isnan(result.ratio)


def test_depth_result_zero_layers_one_based():
    result = DepthResult(Configuration("sigmoid", "uniform"), [0.0, 0.0, 1e-24, 3.0])
    assert result.zero_layers == [1, 2]


def test_format_layer_range_cases():
    assert [format_layer_range([3]), format_layer_range([1, 2, 3]), format_layer_range([1, 4])] == [
        "layer 3", "layers 1-3", "layers 1, 4"
    ]


def test_per_layer_factor_leaves_out_first_layer():
    assert per_layer_factor([100.0, 1.0, 2.0, 4.0]) == pytest.approx(2.0)


def test_configurations_default_pairs():
    assert configurations(None, None) == list(DEFAULT_CONFIGURATIONS)


def test_configurations_cross_product():
    got = configurations(["tanh", "relu", "tanh"], ["he_normal"])
    assert got == [Configuration("tanh", "he_normal"), Configuration("relu", "he_normal")]


def test_configurations_missing_option_means_all():
    got = configurations(["relu"], None)
    assert [c.initializer for c in got] == ["uniform", "normal", "glorot_uniform", "he_normal"]


# --- python -m lab depth ------------------------------------------------------------------


def run_depth(*args):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "lab", "depth", *map(str, args)],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env=env,
    )


@pytest.fixture(scope="module")
def depth_run(tmp_path_factory):
    """One default-configuration run on 300 digits and 2 epochs, with JSON and the figure."""
    folder = tmp_path_factory.mktemp("depth")
    completed = run_depth("--samples", 300, "--epochs", 2, "--json", folder / "depth.json",
                          "--plots", folder / "figures")
    payload = json.loads((folder / "depth.json").read_text()) if (folder / "depth.json").exists() else None
    return completed, payload, folder / "figures" / "depth.png"


def configuration_result(payload, label):
    activation, initializer = label.split("+")
    return next(c for c in payload["configurations"]
                if (c["activation"], c["initializer"]) == (activation, initializer))


def test_depth_command_exits_zero(depth_run):
    completed, _, _ = depth_run
    assert completed.returncode == 0, completed.stderr


def test_depth_command_prints_ratio_row(depth_run):
    completed, _, _ = depth_run
    assert any(line.startswith("first/last") for line in completed.stdout.splitlines())


def test_depth_command_prints_every_default_configuration(depth_run):
    completed, _, _ = depth_run
    header = next(line for line in completed.stdout.splitlines() if line.startswith("layer "))
    assert header.split()[1:] == [c.label for c in DEFAULT_CONFIGURATIONS]


def test_depth_command_one_row_per_layer(depth_run):
    completed, _, _ = depth_run
    rows = [line.split()[0] for line in completed.stdout.splitlines() if line[:5].strip().isdigit()]
    assert rows[:10] == [str(layer) for layer in range(1, 11)]


def test_depth_command_sigmoid_glorot_vanishes(depth_run):
    _, payload, _ = depth_run
    assert configuration_result(payload, "sigmoid+glorot_uniform")["ratio_first_last"] < 1e-3


@pytest.mark.parametrize("label", ["tanh+glorot_uniform", "relu+he_normal"])
def test_depth_command_fixes_keep_scale(depth_run, label):
    _, payload, _ = depth_run
    assert 0.1 <= configuration_result(payload, label)["ratio_first_last"] <= 10


def test_depth_command_uniform_zero_below_top(depth_run):
    _, payload, _ = depth_run
    result = configuration_result(payload, "sigmoid+uniform")
    assert result["zero_layers"][:3] == [1, 2, 3]


def test_depth_command_uniform_top_layer_nonzero(depth_run):
    _, payload, _ = depth_run
    assert configuration_result(payload, "sigmoid+uniform")["grad_norms"][-1] > 0


def test_depth_command_records_losses(depth_run):
    _, payload, _ = depth_run
    assert [len(c["losses"]) for c in payload["configurations"]] == [2] * len(DEFAULT_CONFIGURATIONS)


def test_depth_command_writes_png(depth_run):
    _, _, figure = depth_run
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_depth_command_explains(depth_run):
    completed, _, _ = depth_run
    assert "What the numbers show" in completed.stdout


@pytest.mark.parametrize("args, phrase", [
    (["--depth", "1"], "at least 2 layers"),
    (["--activation", "swish"], "invalid choice"),
    (["--init", "lecun"], "invalid choice"),
    (["--width", "0"], "positive integer"),
    (["--epochs", "-1"], "non-negative integer"),
    (["--samples", "7"], "expected at least 10 digits, one of each class, got '7'"),
], ids=["depth", "activation", "init", "width", "epochs", "samples"])
def test_depth_command_bad_option_one_line(args, phrase):
    completed = run_depth(*args)
    assert completed.returncode == 2
    assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr
    assert phrase in completed.stderr


def test_depth_command_plots_path_is_file(tmp_path):
    path = tmp_path / "figures"
    path.write_text("")
    completed = run_depth("--plots", path)
    assert completed.returncode == 2
    assert "is a file" in completed.stderr


def test_depth_command_missing_impl(tmp_path):
    completed = run_depth("--impl", tmp_path / "missing", "--epochs", 0)
    assert completed.returncode == 2
    assert "not found" in completed.stderr


def test_depth_command_stubs_not_written(tmp_path):
    completed = run_depth("--impl", "exercises", "--epochs", 0)
    assert completed.returncode == 2
    assert "not written yet" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_depth_command_too_many_samples():
    completed = run_depth("--samples", 6000, "--epochs", 0)
    assert completed.returncode == 2
    assert "at most 5,000" in completed.stderr
