"""Moves that make the starts of a minimum search from one ligand-capped slab.

:func:`perturb` turns every ligand rigidly about the surface normal through its N by a random
angle free of overlaps (up to ``_ROTATION_TRIES`` random angles, else the ligand keeps its
orientation; overlaps as in :func:`surfchem.trust.sanity.close_contacts`), sets the depth of its
N below the outermost inorganic layer (the soft coordinate of prototype lesson 1, docs
"Trustworthy minima": NH3+ heads sat 0.6-1.9 Å deep in the A-site pocket) and rattles all atoms.
Absolute depths are for heads with N-H (their hydrogen bonds pull the N into the pocket); a head
without N-H (quaternary R4N+) is instead moved by an offset from its depth in the given structure
(a quaternary head 1.6 Å into the pocket would have its methyls in the Br layer).
:func:`anneal` runs Langevin MD (ASE) before a start is quenched by the relaxation.
The schedule of starts is :func:`surfchem.trust.search.perturbed_starts`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms

from surfchem.build.ligands import acidic_hydrogens
from surfchem.core.slabgeom import slab_layers
from surfchem.trust.sanity import close_contacts

#: random angles tried per ligand in a perturbed start before it keeps its orientation
_ROTATION_TRIES = 24


def ligand_atoms(atoms: Atoms) -> list[np.ndarray]:
    """Atom indices of each ligand (``ligand_index`` >= 0), in ligand order.

    Parameters
    ----------
    atoms : ase.Atoms
        A decorated slab.

    Returns
    -------
    list of numpy.ndarray
        One index array per ligand; empty without ``ligand_index`` labels.
    """
    lig = atoms.arrays.get("ligand_index")
    if lig is None:
        return []
    return [np.flatnonzero(lig == k) for k in sorted(set(lig[lig >= 0]))]


def surface_planes(atoms: Atoms) -> tuple[float, float]:
    """Heights of the two outermost inorganic layers.

    Parameters
    ----------
    atoms : ase.Atoms
        A (decorated) slab.

    Returns
    -------
    bottom_A, top_A : float
        z of the bottom and the top outermost inorganic layer, Å.
    """
    layers = slab_layers(atoms)
    z = atoms.positions[:, 2]
    return float(z[layers[0]].mean()), float(z[layers[-1]].mean())


def head_depths(atoms: Atoms) -> list[float]:
    """Depth of each ligand's N below the outermost inorganic layer of its face.

    Parameters
    ----------
    atoms : ase.Atoms
        A decorated slab (``ligand_index`` labels).

    Returns
    -------
    list of float
        One depth per ligand, Å (+ = inside the slab, into the A-site pocket).
    """
    bottom, top = surface_planes(atoms)
    mid = (bottom + top) / 2
    out = []
    for idx in ligand_atoms(atoms):
        n = idx[[atoms.symbols[i] == "N" for i in idx]][0]
        z = atoms.positions[n, 2]
        out.append(top - z if z > mid else z - bottom)
    return out


def perturb(atoms: Atoms, depth_A: float | None, rng: np.random.Generator, rotate: bool = True,
            rattle_A: float = 0.0, offset_A: float | None = None) -> Atoms:
    """Copy of ``atoms`` with every ligand turned about the normal and moved along it.

    Parameters
    ----------
    atoms : ase.Atoms
        A decorated slab.
    depth_A : float or None
        Depth of the N below the outermost inorganic layer for ligands whose head has N-H, Å
        (+ = into the A-site pocket); None leaves them at their depth.
    rng : numpy.random.Generator
        Random source of the angles and the rattle.
    rotate : bool, default True
        Turn each ligand about the normal through its N by a random angle free of overlaps.
    rattle_A : float, default 0.0
        Standard deviation of a Gaussian rattle of all atoms afterwards, Å.
    offset_A : float, optional
        Shift of the N of ligands whose head has no N-H (quaternary) from their depth in
        ``atoms``, Å (+ = deeper); None applies ``depth_A`` to them too (absolute).

    Returns
    -------
    ase.Atoms
    """
    out = atoms.copy()
    bottom, top = surface_planes(out)
    mid = (bottom + top) / 2
    acid = acidic_hydrogens(out)
    for idx in ligand_atoms(out):
        n = idx[[out.symbols[i] == "N" for i in idx]][0]
        pivot = out.positions[n].copy()
        outward = 1.0 if pivot[2] > mid else -1.0
        shift = 0.0
        if offset_A is not None and not acid[idx].any():
            shift = -outward * offset_A
        elif depth_A is not None:
            target = top - depth_A if outward > 0 else bottom + depth_A
            shift = target - pivot[2]
        original = out.positions[idx].copy()
        tries = _ROTATION_TRIES if rotate else 1
        for t in range(tries):
            pos = original.copy()
            if rotate:
                th = rng.uniform(0, 2 * np.pi)
                c, s = np.cos(th), np.sin(th)
                rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
                pos = (pos - pivot) @ rot.T + pivot
            pos[:, 2] += shift
            out.positions[idx] = pos
            if not _ligand_contacts(out, idx):
                break
            if t == tries - 1:  # no free angle: keep the orientation it had (depth still set)
                out.positions[idx] = original + np.array([0.0, 0.0, shift])
    if rattle_A > 0:
        out.positions += rng.normal(0, rattle_A, out.positions.shape)
    return out


def _ligand_contacts(atoms: Atoms, idx: np.ndarray) -> bool:
    """Does the ligand made of atoms ``idx`` overlap another fragment?"""
    members = set(int(i) for i in idx)
    return any(i in members or j in members for i, j, _ in close_contacts(atoms))


def anneal(atoms: Atoms, calc: Any, steps: int, T_K: float, seed: int) -> Atoms:
    """Copy of ``atoms`` after Langevin MD (1 fs steps, friction 0.02), velocities zeroed.

    Parameters
    ----------
    atoms : ase.Atoms
        The start structure (not modified).
    calc : ase.calculators.calculator.Calculator
        Calculator of the MD.
    steps : int
        MD steps of 1 fs.
    T_K : float
        Temperature of the Maxwell-Boltzmann start velocities and the thermostat, K.
    seed : int
        Random seed of the velocities and the Langevin noise.

    Returns
    -------
    ase.Atoms
        The annealed structure, without calculator.
    """
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    work = atoms.copy()
    work.calc = calc
    MaxwellBoltzmannDistribution(work, temperature_K=T_K, rng=np.random.default_rng(seed))
    dyn = Langevin(work, 1.0 * units.fs, temperature_K=T_K, friction=0.02, rng=np.random.default_rng(seed))
    dyn.run(steps)
    work.calc = None
    work.set_velocities(np.zeros_like(work.positions))
    return work
