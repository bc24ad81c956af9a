"""Fixtures for the training-step benchmarks, and a summary of the machine they ran on.

Everything here is opt-in: fixtures run only for tests that request them, and the
terminal summary prints only after a test has recorded something in it, so other
benchmark files in this folder are not affected.
"""

from pathlib import Path

import pytest

from benchmark_inputs import input_tensors, machine_facts

SUMMARY_KEY = pytest.StashKey[dict]()
STEP_BENCHMARKS = "test_train_step.py"


def pytest_generate_tests(metafunc):
    # The implementation row times the folder given with --impl (an option of the
    # lab's pytest plugin), and its name goes into the row's id.
    if "implementation_spec" in metafunc.fixturenames:
        spec = metafunc.config.getoption("lab_impl", default=None) or "solutions"
        metafunc.parametrize("implementation_spec", [spec], ids=[Path(spec).name or spec])


def pytest_collection_modifyitems(config, items):
    # Run the step benchmarks size by size, so that the rows one table compares run
    # close together in time on a machine whose load changes. Other files keep their order.
    slots = [index for index, item in enumerate(items) if item.path.name == STEP_BENCHMARKS]
    ordered = sorted((items[index] for index in slots), key=_size_of)
    for index, item in zip(slots, ordered):
        items[index] = item


def _size_of(item):
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("n_examples", 0) if callspec else 0


@pytest.fixture
def benchmark_summary(request):
    """A dict printed at the end of the run under "training-step benchmarks"."""
    stash = request.config.stash
    if SUMMARY_KEY not in stash:
        stash[SUMMARY_KEY] = {"machine": machine_facts()}
    return stash[SUMMARY_KEY]


@pytest.fixture
def step_inputs(n_examples, benchmark, benchmark_summary):
    """Return ``(x, labels)`` for ``n_examples`` and label the benchmark row with them.

    The row joins the group ``step-<n_examples>``, so pytest-benchmark's table puts
    all rows of one size side by side, and ``extra_info`` records the data source and
    TensorFlow's thread settings.
    """
    x, labels, source = input_tensors(n_examples)
    benchmark.group = f"step-{n_examples}"
    benchmark.extra_info.update(machine_facts())
    benchmark.extra_info["n_examples"] = n_examples
    benchmark.extra_info["source"] = source
    benchmark_summary.setdefault("sources", {})[n_examples] = source
    return x, labels


def pytest_terminal_summary(terminalreporter, config):
    summary = config.stash.get(SUMMARY_KEY, None)
    if not summary:
        return
    write = terminalreporter.write_line
    terminalreporter.section("training-step benchmarks")
    for name, value in summary["machine"].items():
        write(f"{name:<22} {value}")
    for n_examples, source in sorted(summary.get("sources", {}).items()):
        write(f"inputs {n_examples:<15,} {source}")
    for line in summary.get("memory", []):
        write(line)
