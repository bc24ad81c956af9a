"""The graded suite's machinery: the pytest plugin, its checks and its reports."""


def format_points(value):
    """Format a score or a number of points for people to read: ``25.33``, ``8``, ``0.5``.

    Rounds to 2 decimals and drops trailing zeros, so a mean such as 76/3 does not show
    as 25.3333. JSON files keep the numbers themselves.
    """
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
