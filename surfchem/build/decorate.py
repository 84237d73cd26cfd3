"""Put ligand cations on surface A sites: each ammonium cation replaces one surface Cs+.

The ammonium N goes on the site, ``depth`` Å below the current position of the removed Cs along
the outward normal (0 = exactly on the site; + = into the A-site pocket, - = outward), the tail(s)
point outward along the normal, and the molecule is turned about the normal to the angle (of
``n_angles`` tried) that maximises its closest approach to the atoms already present. The cell
height is then set so that the vacuum, measured from the outermost atoms (the ligand tips) of the
two faces, is at least ``vacuum`` Å (prototype lesson 4, docs "Trustworthy minima": tails must not meet through
the periodic boundary).

Head depth (``depth=None``, the default):

* heads with N-H (primary, secondary, tertiary): 0 Å, the N on the Cs site (the N-H...X hydrogen
  bonds hold it there; unchanged from the primary-only builder);
* heads without N-H (quaternary R4N+): nothing pulls the N into the pocket but the electrostatics,
  so the N sinks as deep as sterics allow: for each depth of :data:`HEAD_DEPTH_SCAN_A` (deepest
  first) the rotation scan is run, and the first (deepest) depth whose closest approach to the
  other atoms is at least :data:`HEAD_CLEARANCE_A` is taken (if none reaches it, the depth with
  the largest closest approach). Closest approaches count in-plane periodic images only (the
  cell height is reset afterwards). The scan's closest approaches (Å, one per depth) are kept in
  ``info['depth_scan_clearance_A']``; measured on the bare 2x2 CsPbBr3 slab, site 0:
  DDA [1.87, 2.19, 2.53, 2.65, 2.73, 2.75] -> -0.5 Å, DDA4 [1.90, 2.16, 2.496, 2.64, 2.60, 2.76]
  -> -1.0 Å, tetramethylammonium (DDA1) -> -2.0 Å (its methyl H reach 2.05 Å from the pocket's
  Br at depth 0).

``info['depth_A']`` is the depth used (the deepest one when the scan chose different depths for
the sites of one call). Intramolecular tail-tail contacts (:func:`surfchem.build.ligands.tail_contact`)
are held to the same ``clearance_A`` as contacts between fragments.

Composition: slab(Cs_a Pb_b Br_c) -> slab(Cs_(a-N) L_N Pb_b Br_c), charge balanced because L+
replaces Cs+.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np
from ase import Atoms

from surfchem.build.bulk import get_material
from surfchem.build.ligands import (
    acidic_hydrogens,
    bond_graph,
    conformer_ensemble,
    head_index,
    mmff_relax_among,
    tail_contact,
)
from surfchem.build.ligands import ligand as make_ligand
from surfchem.build.slab import (
    DEFAULT_VACUUM_A,
    inplane_distances,
    site_indices,
    site_positions,
    surface_normals,
)
from surfchem.core.slabgeom import slab_layers
from surfchem.errors import InputError

#: smallest allowed distance (Å) between a placed ligand atom and any other fragment's atom
MIN_CLEARANCE_A = 1.5
#: the clearance (Å) :func:`decorate_relaxed` accepts as a last resort on a crowded, relaxed slab
#: (H...H contacts the relaxation resolves), for rigid placements and relieved ones alike
LAST_RESORT_CLEARANCE_A = 1.1
#: inter-fragment contact rule of :func:`close_contacts`: closer than
#: max(CLASH_FLOOR_A, CLASH_SCALE * (r_cov,i + r_cov,j)) is a clash (C...C 1.22 Å, H...H 1.0 Å,
#: H...Br 1.21 Å, N...Br 1.53 Å, Cs...C 2.56 Å); relaxed CHGNet+D3 slabs have inter-fragment
#: contacts of >= 1.5 times the covalent sum (H...Br, H...H), so only overlaps are caught
CLASH_SCALE = 0.8
CLASH_FLOOR_A = 1.0

#: target contact of :func:`relieve`: every atom of a relieved ligand is pushed to at least
#: max(RELIEF_FLOOR_A, RELIEF_SCALE * (r_cov,i + r_cov,j)) from other fragments (H...H 1.8 Å,
#: C...Br 2.16 Å, Cs...C 3.52 Å), with margin above the contact rule's 0.8 x covalent sum
RELIEF_SCALE = 1.1
RELIEF_FLOOR_A = 1.8
#: atoms of other fragments within this distance (Å) of a relieved ligand are its fixed points
RELIEF_REACH_A = 5.0

#: depths (Å, + = into the A-site pocket) scanned for a head without N-H, deepest first
HEAD_DEPTH_SCAN_A = (0.5, 0.0, -0.5, -1.0, -1.5, -2.0)

#: closest approach (Å) to the other atoms a head without N-H needs at its scanned depth: a C-H...Br
#: contact at 0.8 x the van der Waals sum (H 1.20 + Br 1.85 Å = 3.05 Å), rounded up
HEAD_CLEARANCE_A = 2.5


def _rot_z(theta: float) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def distance_to(others: Atoms, pbc: Sequence[bool] | None = None):
    """A function giving the minimum-image distance (Å) from a point set to the atoms of ``others``.

    The periodic images of ``others`` (shifts -2..2 along each periodic direction) go into one
    k-d tree (SciPy) built once; each call wraps its points into the cell and queries the tree.
    Equal to ASE's ``get_distances(...).min()`` for any cell whose nearest images lie within two
    cell vectors, and about 50x faster for the rotation scans of :func:`decorate` (it answered
    7 ms per call for a ligand against a 300-atom slab).

    Parameters
    ----------
    others : ase.Atoms
        The fixed atoms.
    pbc : sequence of bool, optional
        Periodic directions (default ``others.pbc``).

    Returns
    -------
    callable
        ``f(positions) -> float``: the smallest distance from any of the (n, 3) ``positions``
        (Å) to any atom of ``others`` or its images, ``inf`` when ``others`` is empty.
    """
    from itertools import product

    from scipy.spatial import cKDTree

    pbc = np.asarray(others.pbc if pbc is None else pbc, bool)
    cell = others.cell[:]
    if len(others) == 0:
        return lambda positions: float("inf")
    ranges = [range(-2, 3) if p else range(1) for p in pbc]
    shifts = np.array(list(product(*ranges)), float) @ cell
    tree = cKDTree((others.positions[None, :, :] + shifts[:, None, :]).reshape(-1, 3))
    inv = np.linalg.pinv(cell)

    def f(positions: np.ndarray) -> float:
        pos = np.asarray(positions, float).reshape(-1, 3)
        if len(pos) == 0:
            return float("inf")
        pos = pos - (np.floor(pos @ inv) * pbc) @ cell  # wrap along the periodic directions only
        d, _ = tree.query(pos, k=1)
        return float(d.min())

    return f


def decorate(
    slab: Atoms,
    ligand: str | Atoms,
    sites: Sequence[int],
    depth: float | None = None,
    vacuum: float | None = None,
    n_angles: int = 12,
    angles: Sequence[float] | None = None,
    arrangement: int | None = None,
    clearance_A: float = MIN_CLEARANCE_A,
) -> Atoms:
    """Return a copy of ``slab`` with ligand cations on ``sites``.

    Each ligand replaces the A cation (Cs+) of its site: the ammonium N goes ``depth`` Å below the
    removed Cs along the inward normal, the tail(s) outward, turned about the normal to the angle
    with the largest closest approach; then the vacuum is reset from the ligand tips.

    Parameters
    ----------
    slab : ase.Atoms
        A slab from :func:`surfchem.build.slab.slab` (its sites may be partly occupied).
    ligand : str or ase.Atoms
        Ligand name or ammonium SMILES (built with :func:`surfchem.build.ligands.ligand`), or a
        ready oriented ligand (N at the origin, tail along +z, ``info['head_index']``).
    sites : sequence of int
        Site numbers (0..n_sites-1) still holding their A cation.
    depth : float, optional
        Depth of the N below the removed Cs, Å (+ = into the A-site pocket). Default: 0 for heads
        with N-H, the clearance scan of the module docstring for heads without.
    vacuum : float, optional
        Vacuum from ligand tip to ligand tip across the periodic boundary, Å (default: the
        slab's ``info['vacuum_A']``).
    n_angles : int, default 12
        Rotation angles about the normal tried per site (evenly spaced over 360°).
    angles : sequence of float, optional
        Explicit rotation angle per site, rad, instead of the scan.
    arrangement : int, optional
        Arrangement index to record in ``info['arrangement']``.
    clearance_A : float, default 1.5
        Smallest allowed distance between the placed ligand and other fragments, and between two
        tails of one ligand, Å.

    Returns
    -------
    ase.Atoms
        The decorated slab; ``info`` gains ``ligand``, ``smiles``, ``n_ligands``,
        ``occupied_sites``, ``depth_A`` (Å) and ``site_positions``; each ligand's atoms carry
        their own ``ligand_index``.

    Raises
    ------
    surfchem.errors.InputError
        Unknown ligand, sites out of range, repeated or already occupied, a wrong number of
        ``angles``, or a placement closer than ``clearance_A``.

    Examples
    --------
    >>> from surfchem import build_slab, decorate
    >>> capped = decorate(build_slab(), "PEA", [0, 4])  # doctest: +SKIP
    >>> capped.info["n_ligands"]  # doctest: +SKIP
    2
    """
    mol = make_ligand(ligand) if isinstance(ligand, str) else ligand
    if "head_index" not in mol.info:
        raise InputError("a ligand Atoms needs info['head_index'] (the ammonium N); build it with ligand()")
    sites = [int(s) for s in sites]
    free = site_indices(slab)
    n_sites = len(free)
    bad = [s for s in sites if not 0 <= s < n_sites]
    if bad:
        raise InputError(f"sites {bad} out of range: this slab has sites 0..{n_sites - 1}")
    if len(set(sites)) != len(sites):
        raise InputError(f"sites must be distinct, got {sites}")
    taken = [s for s in sites if free[s] < 0]
    if taken:
        raise InputError(f"sites {taken} already hold a ligand")
    if angles is not None and len(angles) != len(sites):
        raise InputError(f"angles must give one angle per site ({len(sites)}), got {len(angles)}")

    out = slab.copy()
    pos_sites = site_positions(slab)
    normals = surface_normals(slab)
    out.info["site_positions"] = pos_sites.tolist()
    # remove the Cs cations, highest index first
    del out[sorted((int(free[s]) for s in sites), reverse=True)]

    ligand_index = out.get_array("ligand_index")
    next_lig = int(ligand_index.max()) + 1 if len(ligand_index) else 0
    trial = np.linspace(0, 2 * np.pi, max(int(n_angles), 1), endpoint=False)
    scan_depth = depth is None and not has_nh(mol)
    inplane = (True, True, False)  # the cell height is reset below: no images along z
    chosen, scan = [], []
    for k, s in enumerate(sites):
        normal = normals[s]
        rot_face = np.eye(3) if normal[2] > 0 else np.diag([1.0, -1.0, -1.0])
        cs = slab.positions[free[s]]  # the (possibly relaxed) Cs being replaced
        candidates = [angles[k]] if angles is not None else trial
        if scan_depth:
            scan = [(d, *_best_rotation(mol.positions, cs - d * normal, rot_face, out, candidates, inplane))
                    for d in HEAD_DEPTH_SCAN_A]
            d, best, _ = _pick_depth(scan)
        else:
            d = 0.0 if depth is None else depth
            best, _ = _best_rotation(mol.positions, cs - d * normal, rot_face, out, candidates)
        chosen.append(float(d))
        new = Atoms(mol.get_chemical_symbols(), positions=best)
        new.set_array("surface_site", np.full(len(new), -1, dtype=int))
        new.set_array("ligand_index", np.full(len(new), next_lig, dtype=int))
        out += new
        next_lig += 1

    occupied = sorted(set(out.info.get("occupied_sites", [])) | set(sites))
    out.info.update(
        ligand=mol.info.get("ligand", "custom"),
        smiles=mol.info.get("smiles", ""),
        n_ligands=len(occupied),
        occupied_sites=occupied,
        depth_A=max(chosen) if chosen else float(depth or 0.0),
    )
    if scan:
        out.info["depth_scan_clearance_A"] = [round(float(c), 4) for _, _, c in scan]
    if arrangement is not None:
        out.info["arrangement"] = int(arrangement)
    set_vacuum(out, out.info.get("vacuum_A", DEFAULT_VACUUM_A) if vacuum is None else vacuum)
    clash = min(min_clearance(out), tail_contact(mol, int(mol.info["head_index"])))
    if clash < clearance_A:
        lig = out.get_array("ligand_index")
        own = min(min_clearance(out[lig == k]) for k in set(lig[lig >= 0].tolist()))
        hint = (f"; a ligand reaches its own periodic image ({own:.2f} Å): the in-plane cell "
                f"({out.cell.lengths()[0]:.1f} Å) is too small for it, use a larger one (e.g. --size 3x3)"
                if own < clearance_A else "")
        raise InputError(
            f"ligand placement on sites {sites} leaves atoms {clash:.2f} Å apart (< "
            f"{clearance_A} Å); try another depth (got {', '.join(f'{d:g}' for d in chosen)} Å) or conformer"
            + hint
        )
    return out


def has_nh(mol: Atoms) -> bool:
    """Whether the ligand molecule has an N-H (primary, secondary or tertiary head).

    Parameters
    ----------
    mol : ase.Atoms
        One ligand molecule.

    Returns
    -------
    bool
        False for a quaternary (R4N+) head.
    """
    return bool(acidic_hydrogens(mol).any())


def _best_rotation(
    mol_pos: np.ndarray, anchor: np.ndarray, rot_face: np.ndarray, others: Atoms, thetas: Sequence[float],
    pbc: Sequence[bool] | None = None,
) -> tuple[np.ndarray, float]:
    """Place the oriented molecule (N at origin, tail +z) with its N at ``anchor`` (Å), turned
    about the normal by each of ``thetas`` (rad); return the positions (Å) with the largest
    closest approach to ``others`` (minimum image over ``pbc``, default ``others.pbc``) and that
    distance (Å). The depth scan uses in-plane images only: with ``others.pbc`` a tail longer
    than the vacuum meets the far face's image, which the final cell height removes (the fixed-
    depth path keeps ``others.pbc``, so primary heads place exactly as before)."""
    from ase.geometry import get_distances

    pbc = others.pbc if pbc is None else pbc
    placed = [mol_pos @ (_rot_z(theta).T) @ rot_face.T + anchor for theta in thetas]
    if len(others) == 0:
        return placed[0], float("inf")
    dist = distance_to(others, pbc)
    fast = np.array([dist(pos) for pos in placed])
    # the k-d tree picks the candidates; ASE's distances decide among those within 1e-6 Å of the
    # best (symmetric heads tie to 1e-15 Å), the first of equals first: the plain ASE scan's choice
    near = np.flatnonzero(fast >= fast.max() - 1e-6)
    exact = [float(get_distances(placed[i], others.positions, cell=others.cell[:], pbc=pbc)[1].min()) for i in near]
    k = int(np.argmax(exact))
    return placed[int(near[k])], exact[k]


def _pick_depth(scan: list[tuple[float, np.ndarray, float]]) -> tuple[float, np.ndarray, float]:
    """From (depth Å, positions, closest approach Å) rows, deepest first: the first row with
    closest approach >= :data:`HEAD_CLEARANCE_A`, else the row with the largest one."""
    for row in scan:
        if row[2] >= HEAD_CLEARANCE_A:
            return row
    return max(scan, key=lambda row: row[2])


def set_vacuum(atoms: Atoms, vacuum: float) -> None:
    """Set the cell height so the vacuum between outermost atoms of neighbouring images is ``vacuum``.

    The slab is re-centred in z; the in-plane cell is unchanged (the cell must be orthogonal in z).
    Modifies ``atoms`` in place and records ``info['vacuum_A']``.

    Parameters
    ----------
    atoms : ase.Atoms
        A slab, with or without ligands.
    vacuum : float
        Gap between the outermost atoms (ligand tips) of neighbouring images along z, Å.

    Raises
    ------
    surfchem.errors.InputError
        If ``vacuum`` is negative.
    """
    if vacuum < 0:
        raise InputError(f"vacuum must be >= 0 Å, got {vacuum!r}")
    z = atoms.positions[:, 2]
    thickness = float(z.max() - z.min())
    cell = atoms.cell[:].copy()
    cell[2] = [0.0, 0.0, thickness + vacuum]
    atoms.set_cell(cell, scale_atoms=False)
    atoms.positions[:, 2] += vacuum / 2 - z.min()
    atoms.info["vacuum_A"] = float(vacuum)


def vacuum_gap(atoms: Atoms) -> float:
    """Actual vacuum between the outermost atoms of neighbouring images along z.

    Parameters
    ----------
    atoms : ase.Atoms
        A slab.

    Returns
    -------
    float
        Cell height minus the z extent of the atoms, Å.
    """
    z = atoms.positions[:, 2]
    return float(atoms.cell[2, 2] - (z.max() - z.min()))


def other_fragment(lig: np.ndarray, i: np.ndarray, j: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Mask of neighbour pairs that join different fragments.

    Fragments are the inorganic slab (``ligand_index`` -1) and each ligand; a ligand's periodic
    images count as other fragments (splayed tails can reach their own image in a small cell).
    The one rule of :func:`min_clearance` and :func:`close_contacts`.

    Parameters
    ----------
    lig : numpy.ndarray
        ``ligand_index`` of every atom.
    i, j : numpy.ndarray
        Atom indices of the neighbour pairs (e.g. from :func:`ase.neighborlist.neighbor_list`).
    shift : numpy.ndarray
        Cell shift (integer vector) of each pair.

    Returns
    -------
    numpy.ndarray
        Boolean mask over the pairs: True where ``i`` and ``j`` lie in different fragments.
    """
    return (lig[i] != lig[j]) | ((lig[i] >= 0) & shift.any(axis=1))


