"""Tests of lab.plots: the data each figure draws, checked against independent references.

One small experiment (500 bundled digits, 3 epochs) is trained once for the module and
every figure is drawn from it.
"""

import dataclasses
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lab import plots
from lab.data import BUNDLED_ENV, load_dataset
from lab.experiment import run_experiment
from lab.implementation import load_implementation
from lab.probes import FACTOR_NAMES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = 500
EPOCHS = 3
FLOAT_TOLERANCE = 1e-12  # values copied from the result into the figure, as float64
LN10_TOLERANCE = 1e-5  # the uniform run's loss against ln(10), as the lab states it


@pytest.fixture(scope="module")
def experiment():
    """Return (result, implementation, dataset) of one small seeded experiment."""
    implementation = load_implementation("solutions")
    dataset = load_dataset("bundled", samples=SAMPLES)
    result = run_experiment(implementation, dataset, epochs=EPOCHS)
    return result, implementation, dataset


def artists_with_gid(figure, gid):
    """Return every artist of ``figure`` whose gid is ``gid``."""
    return [artist for artist in figure.findobj() if artist.get_gid() == gid]


def first_float32_sigmoid_one():
    """Return the smallest float32 z in [16, 18) where float32 1 / (1 + exp(-z)) is 1.0.

    Every float32 value in the interval is tried, so this does not share the bisection
    that lab.plots uses.
    """
    first_bits = np.float32(16.0).view(np.int32)
    last_bits = np.float32(18.0).view(np.int32)
    z = np.arange(first_bits, last_bits, dtype=np.int32).view(np.float32)
    one = np.float32(1.0)
    s = one / (one + np.exp(-z))
    return float(z[np.argmax(s == one)])


# --- float32 threshold -------------------------------------------------------------------


def test_threshold_equals_exhaustive_search():
    assert plots.float32_sigmoid_one_threshold() == first_float32_sigmoid_one()


def test_threshold_previous_float_is_below_one():
    threshold = np.float32(plots.float32_sigmoid_one_threshold())
    previous = np.nextafter(threshold, np.float32(0.0))
    assert float(plots.textbook_sigmoid_float32(previous)) < 1.0


def test_threshold_near_24_ln2():
    # 1 + exp(-z) rounds to 1 once exp(-z) <= 2**-24, i.e. z >= 24 ln 2 = 16.6355.
    assert plots.float32_sigmoid_one_threshold() == pytest.approx(24 * math.log(2), abs=1e-5)


def test_threshold_rejects_sigmoid_that_never_saturates():
    with pytest.raises(ValueError, match="does not reach 1.0"):
        plots.float32_sigmoid_one_threshold(sigmoid=lambda z: np.float32(0.5))


# --- Figure 1 ------------------------------------------------------------------------------


def shaded_spans(axes):
    return sorted(
        (patch.get_x(), patch.get_x() + patch.get_width())
        for patch in axes.patches if patch.get_gid() == "flat-region"
    )


def test_sigmoid_spans_cover_derivative_below_floor():
    figure = plots.plot_sigmoid()
    z = np.linspace(-10.0, 10.0, 400_001)
    s = 1.0 / (1.0 + np.exp(-z))
    below = s * (1.0 - s) < 1e-3
    for axes in figure.axes:
        spans = shaded_spans(axes)
        inside = np.zeros_like(below)
        for start, end in spans:
            inside |= (z >= start) & (z <= end)
        # Grid points within 1e-6 of a span edge may fall either way.
        edges = np.array([edge for span in spans for edge in span])
        away = np.min(np.abs(z[:, None] - edges[None, :]), axis=1) > 1e-6
        assert np.array_equal(inside[away], below[away])


def test_sigmoid_spans_reach_axis_limits():
    figure = plots.plot_sigmoid()
    spans = shaded_spans(figure.axes[0])
    assert spans[0][0] == -10.0
    assert spans[-1][1] == 10.0


def test_sigmoid_span_edge_derivative_equals_floor():
    (_, left_edge), (right_edge, _) = plots.sigmoid_flat_spans(1e-3)
    for edge in (left_edge, right_edge):
        s = 1.0 / (1.0 + math.exp(-edge))
        assert s * (1.0 - s) == pytest.approx(1e-3, rel=1e-9)


def test_sigmoid_flat_spans_rejects_floor_above_quarter():
    with pytest.raises(ValueError, match="floor=0.3"):
        plots.sigmoid_flat_spans(0.3)


def test_sigmoid_derivative_panel_is_log():
    figure = plots.plot_sigmoid()
    assert figure.axes[1].get_yscale() == "log"


# --- Figure 2 ------------------------------------------------------------------------------


def test_loss_uniform_line_flat_at_ln10(experiment):
    result, _, _ = experiment
    (line,) = artists_with_gid(plots.plot_loss(result), "loss-uniform")
    assert np.all(np.abs(np.asarray(line.get_ydata()) - math.log(10.0)) <= LN10_TOLERANCE)


