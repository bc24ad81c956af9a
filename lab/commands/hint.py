"""``python -m lab hint EXERCISE``: print the hint a failing graded test shows first."""

from ..cli import UsageError

# Hints are plain text, so the command skips TensorFlow's import.
USES_TENSORFLOW = False


def add_parser(subparsers):
    from ..hints import EXERCISES

    parser = subparsers.add_parser(
        "hint",
        help="print the hint for one exercise",
        description="Print the hint for one exercise, the same text the graded tests show "
        "above a failure.",
    )
    parser.add_argument("exercise", metavar="EXERCISE",
                        help=f"the exercise: {', '.join(EXERCISES)}")
    return parser


def run(args):
    from ..hints import get_hint

    try:
        hint = get_hint(args.exercise)
    except KeyError as error:
        raise UsageError(error.args[0]) from None
    print(hint.render())
    return 0
