"""Face operators for symmetric slabs: mirror one face onto the other, splice two faces.

A symmetric (odd-layer) slab has a mirror plane through its middle layer that maps every surface
site of one face onto the site with the same in-plane position on the other face. With the faces
far enough apart, a slab's energy is (nearly) the sum of two face states; the lowest minimum of
an N-ligand slab is then made of the lowest face states, which may have been found in different
structures. These operators build such starts (the "cut and splice" move of Deaven & Ho, Phys.
Rev. Lett. 75, 288 (1995), restricted to whole faces):

* :func:`mirror_slab`: the slab reflected through its middle plane (sites relabelled);
* :func:`splice_faces`: the top half of one slab joined to the bottom half of another (same
  in-plane cell), middle layer from the first; ``splice_faces(a, mirror_slab(a))`` is ``a``'s
  top face on both sides.

Halves are split at the middle layer's mean z; a ligand belongs to the half of its ammonium N.
The vacuum is re-measured from the outermost atoms (:func:`surfchem.build.decorate.set_vacuum`).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from surfchem.build.bulk import get_material
from surfchem.build.decorate import set_vacuum
from surfchem.build.slab import inplane_distances, site_positions
from surfchem.errors import InputError


def _middle(atoms: Atoms, half_width_A: float = 1.0) -> tuple[float, np.ndarray]:
    """z (Å) of the middle plane and the indices of the middle layer's atoms.

    The plane is the mean z of the B cations (Pb: their layers are symmetric about the middle and
    do not rumple much); the middle layer is every inorganic atom within ``half_width_A`` of it
    (the next layers are a0/2 ~ 3 Å away). Counting layers instead fails on relaxed slabs whose
    surface layers rumple into sub-layers (seen on PEA N = 8).
    """
    lig = atoms.arrays.get("ligand_index", np.full(len(atoms), -1))
    inorganic = np.flatnonzero(lig < 0)
    b = get_material(atoms.info.get("material", "CsPbBr3")).b
    bcat = [i for i in inorganic if atoms.symbols[i] == b]
    if not bcat:
        raise InputError("face operators need a perovskite slab (no B cations found)")
    z_mid = float(atoms.positions[bcat, 2].mean())
    mid = inorganic[np.abs(atoms.positions[inorganic, 2] - z_mid) < half_width_A]
    if len(mid) == 0:
        raise InputError("face operators need a slab with a middle layer (odd number of layers)")
    return z_mid, mid


def _partner_sites(atoms: Atoms) -> np.ndarray:
    """partner[s]: the site with the same in-plane position on the other face."""
    pos = site_positions(atoms)
    faces = atoms.info["surface_faces"]
    cell = atoms.cell[:2, :2]
    # nearest in-plane site on the other face (relaxed slabs carry relaxed site positions, so no
    # exact match is required; the pairing must be one to one and closer than a quarter cell)
    out = np.full(len(pos), -1, dtype=int)
    for s in range(len(pos)):
        other = np.array([t for t in range(len(pos)) if faces[t] != faces[s]])
        d = inplane_distances(pos[other], pos[s], atoms.cell)
        if d.min() < 0.25 * float(np.linalg.norm(cell, axis=1).min()):
            out[s] = other[int(np.argmin(d))]
    if (out < 0).any() or len(set(out.tolist())) != len(out):
        raise InputError("the slab's faces are not mirror images (no in-plane partner for every site)")
    return out


def _half_masks(atoms: Atoms, z_mid: float, mid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean masks (top half, bottom half, middle layer); ligands go with their N."""
    z = atoms.positions[:, 2]
    lig = atoms.arrays.get("ligand_index", np.full(len(atoms), -1))
    middle = np.zeros(len(atoms), bool)
    middle[mid] = True
    top = (z > z_mid) & ~middle & (lig < 0)
    bottom = (z < z_mid) & ~middle & (lig < 0)
    sym = np.array(atoms.get_chemical_symbols())
    for k in set(lig[lig >= 0].tolist()):
        members = lig == k
        n = np.flatnonzero(members & (sym == "N"))
        z_head = z[n[0]] if len(n) else z[members].mean()
        if z_head > z_mid:
            top |= members
        else:
            bottom |= members
    return top, bottom, middle


def mirror_slab(atoms: Atoms) -> Atoms:
    """``atoms`` reflected through the plane of its middle layer; site labels follow.

    Maps each surface site onto the one below it (the face operators of the consistency sweeps).

    Parameters
    ----------
    atoms : ase.Atoms
        A (decorated) symmetric slab.

    Returns
    -------
    ase.Atoms
    """

    z_mid, _ = _middle(atoms)
    partner = _partner_sites(atoms)
    out = atoms.copy()
    out.positions[:, 2] = 2 * z_mid - out.positions[:, 2]
    site = out.get_array("surface_site").copy()
    site[site >= 0] = partner[site[site >= 0]]
    out.set_array("surface_site", site)
    if "site_positions" in out.info:
        sp = np.asarray(out.info["site_positions"], float).reshape(-1, 3)
        out.info["site_positions"] = sp[partner].tolist()
    out.info["occupied_sites"] = sorted(int(partner[s]) for s in np.atleast_1d(atoms.info.get("occupied_sites", [])))
    set_vacuum(out, out.info.get("vacuum_A", 15.0))
    return out


def splice_faces(top_from: Atoms, bottom_from: Atoms) -> Atoms:
    """Top half (and middle layer) of ``top_from`` joined to the bottom half of ``bottom_from``.

    Whole-face cut and splice (Deaven & Ho, Phys. Rev. Lett. 75, 288 (1995)).

    Parameters
    ----------
    top_from, bottom_from : ase.Atoms
        Slabs with the same in-plane cell.

    Returns
    -------
    ase.Atoms

    Raises
    ------
    surfchem.errors.InputError
        Different in-plane cells.
    """

    if not np.allclose(top_from.cell[:2], bottom_from.cell[:2], atol=1e-6):
        raise InputError("splice_faces needs two slabs with the same in-plane cell")
    za, mid_a = _middle(top_from)
    zb, mid_b = _middle(bottom_from)
    top_a, _, middle_a = _half_masks(top_from, za, mid_a)
    _, bottom_b, _ = _half_masks(bottom_from, zb, mid_b)
    part_a = top_from[np.flatnonzero(middle_a | top_a)]
    part_b = bottom_from[np.flatnonzero(bottom_b)]
    part_b.positions[:, 2] += za - zb
    lig_a, lig_b = part_a.get_array("ligand_index"), part_b.get_array("ligand_index").copy()
    offset = int(lig_a.max()) + 1 if (lig_a >= 0).any() else 0
    lig_b[lig_b >= 0] += offset - (int(lig_b[lig_b >= 0].min()) if (lig_b >= 0).any() else 0)
    part_b.set_array("ligand_index", lig_b)
    out = part_a.copy()
    out.extend(part_b)
    faces = top_from.info["surface_faces"]
    occ_top = [int(s) for s in np.atleast_1d(top_from.info.get("occupied_sites", [])) if faces[int(s)] == "top"]
    occ_bot = [int(s) for s in np.atleast_1d(bottom_from.info.get("occupied_sites", [])) if faces[int(s)] == "bottom"]
    out.info = dict(top_from.info)
    out.info["occupied_sites"] = sorted(occ_top + occ_bot)
    out.info["n_ligands"] = len(out.info["occupied_sites"])
    set_vacuum(out, out.info.get("vacuum_A", 15.0))
    return out
