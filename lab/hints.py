"""One hint per exercise, shown first when one of its graded tests fails.

``python -m lab hint EXERCISE`` prints the same text. A hint names the TensorFlow op or
idea to use and links its documentation, but leaves the code to the student.
"""

import textwrap
from dataclasses import dataclass

API_DOCS = "https://www.tensorflow.org/api_docs/python/"


@dataclass(frozen=True)
class Hint:
    """The advice for one exercise.

    ``file`` is the exercise file relative to the implementation folder, ``links`` are
    documentation URLs, and ``bonus`` marks an exercise scored apart from the total.
    """

    exercise: str
    file: str
    text: str
    links: tuple = ()
    bonus: bool = False

    def render(self, width=88):
        """Return the hint as text wrapped to ``width`` columns, one link per line."""
        lines = textwrap.wrap(
            f"hint for {self.exercise} ({self.file}): {self.text}",
            width=width,
            subsequent_indent="  ",
        )
        lines.extend(f"  docs: {link}" for link in self.links)
        return "\n".join(lines)


HINTS = {
    "sigmoid": Hint(
        "sigmoid",
        "activations.py",
        "Build 1 / (1 + exp(-z)) from tf.exp so that tf.GradientTape can differentiate "
        "it, and write it yourself: tf.math.sigmoid rounds the gradient at z = 50 to 0, "
        "and the lab measures gradients that small. In float32, exp(-z) overflows to inf "
        "once z is below about -88. Choose between 1 / (1 + e) and e / (1 + e) with "
        "tf.where, where e = exp(-|z|) cannot overflow. Both branches of tf.where are "
        "computed and differentiated, so an inf in the branch it does not pick still "
        "turns the gradient into NaN. Build -|z| with tf.where too: tf.abs has a gradient "
        "of 0 at z = 0.",
        (
            f"{API_DOCS}tf/math/exp",
            f"{API_DOCS}tf/where",
            "https://www.tensorflow.org/guide/autodiff",
        ),
    ),
    "softmax": Hint(
        "softmax",
        "activations.py",
        "Classes are on axis 0, so each column is one example: exponentiate, then divide "
        "each column by its own sum, reduced with axis=0 and keepdims=True so that the "
        "(1, n_examples) row of sums broadcasts. Subtract each column's maximum "
        "(tf.reduce_max, same axis and keepdims) before tf.exp: the result does not "
        "change, and exp of a logit above about 88 would overflow to inf in float32. "
        "tf.math.reduce_logsumexp is another stable route. Write it yourself rather than "
        "calling tf.nn.softmax.",
        (
            f"{API_DOCS}tf/math/reduce_max",
            f"{API_DOCS}tf/math/reduce_sum",
            f"{API_DOCS}tf/math/reduce_logsumexp",
        ),
    ),
    "crossentropy": Hint(
        "crossentropy",
        "losses.py",
        "The loss of one example is -ln of the probability its true class got. Clip the "
        "probabilities to [1e-7, 1 - 1e-7] with tf.clip_by_value before tf.math.log, so "
        "that a probability of 0 costs -ln(1e-7), about 16.118, instead of inf. Pick each "
        "column's true-class entry with tf.one_hot(labels, n_classes, axis=0) or with "
        "tf.gather, keeping labels as integers. Average over the examples with "
        "tf.reduce_mean: not a sum, and not over the classes. With from_logits=True, "
        "apply your softmax first. Write it yourself rather than calling a TensorFlow or "
        "Keras crossentropy.",
        (
            f"{API_DOCS}tf/clip_by_value",
            f"{API_DOCS}tf/one_hot",
            f"{API_DOCS}tf/gather",
            f"{API_DOCS}tf/math/reduce_mean",
        ),
    ),
    "model": Hint(
        "model",
        "model.py",
        "build creates two tf.Variable objects: weights of shape (n_classes, n_features), "
        "drawn with tf.random.uniform (minval 0, maxval 1) or tf.random.normal (mean 0, "
        "stddev 1) as self.initializer says, and a bias of zeros of shape (n_classes, 1), "
        "a column that broadcasts over the examples. __call__ runs build once, on the "
        "first call. predict uses those variables, never new ones, and returns "
        "softmax(sigmoid(tf.matmul(weights, x) + bias)) with the sigmoid and softmax "
        "imported from activations.py.",
        (
            f"{API_DOCS}tf/Variable",
            f"{API_DOCS}tf/random/uniform",
            f"{API_DOCS}tf/random/normal",
            f"{API_DOCS}tf/linalg/matmul",
        ),
    ),
    "experiment": Hint(
        "experiment",
        "activations.py, losses.py, model.py",
        "These tests train your model with the lab's full-batch gradient descent on the "
        "bundled MNIST digits, using your sigmoid, softmax, loss and model together. Make "
        "the other exercises pass first. A failure only here usually means a NaN (exp "
        "overflowing, the log of 0), a gradient the tape cannot see (NumPy, .numpy(), new "
        "variables on every call) or weights drawn from the wrong distribution. "
        "`python -m lab run --impl exercises` prints the loss and gradients per epoch.",
        ("https://www.tensorflow.org/guide/autodiff",),
    ),
    "relu": Hint(
        "relu",
        "deep.py",
        "relu keeps each positive value and replaces each negative one with 0: compare z "
        "with 0 elementwise using tf.maximum, or pick between z and zeros with tf.where and "
        "the mask z > 0. Both are TensorFlow ops, so the tape gives a gradient of 1 where "
        "z > 0 and 0 where z < 0. Write it yourself rather than calling tf.nn.relu, and "
        "avoid np.maximum: NumPy returns an array the tape cannot differentiate.",
        (
            f"{API_DOCS}tf/math/maximum",
            f"{API_DOCS}tf/where",
        ),
        bonus=True,
    ),
    "deep": Hint(
        "deep",
        "deep.py",
        "build walks through self.layer_sizes with n_in starting at n_features: each layer "
        "appends a tf.Variable of shape (n_out, n_in) to self.weights and a tf.Variable of "
        "zeros of shape (n_out, 1) to self.biases, and the next layer's n_in is this "
        "layer's n_out. fan_in is n_in and fan_out is n_out. glorot_uniform draws with "
        "tf.random.uniform between -limit and limit, limit = sqrt(6 / (fan_in + fan_out)); "
        "he_normal draws with tf.random.normal and stddev sqrt(2 / fan_in). Keras' "
        "GlorotUniform and HeNormal read a 2-D shape as (fan_in, fan_out), the transpose "
        "of this lab's layout. predict applies self.activation_fn after every layer but "
        "the last, whose logits go straight into softmax. `python -m lab depth --impl "
        "exercises` prints the gradient norm of every layer.",
        (
            f"{API_DOCS}tf/random/uniform",
            f"{API_DOCS}tf/random/normal",
            f"{API_DOCS}tf/keras/initializers/GlorotUniform",
            f"{API_DOCS}tf/keras/initializers/HeNormal",
        ),
        bonus=True,
    ),
}

# Exercises in the order the score table lists them.
EXERCISES = tuple(HINTS)


def get_hint(exercise):
    """Return the Hint for ``exercise``, or raise KeyError naming the known exercises."""
    try:
        return HINTS[exercise]
    except KeyError:
        raise KeyError(
            f"unknown exercise {exercise!r}; choose one of {', '.join(EXERCISES)}"
        ) from None
