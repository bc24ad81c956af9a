"""The experiment's five figures, one function per figure, each returning a matplotlib Figure.

Figures are drawn on matplotlib's Agg canvas and never shown, so they work without a
display and leave pyplot's global state alone. ``save_all`` writes all five as PNG files
with fixed names; ``python -m lab run --plots DIR`` calls it after the experiment.

Artists that tests and readers look for carry a ``gid``: the shaded spans of figures 1
and 4 (``"flat-region"``, ``"sigmoid-one"``), the threshold line of figure 4
(``"threshold"``) and the ln(10) line of figure 2 (``"ln10"``).
"""

import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .probes import FACTOR_NAMES, forward_stages
from .training import LN_10

# File name of each figure, in the order save_all writes them.
FIGURE_FILES = {
    "sigmoid": "sigmoid.png",
    "loss": "loss.png",
    "gradients": "gradients.png",
    "logits": "logits.png",
    "chain_rule": "chain_rule.png",
}

# Figure 1 shades the z where the sigmoid's derivative s(1 - s) is below this value.
DERIVATIVE_FLOOR = 1e-3
SIGMOID_Z_RANGE = (-10.0, 10.0)

INIT_STYLES = {
    "uniform": {"color": "tab:red", "marker": "o", "label": "uniform [0, 1) init"},
    "normal": {"color": "tab:blue", "marker": "s", "label": "normal N(0, 1) init"},
}
SATURATED_COLOR = "tab:orange"
FIGURE_SIZE = (8.0, 5.0)  # inches
DPI = 110


def _new_figure(size=FIGURE_SIZE):
    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _style(init):
    return INIT_STYLES.get(init, {"color": "tab:gray", "marker": "^", "label": f"{init} init"})


# --- float32 facts ---------------------------------------------------------------------


def textbook_sigmoid_float32(z):
    """Return 1 / (1 + exp(-z)) computed step by step in float32, as a NumPy array."""
    z = np.asarray(z, dtype=np.float32)
    with np.errstate(over="ignore"):
        return np.float32(1.0) / (np.float32(1.0) + np.exp(-z))


def float32_sigmoid_one_threshold(sigmoid=textbook_sigmoid_float32, upper=100.0):
    """Return the smallest float32 z >= 0 for which ``sigmoid(z)`` is exactly 1.0.

    The search bisects the bit patterns of the positive float32 numbers, which are
    ordered like the numbers themselves, so it finds the exact float32 value and not a
    grid approximation. It needs ``sigmoid`` to be non-decreasing on [0, upper]. For the
    textbook form the threshold is about 16.64: exp(-z) then falls below 2**-24, half the
    float32 spacing just above 1.0, and 1 + exp(-z) rounds to 1.
    """
    low = int(np.float32(0.0).view(np.int32))
    high = int(np.float32(upper).view(np.int32))
    if float(sigmoid(np.float32(upper))) != 1.0:
        raise ValueError(f"the sigmoid does not reach 1.0 in float32 at z = {upper}; pass a larger upper")
    # Invariant: sigmoid(bits low) < 1.0 and sigmoid(bits high) == 1.0.
    while high - low > 1:
        middle = (low + high) // 2
        z = np.int32(middle).view(np.float32)
        if float(sigmoid(z)) == 1.0:
            high = middle
        else:
            low = middle
    return float(np.int32(high).view(np.float32))


def sigmoid_flat_spans(floor=DERIVATIVE_FLOOR, z_range=SIGMOID_Z_RANGE):
    """Return the (start, end) spans of ``z_range`` where s(1 - s) < ``floor``.

    s(1 - s) = floor has the solutions s = (1 +- sqrt(1 - 4 floor)) / 2, and the
    derivative is below ``floor`` for |z| beyond z* = ln(s / (1 - s)) of the larger one.
    """
    if not 0.0 < floor < 0.25:
        raise ValueError(f"floor={floor} is invalid; the sigmoid's derivative lies in (0, 0.25]")
    s_high = (1.0 + math.sqrt(1.0 - 4.0 * floor)) / 2.0
    z_star = math.log(s_high / (1.0 - s_high))
    low, high = z_range
    spans = []
    if low < -z_star:
        spans.append((low, min(-z_star, high)))
    if high > z_star:
        spans.append((max(z_star, low), high))
    return spans


