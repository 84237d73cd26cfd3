"""``surfchem`` entry point: builds the argparse tree from the subcommand modules.

Each module in :data:`SUBCOMMANDS` exposes ``register(subparsers)`` which adds its parser(s) and
sets ``func`` (called with the parsed namespace, returns an exit code). A :class:`SurfchemError`
is printed as one line on stderr with exit code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from surfchem import __version__
from surfchem.errors import SurfchemError

#: subcommand modules under ``surfchem.cli`` (imported at start-up; keep them light)
SUBCOMMANDS: tuple[str, ...] = ("build", "screen", "campaign", "photons", "link", "thermo", "validate")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="surfchem",
        description="Surface chemistry of perovskite quantum dots and single-dot photon statistics.",
    )
    parser.add_argument("--version", action="version", version=f"surfchem {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"surfchem.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"surfchem.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SurfchemError as exc:
        if args.debug:
            raise
        print(f"surfchem: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("surfchem: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
