"""``python -m lab depth``: measure how the gradient shrinks across the layers of a deep network."""

import argparse
import math
import textwrap
from pathlib import Path

from ..cli import UsageError
from .arguments import non_negative_int, positive_int
from .run import check_output_path, write_json

LN_10 = math.log(10.0)
# The smallest positive float32 (a subnormal): anything smaller rounds to exactly 0.
FLOAT32_TINY = 1.4e-45
FIGURE_NAME = "depth.png"
TEXT_WIDTH = 88


def depth_value(text):
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(
            f"expected at least 2 layers (one hidden layer and the output layer), got {text!r}"
        )
    return value


def samples_value(text):
    """Parse --samples: at least one digit of each class, so that every class is in the data."""
    from ..depth import N_CLASSES

    value = positive_int(text)
    if value < N_CLASSES:
        raise argparse.ArgumentTypeError(
            f"expected at least {N_CLASSES} digits, one of each class, got {text!r}"
        )
    return value


def add_parser(subparsers):
    from ..depth import (ACTIVATIONS, DEFAULT_DEPTH, DEFAULT_EPOCHS, DEFAULT_SAMPLES, DEFAULT_SEED,
                         DEFAULT_WIDTH, INITIALIZERS, LEARNING_RATE, N_CLASSES)

    parser = subparsers.add_parser(
        "depth",
        help="measure the gradient of every layer of a deep network and train it briefly",
        description="Build DeepNetwork from deep.py for each pair of activation and "
        "initializer, measure the norm of dL/dW for every layer in one full-batch gradient "
        "on balanced bundled digits, then train each network a few epochs. Without "
        "--activation and --init the pairs are sigmoid+uniform, sigmoid+glorot_uniform, "
        "tanh+glorot_uniform and relu+he_normal. With either option, every pair of the "
        "listed activations and initializers is measured, and an option left out stands "
        "for all of its choices.",
    )
    parser.add_argument("--impl", default="solutions", metavar="solutions|exercises|PATH",
                        help="implementation to run: the reference solutions, your exercises, "
                        "or a folder holding deep.py next to activations.py, losses.py and "
                        "model.py (default: solutions)")
    parser.add_argument("--depth", type=depth_value, default=DEFAULT_DEPTH, metavar="N",
                        help=f"number of layers with weights, the output layer included "
                        f"(default: {DEFAULT_DEPTH})")
    parser.add_argument("--width", type=positive_int, default=DEFAULT_WIDTH, metavar="N",
                        help=f"units per hidden layer (default: {DEFAULT_WIDTH})")
    parser.add_argument("--activation", choices=ACTIVATIONS, nargs="+", action="extend",
                        metavar="NAME", help=f"hidden-layer activations to measure, any of "
                        f"{', '.join(ACTIVATIONS)}")
    parser.add_argument("--init", choices=INITIALIZERS, nargs="+", action="extend", metavar="NAME",
                        help=f"weight initializers to measure, any of {', '.join(INITIALIZERS)}")
    parser.add_argument("--epochs", type=non_negative_int, default=DEFAULT_EPOCHS, metavar="N",
                        help=f"full-batch gradient-descent steps per configuration, learning "
                        f"rate {LEARNING_RATE}; 0 measures the gradients only (default: "
                        f"{DEFAULT_EPOCHS})")
    parser.add_argument("--samples", type=samples_value, default=DEFAULT_SAMPLES, metavar="N",
                        help=f"number of bundled digits, taken in turn from each class, "
                        f"from {N_CLASSES} to 5,000 (default: {DEFAULT_SAMPLES:,})")
    parser.add_argument("--seed", type=non_negative_int, default=DEFAULT_SEED, metavar="N",
                        help=f"TensorFlow seed for the initial weights (default: {DEFAULT_SEED})")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="also write the measurements as JSON to PATH")
    parser.add_argument("--plots", type=Path, metavar="DIR",
                        help=f"also save the figure of gradient norm against layer as "
                        f"DIR/{FIGURE_NAME}, creating DIR if needed")
    return parser


def configurations(activations, initializers):
    """Return the Configurations the options ask for (see the command's description)."""
    from ..depth import ACTIVATIONS, DEFAULT_CONFIGURATIONS, INITIALIZERS, Configuration

    if not activations and not initializers:
        return list(DEFAULT_CONFIGURATIONS)
    activations = _unique(activations or ACTIVATIONS)
    initializers = _unique(initializers or INITIALIZERS)
    return [Configuration(activation, init) for activation in activations for init in initializers]


def _unique(names):
    return list(dict.fromkeys(names))


def check_plots_dir(path):
    if path is not None and path.exists() and not path.is_dir():
        raise UsageError(f"--plots {path} is a file; give a folder, the figure is saved as {FIGURE_NAME} inside it")


