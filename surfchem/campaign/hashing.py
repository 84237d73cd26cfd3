"""Content hashes of tasks: structure + calculator parameters + relax settings + code version.

A finished hash is never recomputed; change any input and the hash (hence the work) changes.
Positions are rounded to 1e-5 Å so that a structure read back from a database hashes the same.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
from ase import Atoms

#: bump when a change of code alters results (invalidates every cached task)
HASH_VERSION = "surfchem-1"


def _canonical(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in sorted(obj.items())}
    if isinstance(obj, list | tuple):
        return [_canonical(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float):
        return round(obj, 10)
    return obj


def structure_fingerprint(atoms: Atoms) -> dict[str, Any]:
    return {
        "symbols": atoms.get_chemical_symbols(),
        "positions": np.round(atoms.positions, 5).tolist(),
        "cell": np.round(atoms.cell[:], 5).tolist(),
        "pbc": [bool(p) for p in atoms.pbc],
    }


def task_hash(atoms: Atoms | None, calculator: dict[str, Any], settings: dict[str, Any]) -> str:
    """SHA-256 (hex, 20 chars) of a task's full input."""
    payload = {
        "version": HASH_VERSION,
        "structure": structure_fingerprint(atoms) if atoms is not None else None,
        "calculator": _canonical(calculator),
        "settings": _canonical(settings),
    }
    blob = json.dumps(_canonical(payload), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:20]