def close_contacts(atoms: Atoms, scale: float = CLASH_SCALE, floor_A: float = CLASH_FLOOR_A
                   ) -> list[tuple[int, int, float]]:
    """Pairs of atoms of different fragments closer than max(floor_A, scale (r_cov,i + r_cov,j)).

    Fragments are the ligands (``ligand_index`` >= 0, one per molecule) and the inorganic slab
    (``ligand_index`` = -1); a ligand's periodic images count as other fragments (two splayed
    tails can reach the image of their own ligand in a 2x2 cell: DDA6 started with a C...C of
    1.21 Å to its own image). A structure without ligand labels has one fragment and no
    contacts.
    ASE covalent radii, minimum image. The defaults reject C...C < 1.22 Å, H...H < 1.0 Å,
    H...Br < 1.21 Å.

    Parameters
    ----------
    atoms : ase.Atoms
        A (decorated) slab.
    scale : float, default 0.8
        Factor on the sum of covalent radii.
    floor_A : float, default 1.0
        Smallest allowed distance for any pair, Å.

    Returns
    -------
    list of tuple of (int, int, float)
        (i, j, distance in Å).
    """
    from ase.data import covalent_radii
    from ase.neighborlist import neighbor_list

    lig = atoms.arrays.get("ligand_index")
    if lig is None or len(atoms) == 0 or (lig < 0).all():
        return []
    cutoff = max(floor_A, scale * 2 * float(covalent_radii[atoms.numbers].max())) + 0.01
    i, j, d, shift = neighbor_list("ijdS", atoms, cutoff)
    r = covalent_radii[atoms.numbers]
    bad = other_fragment(lig, i, j, shift) & (i < j) & (d < np.maximum(floor_A, scale * (r[i] + r[j])))
    return [(int(a), int(b), float(x)) for a, b, x in zip(i[bad], j[bad], d[bad], strict=True)]


