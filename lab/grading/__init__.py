"""The graded suite's machinery: the pytest plugin, its checks and its reports."""
