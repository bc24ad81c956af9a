"""Graded tests of the crossentropy exercise (``sparse_categorical_crossentropy`` in losses.py).

While these tests run, the lab's reference softmax replaces the one in
activations.py, so only the loss itself is graded here. Expected values come from a
float64 NumPy crossentropy that clips probabilities to [1e-7, 1 - 1e-7].
"""

import math

import numpy as np
import pytest
import tensorflow as tf

from lab.grading import from_scratch
from lab.grading.checks import Mistake, assert_close, assert_dtype, assert_finite
from lab.grading.checks import assert_shape, check, gradient
from lab.grading.reference import EPSILON, np_crossentropy, np_softmax
from lab.grading.substitute import reference_activations

pytestmark = pytest.mark.exercise("crossentropy")

SUM_ADVICE = ("this is the sum over examples: average with tf.reduce_mean, so the loss (and the "
              "step size) does not grow with the number of examples")
CLASS_MEAN_ADVICE = ("this is also divided by the number of classes: sum (or pick) over the "
                     "classes, then average over the examples only")
CLIP_ADVICE = ("clip the probabilities to [1e-7, 1 - 1e-7] with tf.clip_by_value before "
               "tf.math.log: ln(0) is -inf")

# Three examples, one per column; each column is a probability distribution.
PROBS = np.array([
    [0.7, 0.1, 0.25],
    [0.2, 0.1, 0.5],
    [0.1, 0.8, 0.25],
], dtype=np.float32)
LABELS = np.array([0, 2, 1], dtype=np.int32)


@pytest.fixture
def loss(impl):
    """The implementation's loss, run with the lab's reference softmax."""
    with reference_activations(impl, "losses"):
        yield impl.loss


def loss_mistakes(labels, probs):
    """Return the Mistakes that common wrong losses produce on ``labels`` and ``probs``."""
    expected = np_crossentropy(labels, probs)
    n_classes, n_examples = probs.shape
    mistakes = [
        Mistake(n_examples * expected, SUM_ADVICE),
        Mistake(expected / n_classes, CLASS_MEAN_ADVICE),
        Mistake(-expected, "the sign is flipped: the loss is -ln(p), a positive number"),
        Mistake(expected / math.log(10.0), "this uses log10: use the natural log, tf.math.log"),
        Mistake(np_crossentropy(labels, np_softmax(probs)),
                "softmax was applied although from_logits is False: probs are already "
                "probabilities"),
    ]
    if n_classes == n_examples:
        mistakes.append(Mistake(
            np_crossentropy(labels, probs.T),
            "this picks probs[example, label]: classes are rows (axis 0) and examples are "
            "columns, so the true-class entry of example j is probs[labels[j], j]",
        ))
    return mistakes


@pytest.mark.points(2)
def test_crossentropy_known_values(loss):
    expected = np_crossentropy(LABELS, PROBS)  # mean of -ln 0.7, -ln 0.8, -ln 0.5
    assert_close(loss(tf.constant(LABELS), tf.constant(PROBS)), expected,
                 what="crossentropy of labels [0, 2, 1] and 3 example columns",
                 rtol=1e-5, atol=1e-6, mistakes=loss_mistakes(LABELS, PROBS))


@pytest.mark.points(2)
def test_crossentropy_zero_probability_clipped(loss):
    probs = np.array([[0.0, 0.5], [1.0, 0.5]], dtype=np.float32)
    labels = np.array([0, 1], dtype=np.int32)
    expected = (-math.log(EPSILON) - math.log(0.5)) / 2.0  # (16.118 + 0.693) / 2
    got = loss(tf.constant(labels), tf.constant(probs))
    what = "crossentropy when the true class of example 0 has probability 0"
    assert_finite(got, what=what, advice=CLIP_ADVICE)
    assert_close(got, expected, what=what, rtol=1e-4, atol=0,
                 mistakes=loss_mistakes(labels, probs),
                 advice="a probability of 0 must cost -ln(1e-7), about 16.118: clip to "
                 "[1e-7, 1 - 1e-7], with exactly that epsilon")