def test_loss_reference_line_at_ln10(experiment):
    result, _, _ = experiment
    (line,) = artists_with_gid(plots.plot_loss(result), "ln10")
    assert np.allclose(line.get_ydata(), math.log(10.0), rtol=0, atol=FLOAT_TOLERANCE)


def test_loss_normal_line_matches_result(experiment):
    result, _, _ = experiment
    (line,) = artists_with_gid(plots.plot_loss(result), "loss-normal")
    assert np.allclose(line.get_ydata(), result.run("normal").loss, rtol=0, atol=FLOAT_TOLERANCE)


def test_loss_x_axis_counts_epochs(experiment):
    result, _, _ = experiment
    (line,) = artists_with_gid(plots.plot_loss(result), "loss-normal")
    assert list(line.get_xdata()) == list(range(1, EPOCHS + 1))


def test_loss_normal_line_falls(experiment):
    result, _, _ = experiment
    (line,) = artists_with_gid(plots.plot_loss(result), "loss-normal")
    assert line.get_ydata()[-1] < line.get_ydata()[0]


# --- Figure 3 ------------------------------------------------------------------------------


def test_gradients_axis_is_log(experiment):
    result, _, _ = experiment
    figure = plots.plot_gradients(result)
    assert figure.axes[0].get_yscale() == "log"


@pytest.mark.parametrize("init", ["uniform", "normal"])
def test_gradients_lines_match_result(experiment, init):
    result, _, _ = experiment
    (line,) = artists_with_gid(plots.plot_gradients(result), f"grad-{init}")
    expected = [stats.grad_abs_max for stats in result.run(init).epochs]
    assert np.allclose(line.get_ydata(), expected, rtol=1e-12, atol=0)


def test_gradients_stuck_line_is_half_spacing_over_lr(experiment):
    result, _, _ = experiment
    (line,) = artists_with_gid(plots.plot_gradients(result), "stuck")
    half_spacing = float(np.spacing(np.float32(0.5))) / 2
    assert line.get_ydata()[0] == pytest.approx(half_spacing / result.learning_rate, rel=1e-12)


def test_stuck_gradient_update_is_lost_to_rounding():
    learning_rate = 0.1
    weight = np.float32(0.75)
    update = np.float32(learning_rate * plots.stuck_gradient(learning_rate) * 0.99)
    assert weight - update == weight


# --- Figure 4 ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def histogram(experiment):
    result, implementation, dataset = experiment
    return plots.plot_logit_histogram(result, implementation, dataset)


def test_logit_histogram_threshold_line_at_float32_one(histogram):
    (line,) = artists_with_gid(histogram, "threshold")
    assert line.get_xdata()[0] == first_float32_sigmoid_one()


def test_logit_histogram_shading_starts_at_threshold(histogram):
    (span,) = artists_with_gid(histogram, "sigmoid-one")
    assert span.get_x() == first_float32_sigmoid_one()


def test_logit_histogram_shading_reaches_right_edge(histogram):
    (span,) = artists_with_gid(histogram, "sigmoid-one")
    assert span.get_x() + span.get_width() == pytest.approx(histogram.axes[0].get_xlim()[1])


def test_logit_histogram_threshold_is_labelled(histogram):
    texts = [text.get_text() for text in histogram.axes[0].texts]
    assert f"threshold z = {first_float32_sigmoid_one():.4f}" in texts


def test_logit_histogram_counts_every_logit(histogram):
    bars = [patch for patch in histogram.axes[0].patches if patch.get_gid() is None]
    assert sum(bar.get_height() for bar in bars) == SAMPLES * 10


def test_logit_histogram_counts_match_numpy(experiment, histogram):
    result, implementation, dataset = experiment
    logits = plots.model_logits(result, implementation, dataset, "uniform")
    bars = [patch for patch in histogram.axes[0].patches if patch.get_gid() is None]
    edges = [bar.get_x() for bar in bars] + [bars[-1].get_x() + bars[-1].get_width()]
    expected, _ = np.histogram(logits, bins=np.asarray(edges))
    assert [bar.get_height() for bar in bars] == expected.tolist()


def test_model_logits_rejects_missing_init(experiment):
    result, implementation, dataset = experiment
    with pytest.raises(ValueError, match="no trained 'relu' model"):
        plots.model_logits(result, implementation, dataset, "relu")


# --- Figure 5 ------------------------------------------------------------------------------


@pytest.mark.parametrize("init", ["uniform", "normal"])
def test_chain_rule_bar_heights_match_summaries(experiment, init):
    result, _, _ = experiment
    bars = artists_with_gid(plots.plot_chain_rule(result), f"factors-{init}")
    expected = [summary.mean_abs for summary in result.run(init).chain_rule]
    assert np.allclose([bar.get_height() for bar in bars], expected, rtol=1e-12, atol=0)


def test_chain_rule_axis_is_log(experiment):
    result, _, _ = experiment
    assert plots.plot_chain_rule(result).axes[0].get_yscale() == "log"


