"""Content hashes of tasks: structure + calculator parameters + relax settings + code version.

A finished hash is never recomputed; change any input and the hash (hence the work) changes.
Positions are rounded to 1e-5 Å so that a structure read back from a database hashes the same.

The key form (one definition, :func:`hash_key`): ``"h"`` + the first 20 hex digits of the
SHA-256. A bare hex string can look like a number (``47796399829704e90292`` reads as 4.8e103,
``01234567890123456789`` as an integer), which ASE's database refuses as a string value and which
pandas turns into a float when it reads ``results.csv``; the leading letter makes every key a
string for every reader. Keys written by versions before the prefix (bare hex) are still found:
:func:`key_forms` lists both forms of a key.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import numpy as np
from ase import Atoms

#: bump when a change of code alters results (invalidates every cached task)
#: surfchem-2: minima must be physically valid (clash-checked starts, rejected holes, relaxations
#: continued past the step limit), which changes what a search or relaxation task returns
HASH_VERSION = "surfchem-2"

#: first character of every task key: a letter, so no reader takes a key for a number
HASH_PREFIX = "h"
_HEX20 = re.compile(r"^[0-9a-f]{20}$")


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
    """Plain-data identity of a structure for task hashes.

    Parameters
    ----------
    atoms : ase.Atoms

    Returns
    -------
    dict
        ``symbols``, ``positions`` (Å, rounded to 1e-5), ``cell`` (Å, rounded), ``pbc``.
    """
    return {
        "symbols": atoms.get_chemical_symbols(),
        "positions": np.round(atoms.positions, 5).tolist(),
        "cell": np.round(atoms.cell[:], 5).tolist(),
        "pbc": [bool(p) for p in atoms.pbc],
    }


def hash_key(digest: str) -> str:
    """The stored key of a content hash: ``HASH_PREFIX`` + 20 hex digits (idempotent).

    Parameters
    ----------
    digest : str
        A content hash (20 hex digits), with or without the prefix.

    Returns
    -------
    str
        The key.

    Examples
    --------
    >>> hash_key("47796399829704e90292")
    'h47796399829704e90292'
    >>> hash_key(hash_key("47796399829704e90292"))
    'h47796399829704e90292'
    """
    digest = str(digest).strip()
    return HASH_PREFIX + digest if _HEX20.match(digest) else digest


def key_forms(key: str) -> list[str]:
    """The forms under which a task key may be stored.

    Parameters
    ----------
    key : str
        A task key (with or without the prefix).

    Returns
    -------
    list of str
        The current form first, then the bare hex digest written before the prefix existed
        (results of older versions stay readable).
    """
    key = hash_key(key)
    forms = [key]
    if key.startswith(HASH_PREFIX) and _HEX20.match(key[len(HASH_PREFIX):]):
        forms.append(key[len(HASH_PREFIX):])
    return forms


def task_hash(atoms: Atoms | None, calculator: dict[str, Any], settings: dict[str, Any]) -> str:
    """Key of a task's full input: :func:`hash_key` of its SHA-256 (20 hex digits).

    Parameters
    ----------
    atoms : ase.Atoms or None
        The task's structure (None for tasks without one).
    calculator : dict
        Calculator preset and parameters.
    settings : dict
        Every other setting that changes the result (relaxation, search, ...).

    Returns
    -------
    str
    """
    return hash_key(digest(atoms, calculator, settings))


def digest(atoms: Atoms | None, calculator: dict[str, Any], settings: dict[str, Any]) -> str:
    """SHA-256 (hex, 20 chars) of a task's full input.

    Parameters
    ----------
    atoms : ase.Atoms or None
        The task's structure (None for tasks without one).
    calculator : dict
        Calculator preset and parameters.
    settings : dict
        Every other setting that changes the result.

    Returns
    -------
    str
    """
    payload = {
        "version": HASH_VERSION,
        "structure": structure_fingerprint(atoms) if atoms is not None else None,
        "calculator": _canonical(calculator),
        "settings": _canonical(settings),
    }
    blob = json.dumps(_canonical(payload), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:20]
