"""Graded tests of the sigmoid exercise."""

import numpy as np
import pytest
import tensorflow as tf

from lab.grading.checks import assert_close

pytestmark = pytest.mark.exercise("sigmoid")


@pytest.mark.points(2)
def test_sigmoid_known_values(impl):
    z = tf.constant([-2.0, 0.0, 10.0, 20.0, 30.0])
    expected = np.array([0.11920292, 0.5, 0.9999546, 1.0, 1.0], dtype=np.float32)
    assert_close(impl.sigmoid(z), expected, what="sigmoid([-2, 0, 10, 20, 30])", rtol=1e-6, atol=0)