@pytest.mark.points(2)
def test_crossentropy_mean_not_sum(loss):
    rng = np.random.default_rng(11)
    probs = np_softmax(rng.standard_normal((5, 8))).astype(np.float32)
    labels = rng.integers(0, 5, size=8).astype(np.int32)
    once = loss(tf.constant(labels), tf.constant(probs))
    twice = loss(tf.constant(np.tile(labels, 2)), tf.constant(np.tile(probs, (1, 2))))
    assert_close(twice, once, what="crossentropy of the same 8 examples given twice (16 columns)",
                 rtol=1e-5, atol=1e-6,
                 mistakes=[Mistake(2.0 * np.asarray(once, dtype=np.float64), SUM_ADVICE)])
    assert_close(once, np_crossentropy(labels, probs), what="crossentropy of 8 examples",
                 rtol=1e-5, atol=1e-6, mistakes=loss_mistakes(labels, probs))


@pytest.mark.points(2)
def test_crossentropy_from_logits(loss):
    rng = np.random.default_rng(12)
    logits = (4.0 * rng.standard_normal((4, 6))).astype(np.float32)
    labels = rng.integers(0, 4, size=6).astype(np.int32)
    expected = np_crossentropy(labels, np_softmax(logits))
    got = loss(tf.constant(labels), tf.constant(logits), from_logits=True)
    assert_close(got, expected, what="crossentropy with from_logits=True of (4, 6) logits",
                 rtol=1e-5, atol=1e-6,
                 mistakes=[Mistake(np_crossentropy(labels, logits),
                                   "from_logits=True was ignored: apply softmax to the logits "
                                   "first, then compute the loss of those probabilities"),
                           *loss_mistakes(labels, np_softmax(logits))])


@pytest.mark.points(1)
def test_crossentropy_labels_as_int_vector(loss):
    expected = np_crossentropy(LABELS, PROBS)
    kinds = {
        "an int32 tensor": tf.constant(LABELS, dtype=tf.int32),
        "an int64 tensor": tf.constant(LABELS, dtype=tf.int64),
        "an int64 NumPy array": LABELS.astype(np.int64),
        "a Python list": [int(label) for label in LABELS],
    }
    for kind, labels in kinds.items():
        assert_close(loss(labels, tf.constant(PROBS)), expected,
                     what=f"crossentropy with labels given as {kind}", rtol=1e-5, atol=1e-6,
                     mistakes=loss_mistakes(LABELS, PROBS), advice="labels are integer class indices of shape (n_examples,): use them "
                     "with tf.one_hot or tf.gather as integers, never cast them to float")


@pytest.mark.points(1)
def test_crossentropy_returns_float32_scalar(loss):
    got = loss(tf.constant(LABELS), tf.constant(PROBS))
    assert_shape(got, (), what="crossentropy of 3 examples",
                 advice="return one number: the mean over examples (tf.reduce_mean)")
    assert_dtype(got, tf.float32, what="crossentropy of float32 probabilities")


@pytest.mark.points(1)
def test_crossentropy_gradient(loss):
    labels = tf.constant(LABELS)
    _, grads = gradient(lambda probs: loss(labels, probs), PROBS,
                        what="d crossentropy / d probs")
    expected = np.zeros_like(PROBS, dtype=np.float64)
    n_examples = len(LABELS)
    for example, label in enumerate(LABELS):
        expected[label, example] = -1.0 / (n_examples * float(PROBS[label, example]))
    assert_close(grads, expected, what="d crossentropy / d probs (only true-class entries count)",
                 rtol=1e-4, atol=1e-6,
                 mistakes=[Mistake(n_examples * expected, SUM_ADVICE),
                           Mistake(expected / PROBS.shape[0], CLASS_MEAN_ADVICE)])


@pytest.mark.points(1)
def test_crossentropy_written_from_scratch(loss, impl):
    labels = tf.constant(LABELS)
    probs = tf.constant(PROBS)
    for from_logits in (False, True):
        call = from_scratch.find_library_call(
            "crossentropy", lambda: loss(labels, probs, from_logits=from_logits), (), impl.path
        )
        check(call is None, call and from_scratch.describe(
            "crossentropy", call, f"sparse_categorical_crossentropy(from_logits={from_logits})"
        ))