def test_chain_rule_ticks_name_factors(experiment):
    result, _, _ = experiment
    labels = [tick.get_text() for tick in plots.plot_chain_rule(result).axes[0].get_xticklabels()]
    assert labels == list(FACTOR_NAMES)


def with_sigmoid_factor_zero(result):
    """Return a copy of ``result`` whose uniform d(sigmoid)/d(logits) mean is exactly 0."""
    uniform = result.run("uniform")
    chain_rule = list(uniform.chain_rule)
    chain_rule[1] = dataclasses.replace(chain_rule[1], mean_abs=0.0)
    return dataclasses.replace(result, runs=[dataclasses.replace(uniform, chain_rule=chain_rule)])


def test_chain_rule_zero_factor_drawn_above_axis_bottom(experiment):
    result, _, _ = experiment
    figure = plots.plot_chain_rule(with_sigmoid_factor_zero(result))
    bars = artists_with_gid(figure, "factors-uniform")
    assert bars[1].get_height() > figure.axes[0].get_ylim()[0]


def test_chain_rule_zero_factor_is_hatched_and_labelled(experiment):
    result, _, _ = experiment
    figure = plots.plot_chain_rule(with_sigmoid_factor_zero(result))
    bars = artists_with_gid(figure, "factors-uniform")
    assert bars[1].get_hatch() == "//"
    assert "0 (underflow)" in [text.get_text() for text in figure.axes[0].texts]


# --- Every figure ----------------------------------------------------------------------------


def every_figure(experiment):
    result, implementation, dataset = experiment
    return {
        "sigmoid": plots.plot_sigmoid(),
        "loss": plots.plot_loss(result),
        "gradients": plots.plot_gradients(result),
        "logits": plots.plot_logit_histogram(result, implementation, dataset),
        "chain_rule": plots.plot_chain_rule(result),
    }


def test_every_figure_has_title_and_axis_labels(experiment):
    for name, figure in every_figure(experiment).items():
        title = figure.get_suptitle() or figure.axes[0].get_title()
        assert title, f"{name} has no title"
        for axes in figure.axes:
            assert axes.get_ylabel(), f"{name} has an axis without a y label"
            # Panels stacked on a shared x axis label it once, on the bottom row.
            if axes.get_subplotspec().is_last_row():
                assert axes.get_xlabel(), f"{name} has a bottom axis without an x label"


def test_every_figure_with_several_lines_has_legend(experiment):
    for name, figure in every_figure(experiment).items():
        for axes in figure.axes:
            if len(axes.get_lines()) > 1:
                assert axes.get_legend() is not None, f"{name} has several lines and no legend"


def test_save_all_writes_five_pngs(experiment, tmp_path):
    result, implementation, dataset = experiment
    paths = plots.save_all(result, implementation, dataset, tmp_path / "figures")
    assert [path.name for path in paths] == list(plots.FIGURE_FILES.values())
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"


def test_save_all_rejects_file_as_folder(experiment, tmp_path):
    result, implementation, dataset = experiment
    file = tmp_path / "not-a-folder"
    file.write_text("")
    with pytest.raises(ValueError, match="is a file"):
        plots.save_all(result, implementation, dataset, file)


def test_save_all_single_init_writes_five(tmp_path):
    implementation = load_implementation("solutions")
    dataset = load_dataset("bundled", samples=100)
    result = run_experiment(implementation, dataset, inits=("normal",), epochs=1)
    paths = plots.save_all(result, implementation, dataset, tmp_path)
    assert [path.name for path in paths] == list(plots.FIGURE_FILES.values())


def test_logit_histogram_single_normal_run_titled_normal():
    implementation = load_implementation("solutions")
    dataset = load_dataset("bundled", samples=100)
    result = run_experiment(implementation, dataset, inits=("normal",), epochs=1)
    figure = plots.plot_logit_histogram(result, implementation, dataset, "normal")
    assert "normal-init" in figure.axes[0].get_title()


# --- python -m lab run --plots ---------------------------------------------------------------


def run_lab(*args, env=None):
    environment = {key: value for key, value in os.environ.items() if key != BUNDLED_ENV}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "lab", *args], cwd=PROJECT_ROOT, env=environment,
        capture_output=True, text=True, timeout=300,
    )


def test_run_plots_writes_figures_into_new_folder(tmp_path):
    folder = tmp_path / "new" / "figures"
    completed = run_lab("run", "--samples", "200", "--epochs", "2", "--plots", str(folder))
    assert completed.returncode == 0, completed.stderr
    assert sorted(path.name for path in folder.iterdir()) == sorted(plots.FIGURE_FILES.values())


def test_run_plots_file_exits_2_before_training(tmp_path):
    file = tmp_path / "figures.png"
    file.write_text("")
    completed = run_lab("run", "--samples", "200", "--epochs", "2", "--plots", str(file))
    assert completed.returncode == 2
    assert "is a file" in completed.stderr
    assert "Training from" not in completed.stdout