def describe_contacts(atoms: Atoms, contacts: list[tuple[int, int, float]], limit: int = 3) -> str:
    """Describe close contacts for an error message, closest first.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure the contacts were found in.
    contacts : list of tuple of (int, int, float)
        (i, j, distance in Å), as from :func:`close_contacts`.
    limit : int, default 3
        Contacts listed at most.

    Returns
    -------
    str
        E.g. ``"C12-C57 0.51 Å, H3-H40 0.92 Å (+2 more)"``.
    """
    sym = atoms.get_chemical_symbols()
    parts = [f"{sym[i]}{i}-{sym[j]}{j} {d:.2f} Å" for i, j, d in sorted(contacts, key=lambda c: c[2])[:limit]]
    more = f" (+{len(contacts) - limit} more)" if len(contacts) > limit else ""
    return ", ".join(parts) + more


def min_clearance(atoms: Atoms) -> float:
    """Smallest distance between atoms of different fragments (slab, ligand k, ligand j; a
    ligand's periodic images count as other fragments).

    Parameters
    ----------
    atoms : ase.Atoms
        A decorated slab (per-atom array ``ligand_index``; -1 = inorganic).

    Returns
    -------
    float
        Distance in Å (minimum image in plane); ``inf`` with fewer than two fragments.
    """
    from ase.neighborlist import neighbor_list

    lig = atoms.get_array("ligand_index") if "ligand_index" in atoms.arrays else np.full(len(atoms), -1)
    i, j, d, shift = neighbor_list("ijdS", atoms, cutoff=3.0)
    mask = other_fragment(lig, i, j, shift)
    return float(d[mask].min()) if mask.any() else float("inf")


