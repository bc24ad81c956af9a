"""The command line: ``python -m lab <command> [options]``.

Each command lives in its own module under ``lab.commands`` and provides
``add_parser(subparsers)`` and ``run(args) -> int``. Errors a user can fix (bad
options, bad data, an unfinished exercise) end as one line on stderr and exit code 2.
"""

import argparse
import importlib
import logging
import sys

from .quiet_tensorflow import import_tensorflow

# Listed in the order ``--help`` shows them.
COMMANDS = ("run", "grade", "depth", "hint", "doctor", "watch")


class UsageError(Exception):
    """A problem the user can fix: printed as one line, exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line and exit code 2, with no usage dump."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser():
    parser = ArgumentParser(
        prog="python -m lab",
        description="The vanishing-gradient lab: run the experiment, grade exercises, "
        "and explore why saturated activations stop learning.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    subparsers.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"lab.commands.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"lab.commands.{name}":
                raise
            continue
        command_parser = module.add_parser(subparsers)
        # A command that never touches TensorFlow sets USES_TENSORFLOW = False and
        # skips its 5-second import.
        # A command may also provide check_args(args), which rejects contradictory
        # options before that import, so a usage error comes back at once.
        command_parser.set_defaults(
            handler=module.run,
            uses_tensorflow=getattr(module, "USES_TENSORFLOW", True),
            check_args=getattr(module, "check_args", None),
        )
    return parser


def main(argv=None):
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the command, return its exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.check_args is not None:
            args.check_args(args)
        if args.uses_tensorflow:
            import_tensorflow()
        return args.handler(args)
    except UsageError as error:
        print(f"{parser.prog} {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog} {args.command}: interrupted", file=sys.stderr)
        return 130