def load_deep_impl(spec):
    """Load the implementation and check that everything the command calls is written."""
    from ..implementation import ImplementationError, find_unwritten, load_implementation

    try:
        implementation = load_implementation(spec)
        for module in ("activations", "losses", "deep"):
            implementation.module(module)
        needed = ("sigmoid", "softmax", "sparse_categorical_crossentropy")
        unwritten = [name for name in find_unwritten(implementation) if name in needed]
        unwritten += find_unwritten_deep(implementation)
    except ImplementationError as error:
        raise UsageError(str(error)) from None
    if unwritten:
        verb = "is" if len(unwritten) == 1 else "are"
        check = f"check them with pytest {spec}/" if spec in ("exercises", "solutions") else "run the graded tests"
        raise UsageError(
            f"{', '.join(unwritten)} in {implementation.path} {verb} not written yet "
            f"(NotImplementedError); fill them in and {check}"
        )
    return implementation


def find_unwritten_deep(implementation):
    """Return the parts of ``deep.py`` that still raise NotImplementedError."""
    import tensorflow as tf

    from ..implementation import ImplementationError, unwritten_among

    deep = implementation.module("deep")
    for name in ("relu", "DeepNetwork"):
        if not hasattr(deep, name):
            raise ImplementationError(
                f"{implementation.path / 'deep.py'} does not define {name}; keep the names "
                f"and signatures of the stub", module="deep"
            )
    probes = {"relu": lambda: deep.relu(tf.constant([1.0, -1.0]))}
    try:
        network = deep.DeepNetwork([3, 2], activation="tanh", initializer="normal")
    except Exception:  # a changed __init__: the measurement reports the error
        network = None
    if network is not None:
        probes["DeepNetwork.build"] = lambda: network.build(2)
        probes["DeepNetwork.predict"] = lambda: network.predict(tf.ones((2, 2)))
    return unwritten_among(probes)


def load_data(samples):
    from ..data import DataError, load_dataset
    from ..depth import balanced_subset

    try:
        dataset = load_dataset("bundled")
        return balanced_subset(dataset.x, dataset.labels, samples)
    except (DataError, ValueError) as error:
        raise UsageError(f"--samples {samples}: {error}") from None


def run(args):
    from ..depth import LEARNING_RATE, DepthError, measure_configuration
    from ..implementation import describe_failure

    check_output_path(args.json)
    check_plots_dir(args.plots)
    implementation = load_deep_impl(args.impl)
    x, labels = load_data(args.samples)
    wanted = configurations(args.activation, args.init)

    print(f"Implementation: {implementation.name} ({implementation.path})")
    print(f"Data: {labels.size:,} bundled digits, {describe_classes(labels)}; x {tuple(x.shape)}")
    print(f"Network: {args.depth} layers ({args.depth - 1} hidden of {args.width} units, then 10 "
          f"classes), seed {args.seed}")

    results = []
    for configuration in wanted:
        try:
            results.append(measure_configuration(
                implementation, configuration, x, labels, depth=args.depth, width=args.width,
                epochs=args.epochs, seed=args.seed,
            ))
        except DepthError as error:
            raise UsageError(f"{configuration.label}: {error}") from None
        except Exception as error:
            if implementation.name == "solutions":
                raise
            raise UsageError(describe_failure(error, implementation)) from None

    print(format_norms(results))
    if args.epochs:
        print(format_losses(results, args.epochs, LEARNING_RATE))
    print(heading("What the numbers show"))
    print(explain(results, args.width, args.epochs))

    if args.plots is not None:
        save_figure(results, args)
    if args.json is not None:
        write_json(args.json, payload(implementation, args, labels.size, results))
        print(f"\nResults written to {args.json}")
    return 0


def describe_classes(labels):
    """Return ``"100 of each class"``, or the range of counts when they differ."""
    import numpy as np

    counts = np.bincount(labels, minlength=10)
    if counts.min() == counts.max():
        return f"{counts[0]:,} of each class"
    return f"{counts.min():,} to {counts.max():,} per class"


def save_figure(results, args):
    from ..depth import plot_gradient_norms

    path = args.plots / FIGURE_NAME
    title = (f"Gradient norm per layer, depth {args.depth}, width {args.width}, "
             f"{args.samples:,} digits, seed {args.seed}")
    try:
        args.plots.mkdir(parents=True, exist_ok=True)
        plot_gradient_norms(results, path, title)
    except OSError as error:
        raise UsageError(f"could not save the figure to {path}: {error.strerror}") from None
    print(f"\nFigure saved to {path}")


