"""Steric descriptors of a ligand-capped slab: chain density per face, tail-tail contacts, tilt.

Pure functions over a decorated slab (ASE ``Atoms`` with the per-atom array ``ligand_index``:
-1 for the inorganic slab, k >= 0 for the atoms of ligand k, as written by
:func:`surfchem.build.decorate.decorate`). A *chain* is a tail of
:func:`surfchem.build.ligands.tails`: a heavy-atom branch off the ammonium N with at least two
carbons (a methyl is not one), so dodecylammonium carries one chain and didodecyldimethylammonium
(the paper's DDA) two.

Close packing (:data:`CLOSE_PACKED_CHAINS_NM2`): all-trans polymethylene chains packed side by
side in crystalline polyethylene (orthorhombic, a = 7.41 Å, b = 4.94 Å, two chains per cell:
18.3 Å^2 per chain; C. W. Bunn, Trans. Faraday Soc. 35, 482 (1939)) reach 5.5 chains nm^-2, the
densest an alkyl layer can be; alkanethiol monolayers on Au(111) sit at 21.4 Å^2 per chain,
4.7 nm^-2 (J. C. Love et al., Chem. Rev. 105, 1103 (2005)). A full layer of two-tailed DDA on the
(100) facet "would require an aliphatic chain density of ~5.7 chains nm^-2" (Mi et al., Nat.
Commun. 2025; science brief, section 1), above that limit: ``flag_overpacked`` marks a face
denser than close packing. It is informational, not a validity flag: such a layer must tilt,
interdigitate with vacuum or kink its tails, and that cost is part of the physics screened.
"""

from __future__ import annotations

import math

import numpy as np
from ase import Atoms

from surfchem.build.ligands import tails
from surfchem.core.screendir import STERIC_COLUMNS  # defined with the results.csv columns

#: chains per nm^2 of close-packed all-trans alkyl chains (crystalline polyethylene, 18.3 Å^2
#: per chain; Bunn 1939, see the module docstring)
CLOSE_PACKED_CHAINS_NM2 = 5.5

#: contacts (Å) searched up to this distance; none closer gives NaN
CONTACT_CUTOFF_A = 8.0


def face_area_nm2(atoms: Atoms) -> float:
    """In-plane area |a x b| of the cell: the area of one face of the slab.

    Parameters
    ----------
    atoms : ase.Atoms
        A slab.

    Returns
    -------
    float
        nm².
    """
    cell = atoms.cell[:]
    return float(np.linalg.norm(np.cross(cell[0], cell[1]))) / 100.0


def ligand_molecules(atoms: Atoms) -> list[tuple[np.ndarray, Atoms, int]]:
    """Each ligand of a decorated slab, cut out and made whole across the periodic boundary.

    The face is the side of the inorganic slab's mid-plane (mean z of ``ligand_index`` = -1
    atoms) the N sits on; the N is the ligand's only N (ammonium head).

    Parameters
    ----------
    atoms : ase.Atoms
        A decorated slab.

    Returns
    -------
    list of tuple of (numpy.ndarray, ase.Atoms, int)
        Per ligand: its atom indices in ``atoms``, the molecule (positions = its N +
        minimum-image vectors, Å), and +1 for a top-face / -1 for a bottom-face ligand. Empty
        without ligands.
    """
    from ase.geometry import find_mic

    lig = atoms.arrays.get("ligand_index")
    if lig is None or not (lig >= 0).any():
        return []
    inorganic = lig < 0
    mid = float(atoms.positions[inorganic, 2].mean()) if inorganic.any() else float(atoms.positions[:, 2].mean())
    sym = np.array(atoms.get_chemical_symbols())
    out = []
    for k in sorted(set(lig[lig >= 0].tolist())):
        idx = np.flatnonzero(lig == k)
        n_local = [i for i, j in enumerate(idx) if sym[j] == "N"]
        if len(n_local) != 1:
            raise ValueError(f"ligand {k} has {len(n_local)} N atoms; expected one ammonium N")
        head = atoms.positions[idx[n_local[0]]]
        vec, _ = find_mic(atoms.positions[idx] - head, atoms.cell, atoms.pbc)
        mol = Atoms(sym[idx], positions=head + vec)
        mol.info["head_index"] = n_local[0]
        out.append((idx, mol, 1 if head[2] > mid else -1))
    return out


