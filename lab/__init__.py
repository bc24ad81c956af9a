"""The vanishing-gradient lab: harness, data, training and probes.

Students do not edit this package. Their code lives in ``exercises/``.
"""

import os

# TensorFlow logs INFO, WARNING and ERROR lines at import (oneDNN, missing CUDA
# drivers) that mean nothing to a student. Real failures still surface as Python
# exceptions. A user who sets the variable wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
