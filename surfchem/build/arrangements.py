"""Symmetry-distinct ways to occupy n of the surface sites of a slab.

The site permutation group comes from the slab's own space-group operations (found with
`spglib <https://spglib.readthedocs.io>`_ on the bare slab in its periodic cell, which includes the
mirror through the middle of a symmetric slab and the in-plane lattice translations of the
primitive cell); nothing is hand-listed. An arrangement is the orbit of an n-subset of sites
under that group: we yield its canonical (lexicographically smallest) representative and the
orbit size (its multiplicity). For every n the multiplicities sum to C(n_sites, n).

Enumeration is a generator, in the style of icet's ``enumerate_structures``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from ase import Atoms

from surfchem.build.slab import inplane_distances, site_indices, site_positions, slab
from surfchem.errors import InputError


@dataclass(frozen=True)
class Arrangement:
    """One symmetry-distinct occupation of the surface sites.

    Attributes
    ----------
    sites : tuple of int
        Sorted site numbers holding a ligand.
    multiplicity : int
        Number of site sets equivalent to ``sites`` under the slab's symmetry (the
        multiplicities of all arrangements of n sum to C(n_sites, n)).
    index : int
        Position in the order :func:`arrangements` yields (the ``--arrangement`` number).
    """

    sites: tuple[int, ...]
    multiplicity: int
    index: int = 0  # position in the enumeration order for this n

    def as_dict(self) -> dict:
        """``sites``, ``multiplicity`` and ``index`` as a plain dict.

        Returns
        -------
        dict
        """
        return {"sites": list(self.sites), "multiplicity": self.multiplicity, "index": self.index}


def site_permutations(atoms: Atoms, symprec: float = 1e-3) -> np.ndarray:
    """Permutations of the surface sites induced by the slab's symmetry operations.

    Only operations that map the whole slab onto itself are used (spglib), so the result is a
    group. Ligands already present are ignored: pass the bare slab.

    Parameters
    ----------
    atoms : ase.Atoms
        The bare slab (every site holds its A cation).
    symprec : float, default 1e-3
        spglib symmetry tolerance, Å.

    Returns
    -------
    numpy.ndarray of int
        Shape (n_ops, n_sites): row g maps site s to site ``perm[g, s]`` (duplicates removed; 16
        rows for the 2x2 5-layer slab).

    Raises
    ------
    surfchem.errors.InputError
        If a site is occupied or spglib finds no symmetry.
    """
    import spglib

    idx = site_indices(atoms)
    if (idx < 0).any():
        raise InputError("site_permutations needs the bare slab (all surface sites occupied by A)")
    cell = (atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers)
    sym = spglib.get_symmetry(cell, symprec=symprec)
    if sym is None:
        raise InputError("spglib found no symmetry for this slab; check the structure")
    frac = atoms.get_scaled_positions()[idx]
    perms = []
    for rot, trans in zip(sym["rotations"], sym["translations"], strict=True):
        new = frac @ rot.T + trans
        diff = new[:, None, :] - frac[None, :, :]
        diff -= np.round(diff)
        dist = np.linalg.norm(diff @ atoms.cell[:], axis=2)
        match = dist < 1e-2 + symprec * 10
        if not (match.sum(axis=1) == 1).all():
            continue
        perms.append(match.argmax(axis=1))
    perms_arr = np.unique(np.array(perms, dtype=int), axis=0)
    return perms_arr


@lru_cache(maxsize=32)
def _orbits(perms_key: bytes, n_ops: int, n_sites: int, n: int) -> tuple[tuple[tuple[int, ...], int], ...]:
    perms = np.frombuffer(perms_key, dtype=np.int64).reshape(n_ops, n_sites)
    seen: dict[tuple[int, ...], int] = {}
    order: list[tuple[int, ...]] = []
    for combo in itertools.combinations(range(n_sites), n):
        images = {tuple(sorted(int(s) for s in perm[list(combo)])) for perm in perms} if n else {()}
        canon = min(images)
        if canon not in seen:
            seen[canon] = len(images)
            order.append(canon)
    return tuple((c, seen[c]) for c in order)


def arrangements(n: int, atoms: Atoms | None = None, symprec: float = 1e-3) -> Iterator[Arrangement]:
    """Yield the symmetry-distinct arrangements of ``n`` ligands on the surface sites.

    Parameters
    ----------
    n : int
        Number of ligands, 0..n_sites.
    atoms : ase.Atoms, optional
        The bare slab (default: the reference slab, CsPbBr3 2x2 with 5 layers: 8 sites).
    symprec : float, default 1e-3
        spglib symmetry tolerance, Å.

    Yields
    ------
    Arrangement
        Site tuple, multiplicity and index, in a fixed order.

    Raises
    ------
    surfchem.errors.InputError
        If ``n`` is not an integer in 0..n_sites.

    Examples
    --------
    >>> from surfchem import arrangements
    >>> [a.multiplicity for a in arrangements(1)]  # doctest: +SKIP
    [8]
    """
    if atoms is None:
        atoms = slab()
    n_sites = len(atoms.info["surface_faces"])
    if isinstance(n, bool) or int(n) != n or not 0 <= n <= n_sites:
        raise InputError(f"n must be an integer in 0..{n_sites} (number of surface sites), got {n!r}")
    perms = site_permutations(atoms, symprec=symprec).astype(np.int64)
    for k, (sites, mult) in enumerate(_orbits(perms.tobytes(), len(perms), n_sites, int(n))):
        yield Arrangement(sites=sites, multiplicity=mult, index=k)


def check_multiplicities(n: int, arrs: list[Arrangement], n_sites: int) -> None:
    """Raise if the multiplicities do not sum to C(n_sites, n) (a consistency guard).

    Parameters
    ----------
    n : int
        Ligands per slab.
    arrs : list of Arrangement
        All arrangements of ``n`` ligands.
    n_sites : int
        Surface sites of the slab.

    Raises
    ------
    AssertionError
        The multiplicities do not sum to C(n_sites, n).
    """
    total = sum(a.multiplicity for a in arrs)
    if total != math.comb(n_sites, n):
        raise AssertionError(f"multiplicities sum to {total}, expected C({n_sites},{n})")


def identify(sites: tuple[int, ...] | list[int], perms: np.ndarray) -> Arrangement:
    """The arrangement of ``sites``: canonical sites, multiplicity and index among those of its n.

    Parameters
    ----------
    sites : tuple or list of int
        Occupied site numbers.
    perms : numpy.ndarray
        Site permutations of the slab's symmetry (:func:`site_permutations`).

    Returns
    -------
    Arrangement

    Raises
    ------
    surfchem.errors.InputError
        ``sites`` is not an arrangement of this slab.
    """
    sites = tuple(sorted(int(s) for s in sites))
    n_sites = perms.shape[1]
    p = perms.astype(np.int64)
    for arr_ in (Arrangement(c, m, k) for k, (c, m) in
                 enumerate(_orbits(p.tobytes(), len(p), n_sites, len(sites)))):
        images = {tuple(sorted(int(s) for s in perm[list(sites)])) for perm in p} if sites else {()}
        if arr_.sites in images:
            return arr_
    raise InputError(f"sites {sites} are not an arrangement of this slab")  # pragma: no cover


def grow_order(atoms: Atoms, occupied: list[int] | tuple[int, ...] = ()) -> list[int]:
    """Order in which :func:`surfchem.campaign.screen.screen` (mode ``grow``) fills the sites.

    Greedy and deterministic: the next ligand goes to the face holding fewer ligands (top first
    on a tie), on the free site farthest (minimum-image, in plane) from the ligands already on
    that face; ties go to the lowest site number. For the 2x2 reference slab this gives
    0, 4, 3, 7, 1, 5, 2, 6: each face-equivalent pair of steps (1-2, 3-4, 5-6, 7-8) fills the same
    kind of site on the two faces, so their dG must agree (a free consistency check).

    Parameters
    ----------
    atoms : ase.Atoms
        A slab with its surface sites (``info['site_positions']``, ``info['surface_faces']``).
    occupied : list or tuple of int, default ()
        Sites already holding a ligand (they count as filled and are not returned).

    Returns
    -------
    list of int
        The other sites, in fill order.
    """
    faces = list(atoms.info["surface_faces"])
    pos = site_positions(atoms)
    occ = [int(s) for s in occupied]
    order: list[int] = []
    while len(occ) < len(faces):
        free = [s for s in range(len(faces)) if s not in occ]
        counts = {f: sum(1 for s in occ if faces[s] == f) for f in ("top", "bottom")}
        face_free = [f for f in ("top", "bottom") if any(faces[s] == f for s in free)]
        face = min(face_free, key=lambda f: counts[f])

        def score(s: int, face: str = face) -> float:
            others = [o for o in occ if faces[o] == face]
            if not others:
                return np.inf
            return float(inplane_distances(pos[others], pos[s], atoms.cell).min())

        cands = [s for s in free if faces[s] == face]
        best = max(cands, key=lambda s: (score(s), -s))
        occ.append(best)
        order.append(best)
    return order