def undecorate(atoms: Atoms, site: int, vacuum: float | None = None) -> Atoms:
    """Inverse of :func:`decorate` for one site: remove the ligand on ``site``, put a Cs back.

    The ligand is the one whose ammonium N is nearest in plane (minimum image) to the site; the
    A cation goes to the N's in-plane position, in the plane (mean z) of the outermost inorganic
    layer of that face, so the surrounding (relaxed) framework is kept. Used for the "shrink from
    N+1" starts of the minimum search (:mod:`surfchem.trust`). The vacuum is re-measured from the
    outermost atoms as in :func:`decorate`.

    Parameters
    ----------
    atoms : ase.Atoms
        A decorated slab.
    site : int
        An occupied site number.
    vacuum : float, optional
        Vacuum to set afterwards, Å (default: ``info['vacuum_A']``).

    Returns
    -------
    ase.Atoms
        A copy with one ligand fewer.

    Raises
    ------
    surfchem.errors.InputError
        If ``site`` holds no ligand or no head is found on its face.
    """
    occupied = [int(s) for s in atoms.info.get("occupied_sites", [])]
    if int(site) not in occupied:
        raise InputError(f"site {site} holds no ligand; occupied sites: {occupied}")
    lig = atoms.get_array("ligand_index")
    sym = np.array(atoms.get_chemical_symbols())
    heads = {int(lig[i]): i for i in np.flatnonzero((lig >= 0) & (sym == "N"))}
    target = site_positions(atoms)[int(site)]
    face = atoms.info["surface_faces"][int(site)]
    zmid = 0.5 * (atoms.positions[:, 2].max() + atoms.positions[:, 2].min())
    same_face = {k: i for k, i in heads.items() if (atoms.positions[i, 2] > zmid) == (face == "top")}
    if not same_face:
        raise InputError(f"no ligand head found on the {face} face for site {site}")
    k = min(same_face, key=lambda kk: float(inplane_distances(atoms.positions[same_face[kk]], target, atoms.cell)[0]))
    head = atoms.positions[same_face[k]].copy()
    layers = slab_layers(atoms)
    plane = layers[-1] if face == "top" else layers[0]
    z_plane = float(atoms.positions[plane, 2].mean())
    a_symbol = get_material(atoms.info.get("material", "CsPbBr3")).a
    out = atoms.copy()
    del out[[i for i in range(len(out)) if lig[i] == k]]
    cation = Atoms(a_symbol, positions=[[head[0], head[1], z_plane]])
    cation.set_array("surface_site", np.array([int(site)]))
    cation.set_array("ligand_index", np.array([-1]))
    out += cation
    occ = [s for s in occupied if s != int(site)]
    out.info.update(occupied_sites=occ, n_ligands=len(occ))
    set_vacuum(out, out.info.get("vacuum_A", DEFAULT_VACUUM_A) if vacuum is None else vacuum)
    return out


