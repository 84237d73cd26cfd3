"""``surfchem`` entry point: builds the argparse tree from the subcommand modules.

Each module under ``surfchem.cli`` exposes ``register(subparsers)`` which adds its parser(s) and
sets ``func`` (called with the parsed namespace, returns an exit code). A :class:`SurfchemError`
is printed as one line on stderr with exit code 2; ``--debug`` shows the traceback instead.

Only the module of the command being run is imported (:data:`COMMANDS`), so ``surfchem photons``
runs with the photons half installed alone (``pip install 'surfchem[photons]'``); ``surfchem
--help`` imports them all and lists a command whose packages are missing with the install line.
A package missing at run time is reported as one line naming the extra to install.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from surfchem import __version__
from surfchem.errors import SurfchemError

#: top-level command -> (module under ``surfchem.cli`` that registers it, extra it needs)
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("build", "all"),
    "arrangements": ("build", "all"),
    "screen": ("screen", "all"),
    "campaign": ("campaign", "all"),
    "photons": ("photons", "photons"),
    "link": ("link", "all"),
    "thermo": ("thermo", "all"),
    "validate": ("validate", "all"),
}


class MissingDependency(SurfchemError):
    """A command needs a third-party package that is not installed (names the extra to install)."""

    def __init__(self, command: str, exc: ModuleNotFoundError):
        extra = COMMANDS[command][1]
        super().__init__(
            f"'surfchem {command}' needs the package {exc.name.split('.')[0]!r}, which is not "
            f"installed; install it with: pip install 'surfchem[{extra}]'"
        )


def _is_missing_package(exc: ModuleNotFoundError) -> bool:
    """True when ``exc`` is a third-party package that is not installed (not a surfchem bug)."""
    return bool(exc.name) and exc.name.split(".")[0] != "surfchem"


def _command(argv: list[str]) -> str | None:
    """The command named on the command line (global options take no values), else None."""
    return next((a for a in argv if not a.startswith("-")), None)


def make_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with a known ``command``, only that command's module is imported.

    Parameters
    ----------
    command : str or None
        The subcommand on the command line, if known.

    Returns
    -------
    argparse.ArgumentParser
        The ``surfchem`` parser.

    Raises
    ------
    MissingDependency
        ``command``'s module needs a package that is not installed.
    """
    parser = argparse.ArgumentParser(
        prog="surfchem",
        description="Surface chemistry of perovskite quantum dots and single-dot photon statistics.",
    )
    parser.add_argument("--version", action="version", version=f"surfchem {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    wanted = [command] if command in COMMANDS else list(COMMANDS)
    for module_name in dict.fromkeys(COMMANDS[c][0] for c in wanted):
        try:
            module = importlib.import_module(f"surfchem.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if not _is_missing_package(exc):
                raise
            if command in COMMANDS:
                raise MissingDependency(command, exc) from exc
            for name, (mod, extra) in COMMANDS.items():
                if mod == module_name:
                    sub.add_parser(name, help=f"(not installed: pip install 'surfchem[{extra}]')")
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``surfchem`` command: parse ``argv`` and run the subcommand.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit code: 0 success, 1 failed work, 2 bad input or a missing dependency.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command(argv)
    debug = "--debug" in (argv[: argv.index(command)] if command else argv)  # a global option
    try:
        parser = make_parser(command)
        args = parser.parse_args(argv)
        try:
            return int(args.func(args) or 0)
        except ModuleNotFoundError as exc:
            if not _is_missing_package(exc) or args.command not in COMMANDS:
                raise
            raise MissingDependency(args.command, exc) from exc
    except SurfchemError as exc:
        if debug:
            raise
        print(f"surfchem: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("surfchem: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
