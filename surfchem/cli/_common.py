"""Small helpers shared by the CLI modules (output only; no science here)."""

from __future__ import annotations

import json
import math
import sys
from typing import Any


def _clean(obj: Any) -> Any:
    """Make numpy scalars/arrays and NaN JSON-safe (NaN/inf -> null)."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        np = None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if np is not None:
        if isinstance(obj, np.ndarray):
            return _clean(obj.tolist())
        if isinstance(obj, np.generic):
            obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout.

    Parameters
    ----------
    obj : object
        JSON-able data (numpy and pandas values are converted).
    """
    json.dump(_clean(obj), sys.stdout, indent=2)
    sys.stdout.write("\n")
