"""Import TensorFlow without the C++ log lines it prints while it starts.

TensorFlow 2.21 writes several lines to file descriptor 2 during import and device
discovery (oneDNN notices, "Could not find cuda drivers", a failed ``cuInit`` on
machines without a GPU) before ``TF_CPP_MIN_LOG_LEVEL`` takes effect. They are
not about the lab, so ``import_tensorflow`` sends that descriptor to /dev/null
while TensorFlow starts. Python exceptions are unaffected and still reach the user.
"""

import contextlib
import os
import sys


@contextlib.contextmanager
def _stderr_descriptor_silenced():
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """Import TensorFlow, list its devices quietly, and return the module.

    Listing the devices runs the CUDA probe now, inside the quiet window, instead of
    at the first tensor operation. When TensorFlow is already imported this only
    returns it.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    try:
        with _stderr_descriptor_silenced():
            import tensorflow as tf

            tf.config.list_physical_devices()
    except ImportError as error:
        raise ImportError(
            f"TensorFlow could not be imported ({error}); reinstall the lab with "
            f"pip install -e \".[test]\" in a Python 3.11+ virtual environment"
        ) from error
    return tf
