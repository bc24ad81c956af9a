"""The experiment's numbers on the bundled digits, in process, with the reference solutions."""

import math

import numpy as np
import pytest
import tensorflow as tf

from lab.data import load_dataset
from lab.experiment import is_frozen, run_experiment
from lab.implementation import load_implementation
from lab.probes import FACTOR_NAMES, chain_rule_factors, trace_example
from lab.training import build_model, train

LN_10 = math.log(10.0)


@pytest.fixture(scope="module")
def solutions():
    return load_implementation("solutions")


@pytest.fixture(scope="module")
def dataset():
    return load_dataset()


@pytest.fixture(scope="module")
def result(solutions, dataset):
    return run_experiment(solutions, dataset, epochs=10, learning_rate=0.1, seed=4)


def test_experiment_uniform_loss_is_ln10_every_epoch(result):
    uniform = result.run("uniform")
    assert len(uniform.loss) == 10
    assert is_frozen(uniform, tolerance=1e-5)
    assert len(set(uniform.loss)) == 1


def test_experiment_uniform_gradients_between_1e11_and_1e7(result):
    uniform = result.run("uniform")
    assert max(uniform.grad_abs_max) < 1e-7
    assert min(uniform.grad_abs_max) > 1e-11


def test_experiment_uniform_sigmoid_saturates(result):
    saturation = result.run("uniform").saturation
    assert saturation.logit_mean > 20.0
    assert saturation.fraction_sigmoid_one > 0.99


def test_experiment_normal_loss_decreases_every_epoch(result):
    losses = result.run("normal").loss
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))


def test_experiment_normal_gradients_above_1e4(result):
    assert min(result.run("normal").grad_abs_max) > 1e-4


def test_experiment_is_repeatable_with_the_same_seed(solutions, dataset, result):
    again = run_experiment(solutions, dataset, inits=("normal",), epochs=10, seed=4)
    assert again.run("normal").loss == result.run("normal").loss


def test_experiment_as_dict_has_the_documented_keys(result):
    payload = result.as_dict()
    assert payload["dataset"]["source"] == "bundled"
    assert payload["dataset"]["n_examples"] == 5000
    for run in payload["runs"]:
        assert set(run) >= {"init", "loss", "grad_abs_max"}
        assert len(run["loss"]) == len(run["grad_abs_max"]) == 10


def test_trace_uniform_example_is_saturated(solutions, dataset):
    model = build_model(solutions, "uniform", tf.constant(dataset.x), seed=4)
    trace = trace_example(solutions, model, dataset.x, dataset.labels, index=0)
    assert trace.label == int(dataset.labels[0])
    assert min(trace.logits) > 20.0
    assert trace.activations == [1.0] * 10
    np.testing.assert_allclose(trace.probs, [0.1] * 10, rtol=1e-6)


def test_chain_rule_sigmoid_factor_vanishes_for_uniform(solutions, dataset):
    model = build_model(solutions, "uniform", tf.constant(dataset.x), seed=4)
    factors = {s.name: s for s in chain_rule_factors(solutions, model, dataset.x, dataset.labels)}
    assert list(factors) == list(FACTOR_NAMES)
    assert factors["d(sigmoid)/d(logits)"].mean_abs < 1e-8
    assert factors["d(logits)/dW"].mean_abs > 0.05
    assert factors["d(softmax)/d(sigmoid)"].max == pytest.approx(0.09, abs=1e-6)  # p(1 - p), p = 0.1
    assert factors["dL/d(softmax)"].mean == pytest.approx(-1.25, rel=1e-5)  # -1 / (8 * 0.1)


def test_chain_rule_matches_a_hand_computed_sigmoid_derivative(solutions, dataset):
    model = build_model(solutions, "normal", tf.constant(dataset.x), seed=4)
    factors = {s.name: s for s in chain_rule_factors(solutions, model, dataset.x, dataset.labels)}
    logits = (model.weights.numpy() @ dataset.x[:, :8] + model.bias.numpy()).astype(np.float64)
    s = 1 / (1 + np.exp(-logits))
    assert factors["d(sigmoid)/d(logits)"].mean == pytest.approx(float(np.mean(s * (1 - s))), rel=1e-4)


def test_train_raises_when_predict_ignores_the_variables(dataset):
    from lab.training import TrainingError

    class Detached:
        """Stands in for an implementation whose predict builds new weights each call."""

        name = "detached"
        loss = staticmethod(lambda labels, probs: tf.reduce_mean(probs))

        class model_class:
            def __init__(self, n_classes, initializer):
                self.weights = tf.Variable(tf.zeros((n_classes, 784)))
                self.bias = tf.Variable(tf.zeros((n_classes, 1)))

            def __call__(self, x):
                return tf.matmul(tf.ones((10, 784)), x)

    with pytest.raises(TrainingError, match="does not depend on model.weights"):
        train(Detached(), dataset.x[:, :50], dataset.labels[:50], initializer="uniform", epochs=1)