# --- Figure 1: the sigmoid and its derivative ---------------------------------------------


def plot_sigmoid(floor=DERIVATIVE_FLOOR, z_range=SIGMOID_Z_RANGE):
    """Draw the sigmoid and its derivative, shading where the derivative is below ``floor``.

    The top panel shows both curves on a linear axis, and the bottom panel the
    derivative on a log axis, where the floor is visible. Curves are exact float64 values.
    """
    z = np.linspace(*z_range, 2001)
    s = 1.0 / (1.0 + np.exp(-z))
    derivative = s * (1.0 - s)
    spans = sigmoid_flat_spans(floor, z_range)

    figure = _new_figure((8.0, 6.5))
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    figure.suptitle("The sigmoid flattens out: its derivative vanishes for large |z|")

    top.plot(z, s, color="black", label="sigmoid s(z) = 1 / (1 + exp(-z))")
    top.plot(z, derivative, color="tab:purple", label="derivative s(z)(1 - s(z))")
    top.set_ylabel("value (dimensionless)")
    top.set_ylim(-0.05, 1.05)

    bottom.semilogy(z, derivative, color="tab:purple", label="derivative s(z)(1 - s(z))")
    bottom.axhline(floor, color="gray", linestyle="--", label=f"derivative = {floor:g}")
    bottom.set_ylabel("derivative (log scale)")
    bottom.set_xlabel("z, the input of the sigmoid (a logit, dimensionless)")

    for axes in (top, bottom):
        for index, (start, end) in enumerate(spans):
            label = f"derivative < {floor:g} (|z| > {spans[-1][0]:.2f})" if index == 0 else None
            axes.axvspan(start, end, color="tab:gray", alpha=0.2, gid="flat-region", label=label)
        axes.set_xlim(*z_range)
        axes.grid(True, alpha=0.3)
    top.legend(loc="center left", bbox_to_anchor=(0.0, 0.62), fontsize="small")
    bottom.legend(loc="lower center", fontsize="small")
    return figure


# --- Figure 2: the loss per epoch -----------------------------------------------------------


def plot_loss(result):
    """Draw the loss per epoch of each run, with ln(10) as the reference line.

    The right panel shows each run's change from its first epoch, because the normal
    run's progress over a few epochs is too small to see next to ln(10).
    """
    figure = _new_figure((10.0, 4.8))
    absolute, change = figure.subplots(1, 2)
    figure.suptitle(
        f"Cross-entropy loss per epoch (full batch of {result.dataset['n_examples']:,} digits, "
        f"learning rate {result.learning_rate:g})"
    )

    absolute.axhline(LN_10, color="gray", linestyle="--", linewidth=2.5, gid="ln10",
                     label=f"ln(10) = {LN_10:.6f}, loss of a uniform guess")
    for run in result.runs:
        epochs = [stats.epoch for stats in run.epochs]
        style = _style(run.init)
        absolute.plot(epochs, run.loss, color=style["color"], marker=style["marker"],
                      markersize=4, label=style["label"], gid=f"loss-{run.init}")
        change.plot(epochs, np.asarray(run.loss) - run.loss[0], color=style["color"],
                    marker=style["marker"], markersize=4, label=style["label"])

    absolute.set_title("loss")
    absolute.set_ylabel("cross-entropy loss (nats)")
    change.set_title("change since epoch 1")
    change.set_ylabel("loss - loss at epoch 1 (nats)")
    change.axhline(0.0, color="gray", linewidth=0.8)
    for axes in (absolute, change):
        axes.set_xlabel("epoch (loss measured before that epoch's update)")
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small")
    return figure


