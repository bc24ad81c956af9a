"""Plain-text tables and the explanation that ``python -m lab run`` prints."""

from .probes import FACTOR_NAMES
from .training import LN_10

EPOCH_HEADER = (
    f"{'epoch':>5}  {'loss':>10}  {'dL/dW min':>11}  {'dL/dW mean':>11}  "
    f"{'dL/dW max':>11}  {'max |dL/dW|':>11}"
)


def format_epoch(stats):
    """Return one fixed-format table row for an EpochStats."""
    return (
        f"{stats.epoch:>5}  {stats.loss:>10.6f}  {stats.grad_min:>11.3e}  {stats.grad_mean:>11.3e}  "
        f"{stats.grad_max:>11.3e}  {stats.grad_abs_max:>11.3e}"
    )


def heading(title):
    return f"\n{title}\n{'-' * len(title)}"


def format_dataset(dataset):
    return "\n".join([
        heading("Data"),
        f"source     {dataset['source']} ({dataset['split']} split)",
        f"examples   {dataset['n_examples']:,}",
        f"x shape    ({dataset['shape'][0]}, {dataset['shape'][1]})  (n_features, n_examples), float32 in [0, 1]",
    ])


def format_trace(trace):
    lines = [
        heading(f"One example traced through the model (example {trace.index}, label {trace.label})"),
        f"{'class':>5}  {'logit':>10}  {'sigmoid':>12}  {'softmax':>10}",
    ]
    for k, (logit, activation, prob) in enumerate(zip(trace.logits, trace.activations, trace.probs)):
        lines.append(f"{k:>5}  {logit:>10.4f}  {activation:>12.9f}  {prob:>10.7f}")
    return "\n".join(lines)


def format_chain_rule(summaries, batch_size=8):
    lines = [
        heading(f"Chain-rule factors of dL/dW (first {batch_size} examples)"),
        f"{'factor':<22}  {'min':>11}  {'mean':>11}  {'max':>11}  {'mean |.|':>11}",
    ]
    for summary in summaries:
        lines.append(
            f"{summary.name:<22}  {summary.min:>11.3e}  {summary.mean:>11.3e}  "
            f"{summary.max:>11.3e}  {summary.mean_abs:>11.3e}"
        )
    return "\n".join(lines)


def format_saturation(saturation):
    return (
        f"logits on all examples: min {saturation.logit_min:.2f}, mean {saturation.logit_mean:.2f}, "
        f"max {saturation.logit_max:.2f}; sigmoid exactly 1.0 for "
        f"{saturation.fraction_sigmoid_one:.1%} of them; softmax exactly 1/n_classes for "
        f"{saturation.fraction_probs_uniform:.1%} of the examples"
    )


# Half the float32 spacing of numbers in [0.5, 1), 2**-24: an update smaller than this
# leaves a weight near 0.5 or above unchanged after rounding.
HALF_SPACING_NEAR_ONE_HALF = 2.0 ** -25


def _epochs(count):
    return f"{count} epoch" if count == 1 else f"{count} epochs"


def explain(result):
    """Return a short explanation of what the measured numbers show.

    Each claim is made only when the numbers support it, so a run with other options
    (a huge learning rate, one epoch, a student's broken loss) is described as it went.
    """
    paragraphs = []
    by_init = {run.init: run for run in result.runs}

    uniform = by_init.get("uniform")
    if uniform is not None:
        paragraphs.extend(_explain_uniform(uniform, result.learning_rate))

    normal = by_init.get("normal")
    if normal is not None:
        paragraphs.append(_explain_normal(normal))

    return "\n\n".join(paragraphs)


def _explain_uniform(run, learning_rate):
    saturation = run.saturation
    sigmoid_factor = run.chain_rule[FACTOR_NAMES.index("d(sigmoid)/d(logits)")]
    spread = max(run.loss) - min(run.loss)
    frozen = all(abs(loss - LN_10) < 1e-5 for loss in run.loss)

    first = (
        f"Uniform [0, 1) weights: every weight is positive and a digit lights up between a "
        f"few dozen and a few hundred pixels, so the logits average {saturation.logit_mean:.1f} "
        f"(smallest {saturation.logit_min:.1f}). In float32, 1 / (1 + exp(-z)) rounds to "
        f"exactly 1.0 for z above about 16.6, and here that happens to "
        f"{saturation.fraction_sigmoid_one:.1%} of the logits."
    )
    if frozen:
        first += (
            f" The softmax of ten equal values is 0.1 for every class, which is what "
            f"{saturation.fraction_probs_uniform:.1%} of the examples get, so the loss is "
            f"-ln(0.1) = ln(10) = {LN_10:.5f} whatever the label. It moved by {spread:.1e} "
            f"over {_epochs(len(run.loss))}."
        )
    else:
        first += (
            f" The loss went from {run.loss[0]:.5f} to {run.loss[-1]:.5f} over "
            f"{_epochs(len(run.loss))}, so it did not stay at ln(10) = {LN_10:.5f} as the "
            f"reference solutions' loss does with the default options."
        )

    largest_step = learning_rate * max(run.grad_abs_max)
    second = (
        f"The gradient still exists, but the chain rule multiplies it by the sigmoid's "
        f"derivative s(1 - s), about exp(-logit): {sigmoid_factor.mean_abs:.1e} on average "
        f"here. dL/dW peaks at {max(run.grad_abs_max):.1e}, so the largest step, learning "
        f"rate {learning_rate:g} times that, is {largest_step:.1e}."
    )
    if frozen and largest_step < HALF_SPACING_NEAR_ONE_HALF:
        second += (
            " That is below half the float32 spacing of weights near 0.5 (about 3e-8), so "
            "rounding leaves those weights unchanged and the model does not learn. That is "
            "the vanishing gradient: saturated activations, not a bug in the optimizer."
        )
    return [first, second]


def _explain_normal(run):
    saturation = run.saturation
    first, last = run.loss[0], run.loss[-1]
    text = (
        f"Standard normal weights: logits from {saturation.logit_min:.3g} to "
        f"{saturation.logit_max:.3g}, so {1 - saturation.fraction_sigmoid_one:.1%} of the "
        f"sigmoid outputs are below 1.0 and dL/dW reaches {max(run.grad_abs_max):.1e}."
    )
    if len(run.loss) == 1:
        return text + f" One epoch gives a single loss, {first:.5f}: run more epochs to see a trend."
    if last < first:
        return text + (
            f" The loss fell from {first:.5f} to {last:.5f} in {_epochs(len(run.loss))}. It "
            f"learns, slowly: the sigmoid squeezes every logit into (0, 1), so the softmax can "
            f"never be confident, and the many logits that are still large pass back only "
            f"small gradients."
        )
    return text + (
        f" The loss did not fall: {first:.5f} at epoch 1, {last:.5f} at epoch "
        f"{len(run.loss)}. Check the learning rate and the implementation's loss."
    )
