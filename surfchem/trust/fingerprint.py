"""Structure fingerprints invariant to rigid rotation, translation and atom order.

For each unordered element pair (A, B) we histogram all minimum-image A-B distances up to
``cutoff_A`` with Gaussian smearing (width ``sigma_A``) on a fixed grid, normalised per atom; the
fingerprint is the concatenation over pairs (a "sorted distance histogram", cf. Oganov & Valle,
J. Chem. Phys. 130, 104504 (2009)). Two minima are duplicates when their energies differ by less
than ``energy_tol_eV`` and their fingerprints by less than ``fp_tol`` (cosine distance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms


def fingerprint(atoms: Atoms, cutoff_A: float = 6.0, sigma_A: float = 0.1, bins: int = 120) -> np.ndarray:
    """Concatenated smeared pair-distance histograms (module docstring).

    Parameters
    ----------
    atoms : ase.Atoms
    cutoff_A : float, default 6.0
        Largest distance histogrammed, Å.
    sigma_A : float, default 0.1
        Gaussian smearing, Å.
    bins : int, default 120
        Grid points per element pair.

    Returns
    -------
    numpy.ndarray
        Shape (n_pairs * bins,), normalised per atom.
    """
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", atoms, cutoff_A)
    z = atoms.numbers
    species = sorted(set(z))
    grid = np.linspace(0.0, cutoff_A, bins)
    parts = []
    for a_idx, a in enumerate(species):
        for b in species[a_idx:]:
            mask = ((z[i] == a) & (z[j] == b)) & (i < j) if a == b else (z[i] == a) & (z[j] == b)
            dist = d[mask]
            if len(dist):
                h = np.exp(-0.5 * ((grid[None, :] - dist[:, None]) / sigma_A) ** 2).sum(axis=0)
            else:
                h = np.zeros(bins)
            parts.append(h / len(atoms))
    return np.concatenate(parts)


def fp_distance(f1: np.ndarray, f2: np.ndarray) -> float:
    """Cosine distance between two fingerprints (0 = identical).

    Parameters
    ----------
    f1, f2 : numpy.ndarray
        From :func:`fingerprint`.

    Returns
    -------
    float
    """
    n1, n2 = np.linalg.norm(f1), np.linalg.norm(f2)
    if n1 == 0 or n2 == 0:
        return 0.0 if n1 == n2 else 1.0
    return float(max(0.0, 1.0 - f1 @ f2 / (n1 * n2)))


@dataclass
class Minimum:
    """A distinct minimum found by a search.

    Attributes
    ----------
    energy_eV : float
        eV.
    atoms : ase.Atoms
    fp : numpy.ndarray
        Smeared pair-distance fingerprint (invariant to rotation, translation and atom order).
    hits : int
        Starts that ended in this minimum.
    start : int
        Index of the first start that found it.
    """
    energy_eV: float
    atoms: Atoms
    fp: np.ndarray
    hits: int = 1
    start: int = 0


def deduplicate(structures: Sequence[tuple[float, Atoms]], energy_tol_eV: float = 0.02,
                fp_tol: float = 1e-3, start_ids: Sequence[int] | None = None) -> list[Minimum]:
    """Distinct minima, sorted by energy.

    Two structures are the same minimum when their energies differ by less than ``energy_tol_eV``
    and their fingerprints by less than ``fp_tol``; the lower energy is kept.

    Parameters
    ----------
    structures : sequence of (float, ase.Atoms)
        Energy (eV; NaN entries are skipped) and structure of each relaxed start.
    energy_tol_eV : float, default 0.02
        eV.
    fp_tol : float, default 1e-3
        Cosine distance of the fingerprints.
    start_ids : sequence of int, optional
        Start index of each input (default: its position).

    Returns
    -------
    list of Minimum
        ``hits`` counts how many inputs fell on each.
    """
    minima: list[Minimum] = []
    for k, (e, at) in enumerate(structures):
        if not np.isfinite(e):
            continue
        fp = fingerprint(at)
        for m in minima:
            if abs(m.energy_eV - e) < energy_tol_eV and fp_distance(m.fp, fp) < fp_tol:
                m.hits += 1
                if e < m.energy_eV:
                    m.energy_eV, m.atoms = e, at
                break
        else:
            minima.append(Minimum(e, at, fp, 1, start_ids[k] if start_ids is not None else k))
    return sorted(minima, key=lambda m: m.energy_eV)
