"""The vanishing-gradient lab: harness, data, training and probes.

Students do not edit this package. Their code lives in ``exercises/``.
"""

import os

# Mutes TensorFlow's C++ INFO, WARNING and ERROR log lines once its logging has
# started. The lines TensorFlow 2.21 prints while it is still starting ignore this
# variable, and lab.quiet_tensorflow mutes those. A user who sets the variable wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
