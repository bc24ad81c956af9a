"""Benchmarks of one full-batch gradient-descent step on (784, n_examples) inputs.

Run them with ``pytest tests/benchmarks --benchmark-only``; plain ``pytest`` leaves
this folder out. Each row is one step (forward, loss, gradients, update) or a floor
that every step must pay, and rows of one size share the group ``step-<n>``:

- ``classic_eager``: the notebook's eager step (``lab.classic``), the baseline;
- ``lab_eager``: the lab's step on the reference solutions, run eagerly;
- ``lab``: the lab's step as ``python -m lab run`` uses it (default 10 epochs);
- ``lab_xla``: the lab's step compiled with XLA;
- ``impl``: the lab's step, as ``lab run`` uses it, on the folder given with ``--impl``
  (default ``solutions``);
- ``floor_read_x``: one reduction over x, the cost of reading the inputs once;
- ``floor_two_matmuls`` and ``floor_two_matmuls_xla``: ``weights @ x`` and
  ``dlogits @ x^T`` alone, compiled without and with XLA.

Warm-up rounds run first, so tracing and XLA compilation are not timed. Targets are
read from the table, never asserted here: timings depend on the machine and its load.
"""

import json
import subprocess

import numpy as np
import pytest
import tensorflow as tf

import peak_memory
from benchmark_inputs import SIZES, input_tensors, source_of
from lab import classic
from lab.implementation import find_unwritten, load_implementation
from lab.training import EAGER, GRAPH, XLA, TrainStep, build_model, use_xla

LEARNING_RATE = 0.1
LAB_RUN_EPOCHS = 10  # the default of ``python -m lab run --epochs``
INITIALIZER = "normal"  # a frozen uniform model costs the same per step
SEED = 4

# Timed rounds per size; the 60,000-example step takes about 0.1 s on 2 cores.
ROUNDS = {5_000: 50, 10_000: 40, 60_000: 15}
WARMUP_ROUNDS = 3

# The first call of a step traces it; XLA also compiles it. Timed on the bundled digits.
FIRST_CALL_EXAMPLES = 5_000
FIRST_CALL_ROUNDS = 5

MEMORY_EXAMPLES = 60_000
MEMORY_BUDGET_ABOVE_INPUTS = 300 * 10**6  # bytes allowed above idle besides the inputs: 300 MB

def size_id(n_examples):
    """Return the row id of a size: the number, plus "-tiled" for repeated bundled digits."""
    return f"{n_examples}-tiled" if "tiled" in source_of(n_examples) else str(n_examples)


by_size = pytest.mark.parametrize("n_examples", SIZES, ids=size_id)


def run_rounds(benchmark, step, n_examples):
    return benchmark.pedantic(step, rounds=ROUNDS[n_examples], warmup_rounds=WARMUP_ROUNDS)


def lab_step(implementation, x, labels, jit_compile, compile=True):
    """Return a callable running one lab step and reading what ``train`` reads per epoch."""
    model = build_model(implementation, INITIALIZER, x, SEED)
    step = TrainStep(implementation, model, LEARNING_RATE, compile=compile, jit_compile=jit_compile)

    def run_step():
        loss, _, _, summaries = step(x, labels)
        return float(loss), np.asarray(summaries)

    return step, run_step


@pytest.fixture(scope="module")
def solutions():
    return load_implementation("solutions")


@by_size
def test_classic_eager(benchmark, step_inputs, n_examples):
    x, labels = step_inputs
    weights, bias = classic.initial_parameters(INITIALIZER, int(x.shape[0]), seed=SEED)

    def run_step():
        loss, _, _ = classic.classic_step(weights, bias, x, labels, LEARNING_RATE)
        return float(loss)

    benchmark.extra_info["mode"] = EAGER
    run_rounds(benchmark, run_step, n_examples)


@by_size
def test_lab_eager(benchmark, step_inputs, n_examples, solutions):
    x, labels = step_inputs
    step, run_step = lab_step(solutions, x, labels, jit_compile=False, compile=False)
    run_rounds(benchmark, run_step, n_examples)
    benchmark.extra_info["mode"] = step.mode


@by_size
def test_lab(benchmark, step_inputs, n_examples, solutions):
    x, labels = step_inputs
    step, run_step = lab_step(solutions, x, labels, jit_compile=use_xla(n_examples, LAB_RUN_EPOCHS))
    run_rounds(benchmark, run_step, n_examples)
    benchmark.extra_info["mode"] = step.mode


@by_size
def test_lab_xla(benchmark, step_inputs, n_examples, solutions):
    x, labels = step_inputs
    step, run_step = lab_step(solutions, x, labels, jit_compile=True)
    run_rounds(benchmark, run_step, n_examples)
    benchmark.extra_info["mode"] = step.mode


@by_size
def test_impl(benchmark, step_inputs, n_examples, implementation_spec):
    implementation = load_implementation(implementation_spec)
    unwritten = find_unwritten(implementation)
    if unwritten:
        pytest.skip(f"{implementation_spec} has unwritten functions ({', '.join(unwritten)}); "
                    f"fill them in to time this implementation's step")
    x, labels = step_inputs
    step, run_step = lab_step(implementation, x, labels, jit_compile=use_xla(n_examples, LAB_RUN_EPOCHS))
    run_rounds(benchmark, run_step, n_examples)
    benchmark.extra_info["mode"] = step.mode
    benchmark.extra_info["implementation"] = str(implementation.path)


