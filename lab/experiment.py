"""The whole experiment: train from each initialization, then probe the trained models.

``run_experiment`` returns an ExperimentResult whose ``as_dict`` is what
``python -m lab run --json`` writes. The command line, the plots and the tests all read
the same result.
"""

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import tensorflow as tf

from . import __version__
from .probes import chain_rule_factors, forward_stages, trace_example
from .training import LN_10, to_float32_tensor, train

INITS = ("uniform", "normal")


@dataclass
class Saturation:
    """How far a model's logits reach into the sigmoid's flat region, on all the data."""

    logit_min: float
    logit_mean: float
    logit_max: float
    fraction_sigmoid_one: float  # share of sigmoid outputs that are exactly 1.0 in float32
    fraction_probs_uniform: float  # share of examples whose softmax is 1/n_classes everywhere


@dataclass
class RunResult:
    """One initialization's training history and the probes taken after training."""

    init: str
    compiled: bool
    epochs: list  # of EpochStats
    trace: object  # ExampleTrace
    chain_rule: list  # of Summary
    saturation: Saturation

    @property
    def loss(self):
        return [stats.loss for stats in self.epochs]

    @property
    def grad_abs_max(self):
        return [stats.grad_abs_max for stats in self.epochs]

    def as_dict(self):
        return {
            "init": self.init,
            "compiled": self.compiled,
            "loss": self.loss,
            "grad_abs_max": self.grad_abs_max,
            "epochs": [asdict(stats) for stats in self.epochs],
            "trace": asdict(self.trace),
            "chain_rule": [summary.as_dict() for summary in self.chain_rule],
            "saturation": asdict(self.saturation),
        }


@dataclass
class ExperimentResult:
    """Everything one ``python -m lab run`` measured."""

    implementation: str
    dataset: dict
    epochs: int
    learning_rate: float
    seed: int
    runs: list = field(default_factory=list)
    models: dict = field(default_factory=dict, repr=False)  # init -> trained model

    def run(self, init):
        """Return the RunResult for ``init``, or raise KeyError."""
        for result in self.runs:
            if result.init == init:
                return result
        raise KeyError(init)

    def as_dict(self):
        return {
            "lab_version": __version__,
            "tensorflow_version": tf.__version__,
            "implementation": self.implementation,
            "dataset": self.dataset,
            "settings": {"epochs": self.epochs, "learning_rate": self.learning_rate, "seed": self.seed},
            "ln10": LN_10,
            "runs": [result.as_dict() for result in self.runs],
        }


def measure_saturation(implementation, model, x):
    """Return the Saturation of ``model`` on inputs ``x`` (n_features, n_examples)."""
    logits, activations, probs = forward_stages(implementation, model, x)
    logits = np.asarray(logits)
    activations = np.asarray(activations)
    probs = np.asarray(probs)
    n_classes = probs.shape[0]
    uniform_columns = np.all(probs == np.float32(1.0 / n_classes), axis=0)
    return Saturation(
        logit_min=float(logits.min()),
        logit_mean=float(logits.mean()),
        logit_max=float(logits.max()),
        fraction_sigmoid_one=float(np.mean(activations == 1.0)),
        fraction_probs_uniform=float(np.mean(uniform_columns)),
    )


def run_experiment(implementation, dataset, *, inits=INITS, epochs=10, learning_rate=0.1, seed=4,
                   trace_index=0, on_epoch=None, compile=True):
    """Train one model per initialization in ``inits`` on ``dataset`` and probe each.

    ``on_epoch(init, stats)`` is called after every epoch, for progress output.
    Every model starts from ``tf.random.set_seed(seed)``, so a run is repeatable.
    """
    result = ExperimentResult(
        implementation=implementation.name,
        dataset={
            "source": dataset.source,
            "split": dataset.split,
            "n_examples": dataset.n_examples,
            "shape": list(dataset.x.shape),
        },
        epochs=epochs,
        learning_rate=float(learning_rate),
        seed=seed,
    )
    x = to_float32_tensor(dataset.x)  # one copy of the inputs, not two (see training.py)
    for init in inits:
        callback = None if on_epoch is None else (lambda stats, init=init: on_epoch(init, stats))
        training_run = train(
            implementation, x, dataset.labels, initializer=init, epochs=epochs,
            learning_rate=learning_rate, seed=seed, compile=compile, on_epoch=callback,
        )
        model = training_run.model
        result.models[init] = model
        result.runs.append(RunResult(
            init=init,
            compiled=training_run.compiled,
            epochs=training_run.epochs,
            trace=trace_example(implementation, model, x, dataset.labels, trace_index),
            chain_rule=chain_rule_factors(implementation, model, x, dataset.labels),
            saturation=measure_saturation(implementation, model, x),
        ))
    return result


def is_frozen(run, tolerance=1e-5):
    """Return True when every epoch's loss is within ``tolerance`` of ln(10)."""
    return all(math.isclose(loss, LN_10, abs_tol=tolerance) for loss in run.loss)
