"""Geometry checks of one relaxed ligand slab, and the rule for a valid minimum.

Structural flags (each a boolean ``flag_<name>`` of a task record, from :func:`structure_sanity`;
True = problem):

* ``bonds``: a ligand's covalent bond graph changed during relaxation (broken C-C/C-N/C-H/N-H
  within one molecule), two different ligands (or a ligand and its own periodic image) end at
  bonding distance, or an N-bound H of the start is closer than 1.9 Å to a halide at the end
  (proton transfer to the surface, :func:`proton_transferred`; only the acidic N-H protons count,
  :func:`surfchem.build.ligands.acidic_hydrogens`, so a methyl H of a quaternary head resting on
  a surface Br is no transfer). Bonds are pairs within 1.2 times the covalent sum
  (:func:`ligand_bonds`). A start's contacts *between* molecules are not bonds to keep: a crowded
  start (DDA4 N = 7 began with an H 1.12 Å from a neighbour's C, above the clash floor) that
  relaxes apart is a valid minimum, not a broken bond;
* ``clash``: atoms of different fragments (two ligands, or a ligand and the inorganic slab) closer
  than :func:`close_contacts` allows: a start that should not be relaxed, or a relaxation that
  ended in a hole of the potential (machine-learned potentials have no short-range repulsion
  where they saw no data: the first prototype's PEA N = 7 had two carbons of neighbouring
  ligands 0.15 Å apart, 0.24 eV *below* the physical minimum);
* ``head_off_site``: the ammonium heads no longer occupy the arrangement's sites: assigning each
  ammonium N to the nearest surface A site of its own face (in plane: the site's Voronoi cell in
  the A-site lattice, :func:`head_sites`) does not give each occupied site exactly one head. A head
  that migrated into a neighbouring pocket changes the arrangement, so the result would carry the
  wrong label. (Until 2026-11 the rule was "more than 1.5 Å = a0/4 from the nearest occupied
  site"; that cut split one binding mode of PEA: its N = 2 minima sit 1.25-1.38 Å off centre and
  the same mode at N = 1 1.59 Å, which was rejected and left a 0.42 eV face-equivalence gap.)
* ``pb_coordination``: a Pb lost its octahedron (not exactly 6 halides within 1.3 a0/2);
* ``vacuum``: the vacuum between the outermost atoms (ligand tips) of neighbouring images is
  more than 0.5 Å below the requested value (:func:`surfchem.trust.checked.checked_relax`
  restores it once and relaxes on before judging).

Valid minima (:func:`invalid_reasons`): a relaxed structure is a minimum only when its task
finished, the relaxation converged, and none of the structural flags (:data:`STRUCTURE_FLAGS`)
is raised (AdsorbML, Lan et al., npj Comput. Mater. 9, 172 (2023), likewise drops desorbed,
dissociated and surface-altering relaxations). Invalid structures are never reported as minima
nor used as parents of other starts. The table-level flags (face equivalence, grown vs direct,
single start) are in :mod:`surfchem.trust.diagnostics`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms

from surfchem.build.decorate import CLASH_FLOOR_A as CLASH_FLOOR_A
from surfchem.build.decorate import CLASH_SCALE as CLASH_SCALE
from surfchem.build.decorate import close_contacts as close_contacts
from surfchem.build.decorate import describe_contacts as describe_contacts
from surfchem.build.decorate import other_fragment, vacuum_gap
from surfchem.build.ligands import acidic_hydrogens
from surfchem.build.slab import inplane_distances

#: flags that make a relaxed structure unphysical: never a minimum, never a parent
STRUCTURE_FLAGS = ("bonds", "clash", "head_off_site", "pb_coordination", "vacuum")
#: an N-H proton closer than this (Å) to a halide has transferred (H-Br in HBr 1.41 Å; an
#: N-H...Br hydrogen bond keeps H...Br >= 2.2 Å)
PROTON_TRANSFER_A = 1.9
HALIDES = ("Br", "I", "Cl")


def invalid_reasons(record: dict[str, Any]) -> list[str]:
    """Why a task record is not a valid minimum (module docstring).

    Parameters
    ----------
    record : dict
        A task record: ``status``, ``energy_eV``, ``converged`` and the ``flag_*`` sanity flags.

    Returns
    -------
    list of str
        Empty when the record is a valid minimum; otherwise e.g. ``["not converged",
        "head_off_site"]`` (``status``, ``"no energy"``, ``"not converged"``, raised flags).
    """
    reasons = []
    status = record.get("status", "ok")
    if status != "ok":
        reasons.append(str(status))
    energy = record.get("energy_eV")
    if energy is None or not np.isfinite(float(energy)):
        reasons.append("no energy")
    if record.get("converged") is False or record.get("converged") in (0, "False"):
        reasons.append("not converged")
    reasons += [f for f in STRUCTURE_FLAGS if bool(record.get(f"flag_{f}", False))]
    return list(dict.fromkeys(reasons))


def ligand_bonds(atoms: Atoms) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """Covalent-range pairs of ligand atoms: within one molecule, and between molecules.

    A pair is bonded when closer than 1.2 (r_cov,i + r_cov,j) (ASE covalent radii; C-H 1.28 Å,
    C-C 1.83 Å). Molecules are told apart by ``ligand_index``; a ligand's periodic image is
    another molecule (:func:`surfchem.build.decorate.other_fragment`).

    Parameters
    ----------
    atoms : ase.Atoms
        A decorated slab (per-atom array ``ligand_index``; -1 = inorganic, not considered).

    Returns
    -------
    intra : set of tuple of (int, int)
        Bonds inside one molecule (the bond graph a relaxation must keep).
    inter : set of tuple of (int, int)
        Pairs of different molecules at bonding distance (in a relaxed structure: a new bond or
        an overlap).

    Examples
    --------
    >>> from surfchem.build import decorate, slab
    >>> ma = decorate(slab("CsPbBr3", size=(1, 1), layers=3), "C[NH3+]", [0])
    >>> intra, inter = ligand_bonds(ma)
    >>> len(intra), len(inter)    # CH3-NH3+: 1 C-N, 3 C-H, 3 N-H
    (7, 0)
    """
    from ase.data import covalent_radii
    from ase.neighborlist import neighbor_list

    lig = atoms.arrays.get("ligand_index")
    if lig is None or (lig < 0).all():
        return set(), set()
    idx = np.flatnonzero(lig >= 0)
    sub = atoms[idx]
    i, j, d, shift = neighbor_list("ijdS", sub, 2.2)
    r = covalent_radii[sub.numbers]
    ok = (d < 1.2 * (r[i] + r[j])) & (i < j)
    between = other_fragment(lig[idx], i, j, shift)
    intra, inter = ok & ~between, ok & between
    return ({(int(idx[a]), int(idx[b])) for a, b in zip(i[intra], j[intra], strict=True)},
            {(int(idx[a]), int(idx[b])) for a, b in zip(i[inter], j[inter], strict=True)})


def proton_transferred(start: Atoms, final: Atoms, cutoff_A: float = PROTON_TRANSFER_A) -> bool:
    """Whether an acidic ammonium proton moved to a halide of the surface (HX formed).

    True when an N-bound H of ``start`` sits within ``cutoff_A`` of a halide (Br, I, Cl) in
    ``final``. C-H hydrogens (methyls of a quaternary head) never count: they are not acidic.

    Parameters
    ----------
    start : ase.Atoms
        The structure before relaxation (defines which H are N-bound).
    final : ase.Atoms
        The relaxed structure, same atoms in the same order (a relaxation's first and last frame).
    cutoff_A : float, default 1.9
        H...halide distance below which the proton has transferred, Å.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        ``start`` and ``final`` have different numbers of atoms.
    """
    from ase.neighborlist import neighbor_list

    if len(start) != len(final):
        raise ValueError(f"start ({len(start)} atoms) and final ({len(final)} atoms) must be the same "
                         "structure in the same atom order")
    acid = acidic_hydrogens(start)
    if not acid.any():
        return False
    i, j = neighbor_list("ij", final, cutoff_A)
    sym = np.array(final.get_chemical_symbols())
    return bool(np.any(acid[i] & np.isin(sym[j], HALIDES)))


def head_sites(atoms: Atoms) -> tuple[list[int], list[float]]:
    """Surface site each ammonium head sits on, and its in-plane offset from that site.

    For each ammonium N (``ligand_index`` >= 0; one per ligand) the site is the nearest surface
    A site (``info['site_positions']``, minimum image in plane) *of the face the N is on*
    (``info['surface_faces']``; the face is the side of the inorganic slab's mid-plane). The
    in-plane Voronoi cell of a site in the 2x2 A-site lattice reaches a0/2 (about 2.9 Å) along
    the cell axes, where the pocket's Br of the Pb-Br layer below sit.

    Parameters
    ----------
    atoms : ase.Atoms
        A decorated slab (``ligand_index`` labels and ``info['site_positions']``).

    Returns
    -------
    sites : list of int
        Site index per head, in atom order (empty without labels or site positions).
    offsets_A : list of float
        In-plane distance of each head's N from its site, Å.

    Examples
    --------
    >>> from surfchem.build import slab, decorate
    >>> s = decorate(slab("CsPbBr3", layers=3), "MA", sites=[0])
    >>> sites, offsets = head_sites(s)
    >>> sites, round(offsets[0], 2)
    ([0], 0.0)
    """
    lig = atoms.arrays.get("ligand_index")
    if lig is None or "site_positions" not in atoms.info:
        return [], []
    sym = np.array(atoms.get_chemical_symbols())
    sites = np.asarray(atoms.info["site_positions"], float).reshape(-1, 3)
    faces = list(atoms.info.get("surface_faces") or [])
    mid = float(atoms.positions[lig < 0, 2].mean()) if (lig < 0).any() else float(sites[:, 2].mean())
    if len(faces) != len(sites):
        faces = ["top" if z > mid else "bottom" for z in sites[:, 2]]
    faces = np.array(faces)
    out_sites, offsets = [], []
    for h in np.flatnonzero((sym == "N") & (lig >= 0)):
        face = "top" if atoms.positions[h, 2] > mid else "bottom"
        cand = np.flatnonzero(faces == face)
        if not len(cand):
            cand = np.arange(len(sites))
        d = inplane_distances(sites[cand], atoms.positions[h], atoms.cell)
        out_sites.append(int(cand[int(np.argmin(d))]))
        offsets.append(float(d.min()))
    return out_sites, offsets


def structure_sanity(start: Atoms, final: Atoms, vacuum_A: float | None = None) -> dict[str, bool]:
    """Sanity flags of a relaxed ligand slab (module docstring).

    Parameters
    ----------
    start : ase.Atoms
        The structure before relaxation (reference bond graph and N-H protons).
    final : ase.Atoms
        The relaxed structure (labels ``ligand_index``, ``info['site_positions']``,
        ``info['occupied_sites']`` as built).
    vacuum_A : float, optional
        Requested vacuum, Å; None skips the ``vacuum`` check.

    Returns
    -------
    dict of str to bool
        ``bonds``, ``clash``, ``head_off_site``, ``pb_coordination``, ``vacuum``
        (:data:`STRUCTURE_FLAGS`); True = problem.
    """
    from ase.neighborlist import neighbor_list

    flags = {"bonds": False, "clash": False, "head_off_site": False, "pb_coordination": False,
             "vacuum": False}
    intra_final, inter_final = ligand_bonds(final)
    if ligand_bonds(start)[0] != intra_final or inter_final:
        flags["bonds"] = True
    if close_contacts(final):
        flags["clash"] = True
    lig = final.arrays.get("ligand_index")
    if lig is not None and (lig >= 0).any():
        sym = np.array(final.get_chemical_symbols())
        if len(start) == len(final) and proton_transferred(start, final):  # else no atom map
            flags["bonds"] = True
        sites = final.info.get("site_positions")
        occupied = [int(x) for x in np.atleast_1d(final.info.get("occupied_sites", []))]
        if sites is not None and occupied:
            sites = np.asarray(sites, float).reshape(-1, 3)
            nearest, _ = head_sites(final)
            flags["head_off_site"] = sorted(nearest) != sorted(occupied)
    a0 = final.info.get("a_A") or 5.9
    pb = [k for k, s in enumerate(final.get_chemical_symbols()) if s == "Pb"]
    if pb:
        i, j = neighbor_list("ij", final, 1.3 * a0 / 2)
        sym = np.array(final.get_chemical_symbols())
        for p in pb:
            nx = np.sum((i == p) & np.isin(sym[j], HALIDES))
            if nx != 6:
                flags["pb_coordination"] = True
                break
    if vacuum_A is not None and vacuum_gap(final) < vacuum_A - 0.5:
        flags["vacuum"] = True
    return flags
