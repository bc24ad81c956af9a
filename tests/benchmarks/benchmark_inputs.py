"""Inputs and machine facts for the training-step benchmarks.

The benchmarks and the peak-memory subprocess they start both import this module, so
both time and measure the same arrays.
"""

import functools
import os
import platform

import numpy as np
import tensorflow as tf

from lab.data import aligned_empty, keras_cache_present, load_dataset
from lab.training import to_float32_tensor

# Examples per benchmarked step: the bundled digits, the classic notebook's sample of
# 10,000, and the full MNIST training set.
SIZES = (5_000, 10_000, 60_000)


def bundled_size():
    """Return the number of examples in the bundled digits (5,000)."""
    return load_dataset().n_examples


def source_of(n_examples):
    """Describe where ``n_examples`` inputs come from, without loading them.

    Up to the bundled 5,000 digits that is ``"bundled"``. Above, it is ``"keras"``
    when the full MNIST file is in the Keras cache, and otherwise the bundled digits
    repeated side by side, e.g. ``"bundled tiled 12x"``.
    """
    if n_examples <= bundled_size():
        return "bundled"
    if keras_cache_present():
        return "keras"
    repeats = -(-n_examples // bundled_size())
    return f"bundled tiled {repeats}x"


def load_inputs(n_examples):
    """Return ``(x, labels, source)``: float32 (784, n_examples), int32 (n_examples,), a string.

    Tiled inputs repeat the bundled digits column for column. They cost the same per
    step as real digits, because every operation in the step is dense.
    """
    source = source_of(n_examples)
    if source == "bundled":
        dataset = load_dataset(samples=n_examples)
        return dataset.x, dataset.labels, source
    if source == "keras":
        dataset = load_dataset("keras", samples=n_examples)
        return dataset.x, dataset.labels, source
    bundled = load_dataset()
    repeats = -(-n_examples // bundled.n_examples)
    # Aligned like every Dataset's x, so that to_float32_tensor shares it as it would
    # share real digits.
    x = aligned_empty((bundled.x.shape[0], n_examples), np.float32)
    for start in range(0, n_examples, bundled.n_examples):
        stop = min(start + bundled.n_examples, n_examples)
        x[:, start:stop] = bundled.x[:, :stop - start]
    labels = np.tile(bundled.labels, repeats)[:n_examples]
    return x, labels, source


@functools.lru_cache(maxsize=None)
def input_tensors(n_examples):
    """Return ``(x, labels, source)`` with x and labels as tensors, loaded once per size."""
    x, labels, source = load_inputs(n_examples)
    return to_float32_tensor(x), tf.convert_to_tensor(labels, dtype=tf.int32), source


def cpu_model():
    """Return the CPU model name from /proc/cpuinfo, or platform.processor() elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_facts():
    """Return the facts a benchmark result depends on, as a flat dict of strings and ints.

    A thread count of 0 is TensorFlow's default, with which it picks the number itself.
    """
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset"),
    }
