"""Reference versions of the exercise functions, for the graded tests only.

The NumPy functions compute expected values in float64, independently of TensorFlow.
The TensorFlow functions stand in for a student's sigmoid and softmax while the
crossentropy and model exercises are graded (see ``lab.grading.substitute``), so a
mistake in one exercise costs points in that exercise alone.
"""

import numpy as np
import tensorflow as tf

EPSILON = 1e-7


def np_sigmoid(z):
    """Return the logistic function of ``z`` in float64, without overflow."""
    z = np.asarray(z, dtype=np.float64)
    exp_neg_abs = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + exp_neg_abs), exp_neg_abs / (1.0 + exp_neg_abs))


def np_softmax(logits, axis=0):
    """Return the softmax of ``logits`` over ``axis`` in float64."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=axis, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=axis, keepdims=True)


def np_crossentropy(labels, probs, epsilon=EPSILON):
    """Return the mean over examples of -ln(clipped probs[label, example]) in float64."""
    probs = np.clip(np.asarray(probs, dtype=np.float64), epsilon, 1.0 - epsilon)
    labels = np.asarray(labels, dtype=np.int64)
    picked = probs[labels, np.arange(labels.size)]  # (n_examples,)
    return float(np.mean(-np.log(picked)))


def tf_sigmoid(z):
    """Compute the sigmoid in float32, with a value and a gradient finite for every input."""
    z = tf.convert_to_tensor(z, dtype=tf.float32)
    exp_neg_abs = tf.exp(tf.where(z >= 0, -z, z))
    return tf.where(z >= 0, 1.0 / (1.0 + exp_neg_abs), exp_neg_abs / (1.0 + exp_neg_abs))


def tf_softmax(logits):
    """Compute the softmax over axis 0 (classes) in float32, shifted by each column's maximum."""
    logits = tf.convert_to_tensor(logits, dtype=tf.float32)
    shifted = logits - tf.stop_gradient(tf.reduce_max(logits, axis=0, keepdims=True))
    exps = tf.exp(shifted)
    return exps / tf.reduce_sum(exps, axis=0, keepdims=True)