# --- Figure 3: the largest gradient per epoch -------------------------------------------------


def stuck_gradient(learning_rate):
    """Return the |dL/dW| below which one step leaves a float32 weight in [0.5, 1) unchanged.

    Float32 numbers in [0.5, 1) are 2**-24 apart, so an update smaller than half of that,
    2**-25, rounds back to the same weight.
    """
    return 2.0 ** -25 / learning_rate


def plot_gradients(result):
    """Draw max |dL/dW| per epoch for each run on a log axis."""
    figure = _new_figure()
    axes = figure.subplots()
    axes.set_title("Largest gradient per epoch: the uniform run's gradient has vanished")
    for run in result.runs:
        epochs = [stats.epoch for stats in run.epochs]
        style = _style(run.init)
        axes.plot(epochs, run.grad_abs_max, color=style["color"], marker=style["marker"],
                  markersize=4, label=style["label"], gid=f"grad-{run.init}")

    stuck = stuck_gradient(result.learning_rate)
    axes.axhline(stuck, color="gray", linestyle=":", gid="stuck",
                 label=f"{stuck:.1e}: below this, a step of lr {result.learning_rate:g} does not\n"
                 f"change a float32 weight in [0.5, 1) (half its spacing, 2^-25)")
    axes.set_yscale("log")
    axes.set_xlabel("epoch (gradient measured before that epoch's update)")
    axes.set_ylabel("max |dL/dW| over all weights (nats per unit weight)")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small", loc="center right")
    return figure


# --- Figure 4: where the uniform model's logits fall ------------------------------------------


def model_logits(result, implementation, dataset, init):
    """Return the logits of the run ``init``'s trained model on ``dataset`` as a flat array."""
    try:
        model = result.models[init]
    except KeyError:
        raise ValueError(
            f"the experiment has no trained {init!r} model (runs: "
            f"{', '.join(run.init for run in result.runs) or 'none'}); run it with that init"
        ) from None
    logits, _, _ = forward_stages(implementation, model, dataset.x)
    return np.asarray(logits).ravel()


def plot_logit_histogram(result, implementation, dataset, init="uniform"):
    """Draw a histogram of run ``init``'s logits on the data, shading where float32 sigmoid is 1.0.

    The threshold is the smallest float32 z at which 1 / (1 + exp(-z)) returns exactly 1.0
    in float32 arithmetic (``float32_sigmoid_one_threshold``).
    """
    logits = model_logits(result, implementation, dataset, init)
    threshold = float32_sigmoid_one_threshold()
    share = float(np.mean(logits >= threshold))

    figure = _new_figure()
    axes = figure.subplots()
    axes.set_title(
        f"Logits of the {init}-init model on {dataset.n_examples:,} training digits "
        f"after {result.epochs} epochs"
    )
    axes.hist(logits, bins=80, color=_style(init)["color"], alpha=0.8,
              label=f"{logits.size:,} logits (10 per digit)")

    low = min(float(logits.min()), threshold) - 2.0
    high = max(float(logits.max()), threshold) + 2.0
    axes.set_xlim(low, high)
    axes.axvspan(threshold, high, color=SATURATED_COLOR, alpha=0.2, gid="sigmoid-one",
                 label=f"float32 1 / (1 + exp(-z)) is exactly 1.0: {share:.1%} of the logits")
    axes.axvline(threshold, color=SATURATED_COLOR, linewidth=2, gid="threshold")
    axes.annotate(f"threshold z = {threshold:.4f}", xy=(threshold, 0.5), xycoords=("data", "axes fraction"),
                  xytext=(6, 0), textcoords="offset points", color="black",
                  rotation=90, va="center", ha="left")
    axes.set_xlabel("logit z = (W x + b) for one class and one digit (dimensionless)")
    axes.set_ylabel("number of logits per bin")
    axes.legend(fontsize="small", loc="upper right")
    axes.grid(True, alpha=0.3)
    return figure


