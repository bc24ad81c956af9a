"""Implementations for testing the graded suite: the solutions with one thing changed.

Each Variant replaces whole functions (or methods) of the reference solutions with new
source, and ``write_variant`` writes the result into a folder that ``--impl`` can grade.
The catalog contains common student mistakes, each with the exercise it must cost points
in and a phrase the feedback must contain, and alternative correct implementations.
"""

import ast
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"
MODULES = ("activations.py", "losses.py", "model.py")


@dataclass(frozen=True)
class Edit:
    """Replace ``target`` (``"softmax"`` or ``"Class.method"``) in ``file`` with ``code``.

    An empty ``target`` appends ``code`` to the end of the file instead.
    """

    file: str
    target: str
    code: str


@dataclass(frozen=True)
class Variant:
    """A changed copy of the solutions and what grading it must show.

    ``loses`` maps each exercise that must lose points to a phrase (or a tuple of
    phrases) its feedback must contain. ``keeps`` lists exercises that must keep full
    marks, and ``points_lost``, when set, is the exact number of points the whole run
    must lose. ``experiment`` is True when the run includes the experiment's tests
    (they train on MNIST, about a second).
    """

    name: str
    edits: tuple
    loses: dict = field(default_factory=dict)
    keeps: tuple = ()
    experiment: bool = False
    points_lost: float | None = None


def replace_definition(source, target, code):
    """Return ``source`` with the function or method ``target`` replaced by ``code``."""
    if not target:
        return source + "\n" + textwrap.dedent(code).strip("\n") + "\n"
    tree = ast.parse(source)
    path = target.split(".")
    body = tree.body
    node = None
    for name in path:
        node = next(
            (child for child in body
             if isinstance(child, (ast.FunctionDef, ast.ClassDef)) and child.name == name),
            None,
        )
        if node is None:
            raise ValueError(f"{target} not found in the solution source")
        body = node.body
    lines = source.splitlines(keepends=True)
    first = min([node.lineno] + [decorator.lineno for decorator in node.decorator_list]) - 1
    indent = " " * node.col_offset
    replacement = textwrap.indent(textwrap.dedent(code).strip("\n") + "\n", indent)
    return "".join(lines[:first]) + replacement + "".join(lines[node.end_lineno:])


def write_variant(variant, folder):
    """Write the solutions with ``variant``'s edits into ``folder`` and return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for module in MODULES:
        shutil.copyfile(SOLUTIONS / module, folder / module)
    for edit in variant.edits:
        path = folder / edit.file
        path.write_text(replace_definition(path.read_text(), edit.target, edit.code))
    return folder


def _body(pieces):
    """Join source pieces, each dedented on its own, as a function body indented 4 spaces."""
    joined = "".join(textwrap.dedent(piece).strip("\n") + "\n" for piece in pieces)
    return textwrap.indent(joined, "    ")


def sigmoid(*pieces):
    return Edit("activations.py", "sigmoid", f"def sigmoid(z):\n{_body(pieces)}")


def softmax(*pieces):
    return Edit("activations.py", "softmax", f"def softmax(logits):\n{_body(pieces)}")


def loss(*pieces):
    return Edit("losses.py", "sparse_categorical_crossentropy",
                f"def sparse_categorical_crossentropy(labels, probs, from_logits=False):\n"
                f"{_body(pieces)}")


def method(name, *pieces):
    signature = {"build": "def build(self, n_features):", "predict": "def predict(self, x):"}[name]
    return Edit("model.py", f"MultiClassLogisticRegression.{name}", f"{signature}\n{_body(pieces)}")


SOLUTION_LOSS_TAIL = """
    clipped = tf.clip_by_value(probs, EPSILON, 1.0 - EPSILON)
    n_classes = tf.shape(probs)[0]
    targets = tf.one_hot(labels, depth=n_classes, axis=0, dtype=tf.float32)
"""

SOLUTION_LOSS_HEAD = """
    probs = tf.convert_to_tensor(probs, dtype=tf.float32)
    labels = tf.convert_to_tensor(labels)
    if from_logits:
        probs = softmax(probs)
"""

NORMAL_OR_UNIFORM = """
    shape = (self.n_classes, n_features)
    if self.initializer == "uniform":
        initial = tf.random.uniform(shape, minval=0.0, maxval=1.0, dtype=tf.float32)
    else:
        initial = tf.random.normal(shape, mean=0.0, stddev=1.0, dtype=tf.float32)