def relieve(atoms: Atoms, ligands: Sequence[int], rounds: int = 6) -> Atoms:
    """Clear a crowded start: MMFF94-optimise ligands among their fixed neighbours.

    Rigid conformers cannot always be placed on a crowded face: on the relaxed DDA6 N = 4 slab no
    rotation, depth or conformer of a fifth DDA6 keeps 1.1 Å from its neighbours (best 0.86 Å).
    Here each ligand in ``ligands`` (its ``ligand_index``), one after the other, is optimised with
    RDKit's MMFF94 (:func:`surfchem.build.ligands.mmff_relax_among`) with its ammonium N held on
    its site and flat-bottomed restraints keeping each of its atoms at least
    max(:data:`RELIEF_FLOOR_A`, :data:`RELIEF_SCALE` x covalent sum) from every atom of the other
    fragments within :data:`RELIEF_REACH_A` (slab, other ligands, and the ligand's own in-plane
    periodic images at their current positions). Everything else stays in place. Rounds repeat
    (images and neighbours re-read) until the contact rule of :func:`close_contacts` passes with
    at least :data:`MIN_CLEARANCE_A`, or ``rounds`` are done; the vacuum is then reset.

    Parameters
    ----------
    atoms : ase.Atoms
        A decorated slab (``info['smiles']``, per-atom ``ligand_index``).
    ligands : sequence of int
        ``ligand_index`` values of the ligands to move.
    rounds : int, default 6
        Most rounds over ``ligands``.

    Returns
    -------
    ase.Atoms
        A relieved copy (``info['relieved_ligands']`` lists the moved ligands). It may still
        hold close contacts (e.g. a head whose site itself is blocked): check with
        :func:`close_contacts`.

    Raises
    ------
    surfchem.errors.InputError
        A ligand index not in ``atoms``, no ``info['smiles']``, or a ligand whose atoms are not
        those of ``info['smiles']``.

    Examples
    --------
    >>> from surfchem import build_slab, decorate
    >>> crowded = decorate(build_slab(), "DDA6", [0, 4, 3, 7, 1], clearance_A=0.0)  # doctest: +SKIP
    >>> min_clearance(relieve(crowded, [0, 1, 2, 3, 4])) > 1.1  # doctest: +SKIP
    True
    """
    from ase.data import covalent_radii
    from ase.neighborlist import neighbor_list

    out = atoms.copy()
    lig = out.get_array("ligand_index")
    smiles = str(out.info.get("smiles", ""))
    if not smiles:
        raise InputError("relieve needs the ligands' SMILES in atoms.info['smiles'] (decorate sets it "
                         "when the ligand is given by name or SMILES)")
    missing = sorted(set(int(k) for k in ligands) - set(lig[lig >= 0].tolist()))
    if missing:
        raise InputError(f"ligands {missing} are not in this slab (ligand_index values "
                         f"{sorted(set(lig[lig >= 0].tolist()))})")
    head = head_index(smiles)
    r = covalent_radii[out.numbers]
    for _ in range(int(rounds)):
        for k in ligands:
            idx = np.flatnonzero(lig == int(k))
            i, j, _, shift = neighbor_list("ijdS", out, RELIEF_REACH_A)
            mine = np.isin(i, idx) & other_fragment(lig, i, j, shift)
            pairs = np.unique(np.column_stack([j[mine], shift[mine]]), axis=0)
            if len(pairs) == 0:
                continue
            points = out.positions[pairs[:, 0]] + pairs[:, 1:] @ out.cell[:]
            lower = np.maximum(RELIEF_FLOOR_A, RELIEF_SCALE * (r[idx][:, None] + r[pairs[:, 0]][None, :]))
            out.positions[idx] = mmff_relax_among(
                out[idx].get_chemical_symbols(), out.positions[idx], smiles, points, lower, [head])
        if not close_contacts(out) and min_clearance(out) >= MIN_CLEARANCE_A:
            break
    out.info["relieved_ligands"] = sorted(int(k) for k in ligands)
    set_vacuum(out, out.info.get("vacuum_A", DEFAULT_VACUUM_A))
    return out