def chain_axis(positions: np.ndarray, outward: np.ndarray) -> np.ndarray:
    """Unit axis of one chain from the positions of its heavy atoms.

    The principal axis (largest-variance direction; the bond for two atoms), pointing along
    ``outward``.

    Parameters
    ----------
    positions : numpy.ndarray
        Heavy-atom positions (n, 3), Å.
    outward : numpy.ndarray
        Direction the axis should point along (e.g. the face's normal).

    Returns
    -------
    numpy.ndarray
        Unit vector (3,).
    """
    centred = positions - positions.mean(axis=0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    return axis if axis @ outward >= 0 else -axis


def steric_descriptors(atoms: Atoms) -> dict[str, float | bool]:
    """Steric descriptors of a decorated slab (definitions in the module docstring).

    A slab without ligands has 0 chains, NaN contacts and tilt and no flag; an empty structure or
    one without an in-plane cell (a failed task's placeholder) has NaN everywhere.

    Parameters
    ----------
    atoms : ase.Atoms
        A decorated slab (per-atom array ``ligand_index``).

    Returns
    -------
    dict
        Keys :data:`STERIC_COLUMNS`: ``chains_top_nm2``, ``chains_bottom_nm2`` (tail chains of
        the ligands on each face per in-plane area, nm⁻², :func:`face_area_nm2`);
        ``tail_hh_min_A``, ``tail_cc_min_A`` (shortest H...H and C...C distance between tail
        atoms of different ligands, Å, minimum image; a ligand and its own periodic image count as
        different; NaN when none is within :data:`CONTACT_CUTOFF_A`); ``tail_tilt_deg`` (mean
        angle between each chain's axis, :func:`chain_axis`, and the outward normal of its face,
        degrees, 0 = upright; NaN without chains); ``flag_overpacked`` (bool: a face carries more
        than :data:`CLOSE_PACKED_CHAINS_NM2` chains per nm²).
    """
    from ase.neighborlist import neighbor_list

    area = face_area_nm2(atoms) if len(atoms) else 0.0
    if area <= 0:
        return {c: (False if c == "flag_overpacked" else math.nan) for c in STERIC_COLUMNS}
    n_chains = {1: 0, -1: 0}
    tilts = []
    tail_atom = np.zeros(len(atoms), dtype=bool)
    whole = atoms.copy()  # every ligand in one piece: a pair of its atoms across the boundary is
    for idx, mol, face in ligand_molecules(atoms):  # then always a contact with its own image
        whole.positions[idx] = mol.positions
        outward = np.array([0.0, 0.0, float(face)])
        for t in tails(mol):
            tail_atom[idx[t]] = True
            heavy = mol.positions[t[mol.numbers[t] > 1]]
            cos = float(chain_axis(heavy, outward) @ outward)
            tilts.append(math.degrees(math.acos(min(1.0, max(-1.0, cos)))))
            n_chains[face] += 1
    top, bottom = n_chains[1] / area, n_chains[-1] / area
    out = {"chains_top_nm2": top, "chains_bottom_nm2": bottom,
           "tail_hh_min_A": math.nan, "tail_cc_min_A": math.nan,
           "tail_tilt_deg": float(np.mean(tilts)) if tilts else math.nan,
           "flag_overpacked": bool(max(top, bottom) > CLOSE_PACKED_CHAINS_NM2)}
    if tail_atom.any():
        lig = atoms.get_array("ligand_index")
        i, j, d, shift = neighbor_list("ijdS", whole, CONTACT_CUTOFF_A)
        other = (lig[i] != lig[j]) | np.any(shift != 0, axis=1)
        pair = tail_atom[i] & tail_atom[j] & other
        z = atoms.numbers
        for key, element in (("tail_hh_min_A", 1), ("tail_cc_min_A", 6)):
            sel = pair & (z[i] == element) & (z[j] == element)
            if sel.any():
                out[key] = float(d[sel].min())
    return out
