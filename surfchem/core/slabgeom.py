"""Slab geometry helpers shared by build, relax and trust (plain functions over ASE ``Atoms``)."""

from __future__ import annotations

import numpy as np
from ase import Atoms


def slab_layers(atoms: Atoms, tol_A: float = 0.6) -> list[np.ndarray]:
    """Indices of the inorganic slab atoms grouped in atomic layers, bottom to top.

    Parameters
    ----------
    atoms : ase.Atoms
        A slab; atoms with a ``ligand_index`` array value >= 0 (ligand atoms) are left out.
    tol_A : float, default 0.6
        A gap in z larger than this starts a new layer, Å.

    Returns
    -------
    list of numpy.ndarray
        Atom indices of each layer, bottom to top.
    """
    lig = atoms.arrays.get("ligand_index", np.full(len(atoms), -1))
    idx = np.flatnonzero(lig < 0)
    if len(idx) == 0:
        return []
    z = atoms.positions[idx, 2]
    order = np.argsort(z)
    layers, current = [], [idx[order[0]]]
    for a, b in zip(order[:-1], order[1:], strict=True):
        if z[b] - z[a] > tol_A:
            layers.append(np.array(current))
            current = []
        current.append(idx[b])
    layers.append(np.array(current))
    return layers