@pytest.mark.parametrize("mode", [GRAPH, XLA])
def test_first_call(benchmark, solutions, mode):
    """Time a fresh step's first call, which traces it and, with XLA, compiles it."""
    x, labels, source = input_tensors(FIRST_CALL_EXAMPLES)
    benchmark.group = f"first-call-{FIRST_CALL_EXAMPLES}"
    benchmark.extra_info.update({"mode": mode, "source": source, "n_examples": FIRST_CALL_EXAMPLES})

    def fresh_step():
        model = build_model(solutions, INITIALIZER, x, SEED)
        step = TrainStep(solutions, model, LEARNING_RATE, jit_compile=mode == XLA)
        return (step,), {}

    def first_call(step):
        loss, _, _, summaries = step(x, labels)
        return float(loss), np.asarray(summaries)

    # One untimed round first, so that TensorFlow's own start-up is not in the timings.
    benchmark.pedantic(first_call, setup=fresh_step, rounds=FIRST_CALL_ROUNDS, warmup_rounds=1)


@by_size
def test_floor_read_x(benchmark, step_inputs, n_examples):
    x, _ = step_inputs
    read_x = tf.function(lambda: tf.reduce_sum(x))
    benchmark.extra_info["mode"] = GRAPH
    run_rounds(benchmark, read_x, n_examples)


def two_matmuls(x, jit_compile):
    """Return a compiled function computing the step's two matrix products alone."""
    n_features, n_examples = x.shape
    weights = tf.random.stateless_normal((10, n_features), seed=(SEED, 0))
    dlogits = tf.random.stateless_normal((10, n_examples), seed=(SEED, 1))

    def products():
        logits = tf.matmul(weights, x)  # (10, n_examples): the forward pass
        grad_weights = tf.matmul(dlogits, x, transpose_b=True)  # (10, n_features): dL/dW
        return logits, grad_weights

    return tf.function(products, jit_compile=jit_compile)


@by_size
def test_floor_two_matmuls(benchmark, step_inputs, n_examples):
    x, _ = step_inputs
    benchmark.extra_info["mode"] = GRAPH
    run_rounds(benchmark, two_matmuls(x, jit_compile=False), n_examples)


@by_size
def test_floor_two_matmuls_xla(benchmark, step_inputs, n_examples):
    x, _ = step_inputs
    benchmark.extra_info["mode"] = XLA
    run_rounds(benchmark, two_matmuls(x, jit_compile=True), n_examples)


def measure_peak(*arguments):
    completed = subprocess.run(
        peak_memory.launch_command(*arguments), capture_output=True, text=True, timeout=600, check=False,
    )
    if completed.returncode != 0:
        pytest.fail(f"peak_memory.py {' '.join(arguments)} exited with "
                    f"{completed.returncode}: {completed.stderr.strip()[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_peak_memory_of_60000_example_run(benchmark, benchmark_summary):
    """Time a fresh process loading 60,000 examples and running 3 steps; record its peak memory."""
    idle = measure_peak("idle")
    results = []
    benchmark.group = f"memory-{MEMORY_EXAMPLES}"
    benchmark.pedantic(lambda: results.append(measure_peak("run", str(MEMORY_EXAMPLES))), rounds=1)
    run = results[0]

    mib = 2**20
    above_idle = run["peak_bytes"] - idle["peak_bytes"]
    budget = run["inputs_bytes"] + MEMORY_BUDGET_ABOVE_INPUTS
    benchmark.extra_info.update({
        "idle_peak_bytes": idle["peak_bytes"],
        "run_peak_bytes": run["peak_bytes"],
        "idle_high_water_bytes": idle["high_water_bytes"],
        "run_high_water_bytes": run["high_water_bytes"],
        "above_idle_bytes": above_idle,
        "inputs_bytes": run["inputs_bytes"],
        "budget_bytes": budget,
        "stages": run["stages"],
        "source": run["source"],
        "mode": run["mode"],
    })
    lines = [
        f"peak memory, {MEMORY_EXAMPLES:,}-example run ({run['source']}, {run['mode']} step): "
        f"{above_idle / mib:.0f} MiB above an idle TensorFlow process "
        f"({idle['peak_bytes'] / mib:.0f} MiB); inputs {run['inputs_bytes'] / mib:.0f} MiB, "
        f"budget inputs + 300 MB = {budget / mib:.0f} MiB",
    ]
    if idle["high_water_bytes"] and run["high_water_bytes"]:
        lines.append(f"  check with VmHWM: {(run['high_water_bytes'] - idle['high_water_bytes']) / mib:.0f} MiB "
                     f"above idle ({idle['high_water_bytes'] / mib:.0f} MiB)")
    previous = idle["peak_bytes"]
    for stage, peak in run["stages"].items():
        lines.append(f"  peak after {stage:<18} {peak / mib:7.0f} MiB ({round((peak - previous) / mib):+d})")
        previous = peak
    benchmark_summary.setdefault("memory", []).extend(lines)