# --- Figure 5: the chain-rule factors ------------------------------------------------------


def plot_chain_rule(result):
    """Draw the mean |.| of each chain-rule factor of dL/dW for each run, as bars on a log axis.

    A factor whose mean is exactly 0 (its entries all underflowed) cannot sit on a log
    axis, so it is drawn hatched at a floor a hundred times below the smallest non-zero
    bar and labelled "0".
    """
    figure = _new_figure((9.0, 5.5))
    axes = figure.subplots()
    axes.set_title("Chain-rule factors of dL/dW: one link vanishes with uniform init")

    heights = {run.init: [summary.mean_abs for summary in run.chain_rule] for run in result.runs}
    positive = [value for values in heights.values() for value in values if value > 0]
    floor = (min(positive) if positive else 1.0) / 100.0

    positions = np.arange(len(FACTOR_NAMES))
    width = 0.8 / max(len(result.runs), 1)
    for index, run in enumerate(result.runs):
        style = _style(run.init)
        values = heights[run.init]
        offsets = positions - 0.4 + width * (index + 0.5)
        drawn = [value if value > 0 else floor for value in values]
        bars = axes.bar(offsets, drawn, width=width, color=style["color"], label=style["label"],
                        gid=f"factors-{run.init}")
        for bar, value in zip(bars, values):
            if value == 0:
                bar.set_hatch("//")
                bar.set_alpha(0.4)
            text = f"{value:.1e}" if value > 0 else "0 (underflow)"
            axes.annotate(text, xy=(bar.get_x() + bar.get_width() / 2, bar.get_height()),
                          xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                          fontsize="small")

    axes.set_yscale("log")
    top = max(positive) if positive else 1.0
    # Room above the tallest bar for its value label and the legend.
    axes.set_ylim(floor / 10.0, top * 1e4)
    axes.set_xticks(positions, FACTOR_NAMES)
    axes.set_xlabel("factor of dL/dW, from the weights' side (left) to the loss's side (right)")
    # dL/d(softmax) has one entry per example, so its count is the number of digits probed.
    n_probed = result.runs[0].chain_rule[FACTOR_NAMES.index("dL/d(softmax)")].count if result.runs else 0
    axes.set_ylabel(f"mean |entry| on the first {n_probed} digits (log scale)")
    axes.grid(True, axis="y", alpha=0.3)
    any_zero = any(value == 0 for values in heights.values() for value in values)
    note = "hatched bars: exactly 0 (underflow), drawn at a floor" if any_zero else None
    axes.legend(fontsize="small", loc="upper center", ncol=2, title=note, title_fontsize="small")
    return figure


# --- All figures ---------------------------------------------------------------------------


def save_all(result, implementation, dataset, folder):
    """Draw the five figures and write them as PNG files into ``folder``; return their paths.

    The histogram of logits shows the uniform run when there is one, else the first run.
    ``folder`` is created when missing. Raises ValueError when it is an existing file.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"plots folder {folder} is a file; give a folder path")
    folder.mkdir(parents=True, exist_ok=True)

    inits = [run.init for run in result.runs]
    histogram_init = "uniform" if "uniform" in inits else inits[0]
    figures = {
        "sigmoid": lambda: plot_sigmoid(),
        "loss": lambda: plot_loss(result),
        "gradients": lambda: plot_gradients(result),
        "logits": lambda: plot_logit_histogram(result, implementation, dataset, histogram_init),
        "chain_rule": lambda: plot_chain_rule(result),
    }
    paths = []
    for name, draw in figures.items():
        path = folder / FIGURE_FILES[name]
        draw().savefig(path, dpi=DPI)
        paths.append(path)
    return paths
