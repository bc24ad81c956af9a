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


def explain(result):
    """Return a short explanation of what the measured numbers show."""
    paragraphs = []
    by_init = {run.init: run for run in result.runs}

    uniform = by_init.get("uniform")
    if uniform is not None:
        saturation = uniform.saturation
        sigmoid_factor = uniform.chain_rule[FACTOR_NAMES.index("d(sigmoid)/d(logits)")]
        spread = max(uniform.loss) - min(uniform.loss)
        paragraphs.append(
            f"Uniform [0, 1) weights: every weight is positive and a digit lights up "
            f"between a few dozen and a few hundred pixels, so the logits average "
            f"{saturation.logit_mean:.1f} (smallest {saturation.logit_min:.1f}). In float32, "
            f"1 / (1 + exp(-z)) rounds to exactly 1.0 for z above about 16.6, and here that "
            f"happens to {saturation.fraction_sigmoid_one:.1%} of the logits. The softmax of "
            f"ten equal values is 0.1 for every class, which is what "
            f"{saturation.fraction_probs_uniform:.1%} of the examples get, so the loss is "
            f"-ln(0.1) = ln(10) = {LN_10:.5f} whatever the label. It moved by {spread:.1e} "
            f"over {len(uniform.loss)} epochs."
        )
        paragraphs.append(
            f"The gradient still exists, but the chain rule multiplies it by the sigmoid's "
            f"derivative s(1 - s), about exp(-logit): {sigmoid_factor.mean_abs:.1e} on average "
            f"here. dL/dW peaks at {max(uniform.grad_abs_max):.1e}, and a step of "
            f"{result.learning_rate} times that is far below the float32 spacing of weights "
            f"near 0.5 (about 6e-8), so the weights never change and the model never learns. "
            f"That is the vanishing gradient: saturated activations, not a bug in the optimizer."
        )

    normal = by_init.get("normal")
    if normal is not None:
        first, last = normal.loss[0], normal.loss[-1]
        verdict = "fell" if last < first else "did not fall"
        paragraphs.append(
            f"Standard normal weights: logits of both signs, mostly within +-{max(abs(normal.saturation.logit_min), abs(normal.saturation.logit_max)):.0f}, "
            f"so {1 - normal.saturation.fraction_sigmoid_one:.1%} of the sigmoid outputs are "
            f"below 1.0 and dL/dW reaches {max(normal.grad_abs_max):.1e}. The loss {verdict} "
            f"from {first:.5f} to {last:.5f} in {len(normal.loss)} epochs. It learns, slowly: "
            f"many logits are still large, the sigmoid squeezes all of them into (0, 1), so "
            f"the softmax can never be confident and its gradients stay small."
        )

    return "\n\n".join(paragraphs)