"""

ZERO_BIAS = """
    self.weights = tf.Variable(initial, name="weights")
    self.bias = tf.Variable(tf.zeros((self.n_classes, 1), dtype=tf.float32), name="bias")
"""

# Mistakes students make, each with the exercise it costs and the advice it must get.
MISTAKES = (
    Variant("sigmoid_numpy", (sigmoid("""
        import numpy as np
        return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float32)))
    """),), loses={"sigmoid": "not a TensorFlow tensor", "experiment": "gradient is None"},
        keeps=("softmax", "crossentropy", "model"), experiment=True),
    Variant("sigmoid_textbook", (sigmoid("""
        z = tf.convert_to_tensor(z, dtype=tf.float32)
        return 1.0 / (1.0 + tf.exp(-z))
    """),), loses={"sigmoid": ("FAILED test_sigmoid_extreme_inputs_finite (1 point)", "NaN")},
        keeps=("softmax", "crossentropy", "model", "experiment"), experiment=True, points_lost=1),
    Variant("sigmoid_where_unpicked_overflow", (sigmoid("""
        z = tf.convert_to_tensor(z, dtype=tf.float32)
        return tf.where(z >= 0, 1.0 / (1.0 + tf.exp(-z)), tf.exp(z) / (1.0 + tf.exp(z)))
    """),), loses={"sigmoid": "the branch tf.where does not pick"},
        keeps=("softmax", "crossentropy", "model")),
    Variant("sigmoid_tf_builtin", (sigmoid("""
        return tf.math.sigmoid(tf.convert_to_tensor(z, dtype=tf.float32))
    """),), loses={"sigmoid": "calls TensorFlow's own sigmoid"},
        keeps=("softmax", "crossentropy", "model")),
    Variant("sigmoid_keras", (sigmoid("""
        return tf.keras.activations.sigmoid(tf.convert_to_tensor(z, dtype=tf.float32))
    """),), loses={"sigmoid": "calls TensorFlow's own sigmoid"},
        keeps=("softmax", "crossentropy", "model")),
    Variant("sigmoid_tf_abs", (sigmoid("""
        z = tf.convert_to_tensor(z, dtype=tf.float32)
        exp_neg_abs = tf.exp(-tf.abs(z))
        return tf.where(z >= 0, 1.0 / (1.0 + exp_neg_abs), exp_neg_abs / (1.0 + exp_neg_abs))
    """),), loses={"sigmoid": "tf.abs has a gradient of 0"},
        keeps=("softmax", "crossentropy", "model")),
    Variant("softmax_no_max_shift", (softmax("""
        exps = tf.exp(tf.convert_to_tensor(logits, dtype=tf.float32))
        return exps / tf.reduce_sum(exps, axis=0, keepdims=True)
    """),), loses={"softmax": "subtract each column's maximum"},
        keeps=("sigmoid", "crossentropy", "model", "experiment"), experiment=True),
    Variant("softmax_wrong_axis", (softmax("""
        logits = tf.convert_to_tensor(logits, dtype=tf.float32)
        exps = tf.exp(logits - tf.reduce_max(logits, axis=1, keepdims=True))
        return exps / tf.reduce_sum(exps, axis=1, keepdims=True)
    """),), loses={"softmax": "softmax over axis 1"},
        keeps=("sigmoid", "crossentropy", "model")),
    Variant("softmax_global_sum", (softmax("""
        logits = tf.convert_to_tensor(logits, dtype=tf.float32)
        exps = tf.exp(logits - tf.reduce_max(logits, axis=0, keepdims=True))
        return exps / tf.reduce_sum(exps)
    """),), loses={"softmax": "all entries together sum to 1"},
        keeps=("sigmoid", "crossentropy", "model")),
    Variant("softmax_global_max", (softmax("""
        logits = tf.convert_to_tensor(logits, dtype=tf.float32)
        exps = tf.exp(logits - tf.reduce_max(logits))
        return exps / tf.reduce_sum(exps, axis=0, keepdims=True)
    """),), loses={"softmax": "each column's own maximum"},
        keeps=("sigmoid", "crossentropy", "model")),
    Variant("softmax_numpy", (softmax("""
        import numpy as np
        logits = np.asarray(logits, dtype=np.float32)
        exps = np.exp(logits - logits.max(axis=0, keepdims=True))
        return exps / exps.sum(axis=0, keepdims=True)
    """),), loses={"softmax": "not a TensorFlow tensor"},
        keeps=("sigmoid", "crossentropy", "model")),
    Variant("softmax_tf_builtin", (softmax("""
        return tf.nn.softmax(tf.convert_to_tensor(logits, dtype=tf.float32), axis=0)
    """),), loses={"softmax": "calls TensorFlow's own softmax"},
        keeps=("sigmoid", "crossentropy", "model")),
    Variant("loss_without_clipping", (loss(SOLUTION_LOSS_HEAD, """
        n_classes = tf.shape(probs)[0]
        targets = tf.one_hot(labels, depth=n_classes, axis=0, dtype=tf.float32)
        return tf.reduce_mean(-tf.reduce_sum(targets * tf.math.log(probs), axis=0))
    """),), loses={"crossentropy": "clip the probabilities"},
        keeps=("sigmoid", "softmax", "model")),
    Variant("loss_sum_not_mean", (loss(SOLUTION_LOSS_HEAD, SOLUTION_LOSS_TAIL, """
        return tf.reduce_sum(-tf.reduce_sum(targets * tf.math.log(clipped), axis=0))
    """),), loses={"crossentropy": "sum over examples"},
        keeps=("sigmoid", "softmax", "model")),
    Variant("loss_mean_over_classes", (loss(SOLUTION_LOSS_HEAD, SOLUTION_LOSS_TAIL, """
        return -tf.reduce_mean(targets * tf.math.log(clipped))
    """),), loses={"crossentropy": "divided by the number of classes"},
        keeps=("sigmoid", "softmax", "model")),
    Variant("loss_labels_as_float", (loss(SOLUTION_LOSS_HEAD, """
        labels = tf.cast(labels, tf.float32)
        clipped = tf.clip_by_value(probs, EPSILON, 1.0 - EPSILON)
        n_classes = tf.shape(probs)[0]
        targets = tf.one_hot(labels, depth=n_classes, axis=0, dtype=tf.float32)
        return tf.reduce_mean(-tf.reduce_sum(targets * tf.math.log(clipped), axis=0))
    """),), loses={"crossentropy": "tf.one_hot(labels"},
        keeps=("sigmoid", "softmax", "model")),
    Variant("loss_ignores_from_logits", (loss("""
        probs = tf.convert_to_tensor(probs, dtype=tf.float32)
        labels = tf.convert_to_tensor(labels)
    """, SOLUTION_LOSS_TAIL, """
        return tf.reduce_mean(-tf.reduce_sum(targets * tf.math.log(clipped), axis=0))
    """),), loses={"crossentropy": "from_logits=True was ignored"},
        keeps=("sigmoid", "softmax", "model")),
    Variant("loss_keras", (loss("""
        probs = tf.convert_to_tensor(probs, dtype=tf.float32)
        per_example = tf.keras.losses.sparse_categorical_crossentropy(
            labels, tf.transpose(probs), from_logits=from_logits)
        return tf.reduce_mean(per_example)
    """),), loses={"crossentropy": "a TensorFlow or Keras crossentropy"},
        keeps=("sigmoid", "softmax", "model")),
    Variant("model_weights_recreated_every_call", (method("predict", """
        x = tf.convert_to_tensor(x, dtype=tf.float32)
        self.build(int(x.shape[0]))
        logits = tf.matmul(self.weights, x) + self.bias
        return softmax(sigmoid(logits))
    """),), loses={"model": "replaced model.weights", "experiment": "loss to fall every epoch"},
        keeps=("sigmoid", "softmax", "crossentropy"), experiment=True),
    Variant("model_bias_vector", (method("build", NORMAL_OR_UNIFORM, """
        self.weights = tf.Variable(initial, name="weights")
        self.bias = tf.Variable(tf.zeros((self.n_classes,), dtype=tf.float32), name="bias")
    """),), loses={"model": "make the bias a column"},
        keeps=("sigmoid", "softmax", "crossentropy")),
    Variant("model_normal_when_uniform_asked", (method("build", """
        initial = tf.random.normal((self.n_classes, n_features), dtype=tf.float32)
    """, ZERO_BIAS),), loses={"model": "tf.random.uniform"},
        keeps=("sigmoid", "softmax", "crossentropy")),
    Variant("model_uniform_minus_one_to_one", (method("build", """
        shape = (self.n_classes, n_features)
        if self.initializer == "uniform":
            initial = tf.random.uniform(shape, minval=-1.0, maxval=1.0, dtype=tf.float32)
        else:
            initial = tf.random.normal(shape, mean=0.0, stddev=1.0, dtype=tf.float32)
    """, ZERO_BIAS),), loses={"model": "expected every weight in [0, 1)",
                               "experiment": "within 1e-05 of ln(10)"},
        keeps=("sigmoid", "softmax", "crossentropy"), experiment=True),
    Variant("model_without_bias", (method("predict", """
        x = tf.convert_to_tensor(x, dtype=tf.float32)
        return softmax(sigmoid(tf.matmul(self.weights, x)))
    """),), loses={"model": "leaves out the bias"},
        keeps=("sigmoid", "softmax", "crossentropy")),
    Variant("model_tf_activations", (method("predict", """
        x = tf.convert_to_tensor(x, dtype=tf.float32)
        logits = tf.matmul(self.weights, x) + self.bias
        return tf.nn.softmax(tf.math.sigmoid(logits), axis=0)
    """),), loses={"model": "predict calls TensorFlow's own sigmoid or softmax"},
        keeps=("sigmoid", "softmax", "crossentropy")),
    Variant("model_plain_tensors", (method("build", NORMAL_OR_UNIFORM, """
        self.weights = initial
        self.bias = tf.zeros((self.n_classes, 1), dtype=tf.float32)
    """),), loses={"model": "not a tf.Variable"},
        keeps=("sigmoid", "softmax", "crossentropy")),
)

# Correct implementations written differently from the solutions.
ALTERNATIVES = (
    Variant("sigmoid_where_both_branches_safe", (sigmoid("""
        z = tf.convert_to_tensor(z, dtype=tf.float32)
        positive = z >= 0
        # exp only ever gets arguments that cannot overflow it, in either branch.
        z_positive = tf.where(positive, z, tf.zeros_like(z))
        z_negative = tf.where(positive, tf.zeros_like(z), z)
        return tf.where(positive, 1.0 / (1.0 + tf.exp(-z_positive)),
                        tf.exp(z_negative) / (1.0 + tf.exp(z_negative)))
    """),), experiment=True),
    Variant("softmax_reduce_logsumexp", (softmax("""
        logits = tf.convert_to_tensor(logits, dtype=tf.float32)
        return tf.exp(logits - tf.reduce_logsumexp(logits, axis=0, keepdims=True))
    """),), experiment=True),
    Variant("loss_tf_gather", (loss(SOLUTION_LOSS_HEAD, """
        clipped = tf.clip_by_value(probs, EPSILON, 1.0 - EPSILON)
        # Row j of the transpose is example j, and batch_dims=1 picks one entry per row.
        picked = tf.gather(tf.transpose(clipped), labels, batch_dims=1)
        return tf.reduce_mean(-tf.math.log(picked))
    """),), experiment=True),
)

SYNTAX_ERROR = Variant("losses_syntax_error", (loss("""
    probs = tf.convert_to_tensor(probs dtype=tf.float32)
    return probs
