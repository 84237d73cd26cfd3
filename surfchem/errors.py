"""One exception hierarchy for surfchem.

Every error raised on bad user input is a :class:`SurfchemError`; its message names the input
that was wrong and what would be right. The CLI prints such errors as one line and exits 2.
"""

from __future__ import annotations


class SurfchemError(Exception):
    """Base class of every error surfchem raises on purpose.

    Its message names the input that was wrong and what would be right; the CLI prints it as one
    line (``surfchem: error: ...``) and exits with status 2.
    """


class InputError(SurfchemError, ValueError):
    """A user-supplied value is invalid (names the value and the accepted range/choices)."""


class CalculatorError(SurfchemError, RuntimeError):
    """A calculator failed (SCF not converged, missing package, unknown preset)."""


class ConvergenceError(SurfchemError, RuntimeError):
    """An optimisation or fit did not converge within its budget."""


class FileFormatError(InputError):
    """An input file is truncated, has a wrong magic or an unsupported record type.

    A bad input file is bad user input, so this is an :class:`InputError` too.
    """