def payload(implementation, args, n_examples, results):
    from ..depth import LEARNING_RATE, N_CLASSES

    # Balanced means the same number of digits of every class.
    balanced = int(n_examples) % N_CLASSES == 0
    return {
        "implementation": implementation.name,
        "dataset": {"source": "bundled", "n_examples": int(n_examples), "balanced": balanced},
        "depth": args.depth,
        "width": args.width,
        "seed": args.seed,
        "epochs": args.epochs,
        "learning_rate": LEARNING_RATE,
        "configurations": [result.as_dict() for result in results],
    }


def heading(title):
    return f"\n{title}\n{'-' * len(title)}"


def _number(value):
    """Format a norm or ratio: 0 and non-finite values plainly, others in 3 significant digits."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return "n/a" if math.isnan(value) else str(value)
    return f"{value:.2e}" if value < 1e-2 or value >= 1e3 else f"{value:.3g}"


def format_norms(results):
    """Return the table of per-layer gradient norms, one column per configuration."""
    labels = [result.configuration.label for result in results]
    widths = [max(len(label), 10) for label in labels]
    lines = [
        heading("Gradient norm ||dL/dW|| per layer, one full-batch gradient at initialization"),
        "layer       " + "  ".join(f"{label:>{w}}" for label, w in zip(labels, widths)),
    ]
    for index in range(len(results[0].grad_norms)):
        cells = [_number(result.grad_norms[index]) for result in results]
        lines.append(f"{index + 1:>5}       " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths)))
    ratios = [_number(result.ratio) for result in results]
    lines.append("first/last  " + "  ".join(f"{c:>{w}}" for c, w in zip(ratios, widths)))
    return "\n".join(lines)


def format_losses(results, epochs, learning_rate):
    """Return the table of losses before training and after ``epochs`` epochs."""
    width = max(len("configuration"), *(len(result.configuration.label) for result in results))
    lines = [
        heading(f"Loss during {epochs} epochs of full-batch gradient descent (learning rate {learning_rate})"),
        f"{'configuration':<{width}}  {'epoch 1':>9}  {'after ' + str(epochs):>11}",
    ]
    for result in results:
        if result.diverged_at:
            after = f"not finite from epoch {result.diverged_at}"
        else:
            after = f"{result.final_loss:>11.4f}"
        lines.append(f"{result.configuration.label:<{width}}  {result.losses[0]:>9.4f}  {after}")
    return "\n".join(lines)


def per_layer_factor(norms):
    """Return the geometric-mean change of the norm from one hidden layer to the next.

    Layer 1 is left out: its inputs are the 784 pixels rather than hidden units, and
    their larger norm makes its gradient larger on its own. Returns NaN when the
    network has fewer than 3 layers or a norm is 0.
    """
    if len(norms) < 3 or norms[1] <= 0 or norms[-1] <= 0:
        return float("nan")
    return (norms[-1] / norms[1]) ** (1.0 / (len(norms) - 2))


def explain(results, width, epochs):
    """Return a short explanation of the measured norms and losses, with their numbers."""
    paragraphs = [
        "Backpropagation reaches layer l through every layer above it, and each of them "
        "multiplies the gradient by its weights W^T and by the activation's derivative f'(z). "
        "Over many layers those factors compound: a factor below 1 at every layer shrinks the "
        "gradient geometrically, a factor above 1 grows it. The first/last ratio measures the "
        "whole product. Layer 1 reads the 784 pixels, whose norm is larger than that of the "
        "hidden units every other layer reads, so its gradient is larger on its own; the "
        "per-layer factors below leave it out."
    ]
    for result in results:
        paragraphs.append(explain_configuration(result, width))
    if epochs:
        paragraphs.append(explain_losses(results, epochs))
    return "\n\n".join(textwrap.fill(paragraph, width=TEXT_WIDTH) for paragraph in paragraphs)


def explain_configuration(result, width):
    """Return one paragraph on one configuration's gradient norms."""
    norms = result.grad_norms
    if not all(math.isfinite(norm) for norm in norms):
        return (
            f"{result.configuration.label}: some gradients are not finite (inf or NaN), so "
            f"the weights overflow float32 before depth can be judged."
        )
    if norms[-1] == 0:
        return (
            f"{result.configuration.label}: every layer's gradient is exactly 0, the last "
            f"layer's included, and depth is not the cause. The logits are so large that the "
            f"softmax returns probabilities of exactly 0 and 1, the loss clips them to "
            f"[1e-7, 1 - 1e-7], and a clipped probability has no gradient."
        )
    if result.zero_layers:
        return _explain_zero_layers(result, width)
    return f"{_explain_ratio(result)} {_why(result.configuration)}".rstrip()


