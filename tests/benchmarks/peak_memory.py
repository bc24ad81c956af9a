"""Measure a process's peak resident memory: idle, or loading inputs and running steps.

Run by the memory benchmark in a fresh interpreter, because a process's peak never
goes down::

    python peak_memory.py idle
    python peak_memory.py run 60000

It prints one JSON object: ``peak_bytes`` (``resource.getrusage`` ``ru_maxrss``),
``high_water_bytes`` (Linux's VmHWM, or null) and, for ``run``, the peak after each
stage, the inputs' size and the step's mode. Start it with ``launch_command`` so that
the peak is this process's own.
"""

import json
import os
import resource
import sys
from pathlib import Path

# The benchmarks folder is not a package; make its modules importable when this
# file runs as a script.
sys.path.insert(0, str(Path(__file__).resolve().parent))

STEPS = 3
LEARNING_RATE = 0.1
LAB_RUN_EPOCHS = 10  # the default of ``python -m lab run --epochs``


def peak_bytes():
    """Return ru_maxrss in bytes; Linux reports kilobytes and macOS bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def high_water_bytes():
    """Return VmHWM from /proc/self/status in bytes, or None where there is no /proc.

    Linux resets VmHWM when a process starts a new program, so it is a check on
    ru_maxrss, which a process can inherit from its parent (see ``launch_command``).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def launch_command(*arguments):
    """Return the command line that runs this script in a process of its own.

    On Linux a child's ru_maxrss starts at its parent's peak when the parent forks
    and the child starts a new program, and a pytest process with TensorFlow loaded
    is bigger than an idle TensorFlow process. A shell in between, which runs Python
    as its own child and not through exec, gives Python a fresh count.
    """
    command = [sys.executable, str(Path(__file__).resolve()), *arguments]
    if os.name != "posix":
        return command
    return ["/bin/sh", "-c", '"$@"; exit $?', "sh", *command]


def measure_idle():
    import tensorflow as tf

    import lab.training  # noqa: F401  (the run imports it too)

    float(tf.constant(1.0) + 1.0)  # start TensorFlow's runtime, as the run does
    return {"peak_bytes": peak_bytes(), "high_water_bytes": high_water_bytes()}


def measure_run(n_examples):
    import numpy as np
    import tensorflow as tf

    from benchmark_inputs import load_inputs
    from lab.implementation import load_implementation
    from lab.training import TrainStep, build_model, to_float32_tensor, use_xla

    float(tf.constant(1.0) + 1.0)
    stages = {"started": peak_bytes()}

    x_array, labels_array, source = load_inputs(n_examples)
    stages["inputs loaded"] = peak_bytes()

    # As python -m lab run does: the tensor shares the aligned NumPy array's memory,
    # and the array stays alive next to it.
    x = to_float32_tensor(x_array)
    labels = tf.convert_to_tensor(labels_array, dtype=tf.int32)
    stages["inputs converted"] = peak_bytes()

    implementation = load_implementation("solutions")
    model = build_model(implementation, "normal", x, seed=4)
    step = TrainStep(implementation, model, LEARNING_RATE,
                     jit_compile=use_xla(n_examples, LAB_RUN_EPOCHS))
    for _ in range(STEPS):
        loss, _, _, summaries = step(x, labels)
        float(loss)
        np.asarray(summaries)
    stages[f"{STEPS} steps run"] = peak_bytes()

    return {
        "peak_bytes": peak_bytes(),
        "high_water_bytes": high_water_bytes(),
        "stages": stages,
        "inputs_bytes": int(x_array.nbytes + labels_array.nbytes),
        "source": source,
        "mode": step.mode,
    }


def main(argv):
    if argv[:1] == ["idle"]:
        result = measure_idle()
    elif len(argv) == 2 and argv[0] == "run" and argv[1].isdigit():
        result = measure_run(int(argv[1]))
    else:
        print("usage: peak_memory.py idle | run N_EXAMPLES", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
