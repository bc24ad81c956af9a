"""argparse types shared by the commands: each rejects a bad value with one clear line."""

import argparse
import math


def positive_int(text):
    """Parse an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_int(text):
    """Parse an integer of at least 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def positive_float(text, unit=""):
    """Parse a finite number above 0; ``unit`` (such as "of seconds") goes into the message."""
    what = f"a positive number{' ' + unit if unit else ''}"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def positive_seconds(text):
    """Parse a duration in seconds, finite and above 0."""
    return positive_float(text, unit="of seconds")