"""),), loses={"crossentropy": "syntax error at"},
    keeps=("sigmoid", "softmax", "model"))

ACTIVATIONS_SYNTAX_ERROR = Variant("activations_syntax_error", (softmax("""
    return tf.exp(logits)) / 2
"""),), loses={"sigmoid": "syntax error at", "softmax": "syntax error at",
               "experiment": "syntax error at"},
    keeps=("crossentropy", "model"), experiment=True)

IMPORT_ERROR = Variant("model_import_error", (Edit("model.py", "", """
    import tensorflow_extras_that_do_not_exist
"""),), loses={"model": "ModuleNotFoundError"}, keeps=("sigmoid", "softmax", "crossentropy"))

# Loops forever only on logits above 500, which one softmax test uses.
ENDLESS_LOOP = Variant("softmax_endless_loop_on_large_logits", (softmax("""
    logits = tf.convert_to_tensor(logits, dtype=tf.float32)
    while float(tf.reduce_max(logits)) > 500.0:
        pass
    exps = tf.exp(logits - tf.reduce_max(logits, axis=0, keepdims=True))
    return exps / tf.reduce_sum(exps, axis=0, keepdims=True)
"""),), loses={"softmax": "timed out"}, keeps=("sigmoid", "crossentropy", "model"))

STUB_SOFTMAX = Variant("softmax_not_started", (softmax("""
    raise NotImplementedError("softmax is not written yet")
"""),), loses={"softmax": "not started", "experiment": "not started"},
    keeps=("sigmoid", "crossentropy", "model"), experiment=True)