def decorate_relaxed(slab: Atoms, ligand: str | Atoms, sites: Sequence[int]) -> Atoms:
    """:func:`decorate` for a relaxed, crowded slab (growing N from N-1).

    When the default placement clashes with the neighbours' (relaxed, tilted) tails, try other
    head depths and a finer rotation scan, then accept :data:`LAST_RESORT_CLEARANCE_A` (1.1 Å;
    H-H contacts the relaxation resolves). A head without N-H gets its depth scan
    (``depth=None``) at every step instead of fixed depths; a ligand name/SMILES with two or more
    tails then tries its other conformers (best first, see
    :func:`surfchem.build.ligands.conformer_ensemble`) at that clearance. When no rigid placement
    has room, the placement with the largest clearance (72 rotations; for two or more tails also
    that of the next two conformers) is relieved (:func:`relieve`: MMFF94 of the new ligands
    among their fixed neighbours, N on the site) and accepted when it passes the contact rule
    with that clearance and every relieved ligand keeps its bond graph;
    ``info['relieved_ligands']`` then names the moved ligands.

    Parameters
    ----------
    slab : ase.Atoms
        A (relaxed, possibly decorated) slab.
    ligand : str or ase.Atoms
        Ligand name, ammonium SMILES or a built molecule.
    sites : sequence of int
        Surface sites to cap.

    Returns
    -------
    ase.Atoms
        The decorated copy.

    Raises
    ------
    surfchem.errors.InputError
        No placement is free of clashes: none passes both the try's clearance and the contact
        rule of :func:`close_contacts` (the rule that rejects a start before relaxation).
    """
    mol = make_ligand(ligand) if isinstance(ligand, str) else ligand
    what = ligand if isinstance(ligand, str) else "the ligand"  # for the messages
    steps = ((0.0, 12, MIN_CLEARANCE_A), (0.0, 72, MIN_CLEARANCE_A), (-0.5, 72, MIN_CLEARANCE_A),
             (0.5, 72, MIN_CLEARANCE_A), (0.0, 72, LAST_RESORT_CLEARANCE_A), (-0.5, 72, LAST_RESORT_CLEARANCE_A))
    if not has_nh(mol):
        steps = ((None, 12, MIN_CLEARANCE_A), (None, 72, MIN_CLEARANCE_A), (None, 72, LAST_RESORT_CLEARANCE_A))
    multi_tail = isinstance(ligand, str) and int(mol.info.get("n_tails", 0)) >= 2
    others = (conformer_ensemble(ligand)[1:] for _ in range(int(multi_tail)))  # lazy: only if needed
    tries = chain(((mol, *step) for step in steps),
                  ((other, None, 36, LAST_RESORT_CLEARANCE_A) for ens in others for other in ens))
    last: InputError | None = None
    for conf, depth, n_angles, clearance in tries:
        try:
            out = decorate(slab, conf, sites, depth=depth, n_angles=n_angles, clearance_A=clearance)
        except InputError as exc:
            last = exc
            continue
        contacts = close_contacts(out)  # the uniform clearance can pass what the contact rule
        if not contacts:  # rejects (C...Br 1.45 Å > 1.1 Å, < 1.57 Å): the next try instead
            return out
        last = InputError(f"every placement of {what} on sites "
                          f"{list(sites)} overlaps: {describe_contacts(out, contacts, limit=1)} "
                          f"(contact rule: max({CLASH_FLOOR_A}, {CLASH_SCALE} x covalent sum))")
    # rigid conformers found no room: the best rigid placement, relieved (MMFF94 among its
    # fixed neighbours, N on its site), then the other conformers' (DDA6 on its N = 4 minimum)
    depth = None if not has_nh(mol) else 0.0
    for conf in [mol, *(conformer_ensemble(ligand)[1:3] if multi_tail else [])]:
        try:
            crowded = decorate(slab, conf, sites, depth=depth, n_angles=72, clearance_A=0.0)
        except InputError as exc:
            last = exc
            continue
        lig = crowded.get_array("ligand_index")
        new = sorted(set(lig[lig >= 0].tolist()) - set(slab.arrays.get("ligand_index", np.array([-1])).tolist()))
        out = relieve(crowded, new)
        contacts = close_contacts(out)
        clearance = min_clearance(out)
        lig_out = out.get_array("ligand_index")
        graph = bond_graph(conf)
        stretched = [k for k in new if bond_graph(out[lig_out == k]) != graph]
        if not contacts and clearance >= LAST_RESORT_CLEARANCE_A and not stretched:
            return out
        if stretched:  # the start would be judged against a broken bond graph: next candidate
            last = InputError(f"no placement of {what} on sites "
                              f"{list(sites)} has room: relieved with MMFF94 among its neighbours, ligand(s) "
                              f"{stretched} lose a bond (stretched beyond 1.2 x covalent sum)")
            continue
        last = InputError(f"no placement of {what} on sites "
                          f"{list(sites)} has room, even relieved with MMFF94 among its neighbours: "
                          + (describe_contacts(out, contacts, limit=1) if contacts else f"atoms {clearance:.2f} Å apart")
                          + f" (contact rule: max({CLASH_FLOOR_A}, {CLASH_SCALE} x covalent sum), "
                          f"clearance {LAST_RESORT_CLEARANCE_A} Å)")
    assert last is not None
    raise last
