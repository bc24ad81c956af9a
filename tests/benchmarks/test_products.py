"""Benchmarks of the two matrix products alone, written every way TensorFlow offers.

Every step computes ``weights @ x`` (forward) and ``dlogits @ x^T`` (dL/dW), whatever
else it skips. So the fastest forward product plus the fastest backward product bound
how much faster than the eager baseline any step can be. This file times each form of
each product at 10,000 examples, next to the baseline, in the group
``products-10000``; ``summarize.py`` prints the bound.

Run them with ``pytest tests/benchmarks/test_products.py --benchmark-only``.
"""

import numpy as np
import pytest
import tensorflow as tf

from benchmark_inputs import input_tensors, machine_facts
from lab import classic
from lab.training import EAGER, GRAPH, XLA

N_EXAMPLES = 10_000
N_CLASSES = 10
ROUNDS = 40
WARMUP_ROUNDS = 3
SEED = 4
LEARNING_RATE = 0.1

# Each form returns a (10, n_examples) forward product or a (10, n_features) dL/dW.
FORWARD_FORMS = {
    "weights@x": lambda weights, x: tf.matmul(weights, x),
    "(x^T@weights^T)^T": lambda weights, x: tf.transpose(
        tf.matmul(x, weights, transpose_a=True, transpose_b=True)),
    "einsum": lambda weights, x: tf.einsum("cf,fn->cn", weights, x),
    "weights@x,b_is_sparse": lambda weights, x: tf.matmul(weights, x, b_is_sparse=True),
}
BACKWARD_FORMS = {
    "dlogits@x^T": lambda dlogits, x: tf.matmul(dlogits, x, transpose_b=True),
    "(x@dlogits^T)^T": lambda dlogits, x: tf.transpose(tf.matmul(x, dlogits, transpose_b=True)),
    "einsum": lambda dlogits, x: tf.einsum("cn,fn->cf", dlogits, x),
    "dlogits@x^T,b_is_sparse": lambda dlogits, x: tf.matmul(dlogits, x, transpose_b=True, b_is_sparse=True),
}
# The sparse kernel skips the zeros of the digits (about 81% of the bundled pixels). XLA
# compiles the same op as a dense product, so those forms run as tf.function only.
MODES = {GRAPH: False, XLA: True}


def operands():
    """Return ``(x, weights, dlogits, source)``: the inputs, random N(0, 1) operands and the inputs' source."""
    x, _, source = input_tensors(N_EXAMPLES)
    weights = tf.random.stateless_normal((N_CLASSES, int(x.shape[0])), seed=(SEED, 0))
    dlogits = tf.random.stateless_normal((N_CLASSES, N_EXAMPLES), seed=(SEED, 1))
    return x, weights, dlogits, source


def label(benchmark, mode, source):
    benchmark.group = f"products-{N_EXAMPLES}"
    benchmark.extra_info.update(machine_facts())
    benchmark.extra_info.update({"mode": mode, "source": source, "n_examples": N_EXAMPLES})


def time_product(benchmark, product):
    def run():
        return product().numpy()

    benchmark.pedantic(run, rounds=ROUNDS, warmup_rounds=WARMUP_ROUNDS)


def forms_and_modes(forms):
    return [
        pytest.param(name, mode, id=f"{name}-{mode}")
        for name in forms
        for mode in MODES
        if not (name.endswith("b_is_sparse") and mode == XLA)
    ]


@pytest.mark.parametrize("form, mode", forms_and_modes(FORWARD_FORMS))
def test_forward(benchmark, form, mode):
    x, weights, _, source = operands()
    product = tf.function(lambda: FORWARD_FORMS[form](weights, x), jit_compile=MODES[mode])
    np.testing.assert_allclose(product().numpy(), (weights @ x).numpy(), rtol=1e-4, atol=1e-3)
    label(benchmark, mode, source)
    time_product(benchmark, product)


@pytest.mark.parametrize("form, mode", forms_and_modes(BACKWARD_FORMS))
def test_backward(benchmark, form, mode):
    x, _, dlogits, source = operands()
    product = tf.function(lambda: BACKWARD_FORMS[form](dlogits, x), jit_compile=MODES[mode])
    expected = tf.matmul(dlogits, x, transpose_b=True).numpy()
    np.testing.assert_allclose(product().numpy(), expected, rtol=1e-4, atol=1e-3)
    label(benchmark, mode, source)
    time_product(benchmark, product)


def test_classic_eager(benchmark):
    """The eager baseline of test_train_step.py, timed again next to the products."""
    x, labels, source = input_tensors(N_EXAMPLES)
    weights, bias = classic.initial_parameters("normal", int(x.shape[0]), seed=SEED)

    def run_step():
        loss, _, _ = classic.classic_step(weights, bias, x, labels, LEARNING_RATE)
        return float(loss)

    label(benchmark, EAGER, source)
    benchmark.pedantic(run_step, rounds=ROUNDS, warmup_rounds=WARMUP_ROUNDS)