def _explain_zero_layers(result, width):
    from ..depth import format_layer_range

    configuration = result.configuration
    text = (
        f"{configuration.label}: the gradient is exactly 0 in "
        f"{format_layer_range(result.zero_layers)}, so those layers cannot change at all. "
        f"On the way down it was multiplied by derivatives so small that the product fell "
        f"below the smallest float32 number (about {FLOAT32_TINY:g}), or by a derivative "
        f"that is itself 0 in float32."
    )
    if configuration.initializer == "uniform":
        text += (
            f" With every weight in [0, 1), each hidden unit after the first sums {width} "
            f"positive terms to about {width / 2:g}."
        )
        if configuration.activation == "sigmoid":
            text += (
                f" The sigmoid's derivative there is about exp(-{width / 2:g}) = "
                f"{math.exp(-width / 2):.0e}, and a few such factors in a row are enough."
            )
        elif configuration.activation == "tanh":
            text += (
                " tanh(z) rounds to exactly 1.0 in float32 for z above about 9, and its "
                "derivative 1 - tanh(z)^2 is then exactly 0."
            )
    return text


def _explain_ratio(result):
    label = result.configuration.label
    ratio = _number(result.ratio)
    if result.ratio < 1e-3:
        text = (
            f"{label}: the first layer's gradient is {ratio} times the last layer's, so the "
            f"layers near the input barely move while the top ones learn."
        )
    elif result.ratio < 0.1:
        text = f"{label}: the ratio is {ratio}, so the gradient shrinks toward the input."
    elif result.ratio <= 10:
        text = (
            f"{label}: the ratio is {ratio}, so every layer gets a gradient of the same order "
            f"of magnitude."
        )
    else:
        text = (
            f"{label}: the ratio is {ratio}, so the gradient grows toward the input, the "
            f"exploding counterpart of the vanishing gradient."
        )
    factor = per_layer_factor(result.grad_norms)
    if math.isfinite(factor):
        text += (
            f" From the last layer down to layer 2 the norm is multiplied by {1 / factor:.2f} "
            f"per layer on average."
        )
    return text


def _why(configuration):
    """Return the reason behind a configuration's per-layer factor, or '' for other pairs."""
    activation, initializer = configuration.activation, configuration.initializer
    if activation == "sigmoid" and initializer != "uniform":
        return (
            "The sigmoid's derivative s(1 - s) is at most 0.25, reached at z = 0, so every "
            "sigmoid layer divides the gradient by 4 or more unless large weights make up "
            "for it."
        )
    if activation == "tanh" and initializer == "glorot_uniform":
        return (
            "tanh's derivative is 1 at z = 0, and Glorot's variance 2 / (fan_in + fan_out) "
            "keeps each layer's inputs near 0, where tanh is almost linear, with a spread "
            "that shrinks only slowly from layer to layer."
        )
    if activation == "relu" and initializer == "he_normal":
        return (
            "relu's derivative is exactly 1 wherever a unit is active, and He's variance "
            "2 / fan_in doubles Glorot's forward term to make up for the half of the units "
            "that relu switches off."
        )
    return ""


def explain_losses(results, epochs):
    """Return one paragraph on which configurations learned in ``epochs`` epochs."""
    learned, vanished, frozen, stalled, diverged = [], [], [], [], []
    for result in results:
        label = result.configuration.label
        if result.diverged_at:
            diverged.append(f"{label} (epoch {result.diverged_at})")
        elif result.final_loss < LN_10 - 0.1:
            learned.append(f"{label} ({result.losses[0]:.3f} to {result.final_loss:.3f})")
        elif result.grad_norms[-1] == 0:
            frozen.append(f"{label} ({result.final_loss:.3f})")
        elif result.zero_layers or result.ratio < 1e-3:
            vanished.append(f"{label} ({result.final_loss:.3f})")
        else:
            stalled.append(f"{label} ({result.final_loss:.3f})")
    sentences = []
    if learned:
        sentences.append(f"In {epochs} epochs the loss fell below ln 10 for {', '.join(learned)}.")
    if vanished:
        sentences.append(
            f"The loss ended near or above ln 10 = {LN_10:.3f}, the loss of giving every class "
            f"probability 0.1, for {', '.join(vanished)}. With almost no gradient below the top "
            f"layers only those layers learn, and the hidden outputs they read barely depend "
            f"on the digit: the small slopes that shrink the gradient on the way down also "
            f"shrink the differences between digits on the way up. What is left to learn is "
            f"that every class is equally common."
        )
    if frozen:
        sentences.append(
            f"For {', '.join(frozen)} no layer gets a gradient, so the loss barely moves; "
            f"smaller initial weights would bring the logits back into range."
        )
    if stalled:
        sentences.append(
            f"For {', '.join(stalled)} the loss did not fall below ln 10 although the gradient "
            f"reaches every layer, so depth is not the cause: try more epochs, or the "
            f"initializer suited to the activation (glorot_uniform for tanh, he_normal for relu)."
        )
    if diverged:
        sentences.append(f"The loss stopped being finite for {', '.join(diverged)}.")
    return " ".join(sentences)
