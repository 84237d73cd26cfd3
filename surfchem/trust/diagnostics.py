"""Consistency diagnostics and uncertainties, added automatically to every result table.

Flags (each a boolean column ``flag_<name>``, and together the ``flags`` string):

* ``bonds``: a ligand's covalent bond graph changed during relaxation (broken C-C/C-N/C-H/N-H,
  or an N-bound H of the start closer than 1.9 Å to a halide at the end: proton transfer to the
  surface; only the acidic N-H protons count, :func:`surfchem.build.ligands.acidic_hydrogens`,
  so a methyl H of a quaternary head resting on a surface Br is no transfer);
* ``head_off_site``: the ammonium heads no longer occupy the arrangement's sites: assigning each
  ammonium N to the nearest surface A site of its own face (in plane: the site's Voronoi cell in
  the A-site lattice, :func:`head_sites`) does not give each occupied site exactly one head. A head
  that migrated into a neighbouring pocket changes the arrangement, so the result would carry the
  wrong label. (Until 2026-11 the rule was "more than 1.5 Å = a0/4 from the nearest occupied
  site"; that cut split one binding mode of PEA: its N = 2 minima sit 1.25-1.38 Å off centre and
  the same mode at N = 1 1.59 Å, which was rejected and left a 0.42 eV face-equivalence gap.)
* ``pb_coordination``: a Pb lost its octahedron (not exactly 6 halides within 1.3 a0/2);
* ``vacuum``: the vacuum between the outermost atoms (ligand tips) of neighbouring images is
  more than 0.5 Å below the requested value;
* ``face_eq``: two binding steps that fill the same kind of site on the two faces (same
  in-plane configuration of the face before the step, up to the slab's symmetry) differ in dG by
  more than ``tol_eV``; with faces far apart these are the same event (prototype lesson 2, docs "Trustworthy minima");
* ``grow_vs_direct``: a structure grown from the relaxed N-1 slab and the same arrangement built
  directly relaxed to energies more than ``tol_eV`` apart (the reported value is the lower);
* ``single_start``: the energy comes from one relaxation (no search): its uncertainty is unknown;
* ``clash``: atoms of different fragments (two ligands, or a ligand and the inorganic slab) closer
  than :func:`close_contacts` allows: a start that should not be relaxed, or a relaxation that
  ended in a hole of the potential (machine-learned potentials have no short-range repulsion
  where they saw no data: the first prototype's PEA N = 7 had two carbons of neighbouring
  ligands 0.15 Å apart, 0.24 eV *below* the physical minimum).

Valid minima (:func:`invalid_reasons`): a relaxed structure is a minimum only when its task
finished, the relaxation converged, and none of the structural flags ``bonds``, ``clash``,
``head_off_site``, ``pb_coordination``, ``vacuum`` is raised (AdsorbML, Lan et al., npj Comput.
Mater. 9, 172 (2023), likewise drops desorbed, dissociated and surface-altering relaxations).
Invalid structures are never reported as minima nor used as parents of other starts.

Uncertainties (our definition): sigma_E(N) = ``energy_spread_eV`` = standard deviation of the
energies of the lowest (up to three) distinct minima found by the search;
gamma_err = sigma_E / (2A); dG_err(N) = sqrt(sigma_E(N)^2 + sigma_E(N-1)^2). References are taken
as exact. When several calculator stages ran, :func:`stage_spread` gives the spread across them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from ase import Atoms

from surfchem.build.decorate import other_fragment, vacuum_gap
from surfchem.build.ligands import acidic_hydrogens
from surfchem.build.slab import inplane_distances
from surfchem.core.units import EV_PER_A2_IN_J_PER_M2

FLAGS = ("bonds", "clash", "head_off_site", "pb_coordination", "vacuum", "face_eq", "grow_vs_direct",
         "single_start")
#: flags that make a relaxed structure unphysical: never a minimum, never a parent
STRUCTURE_FLAGS = ("bonds", "clash", "head_off_site", "pb_coordination", "vacuum")
#: inter-fragment contact rule of :func:`close_contacts`: closer than
#: max(CLASH_FLOOR_A, CLASH_SCALE * (r_cov,i + r_cov,j)) is a clash (C...C 1.22 Å, H...H 1.0 Å,
#: H...Br 1.21 Å, N...Br 1.53 Å, Cs...C 2.56 Å); relaxed CHGNet+D3 slabs have inter-fragment
#: contacts of >= 1.5 times the covalent sum (H...Br, H...H), so only overlaps are caught
CLASH_SCALE = 0.8
CLASH_FLOOR_A = 1.0
#: an N-H proton closer than this (Å) to a halide has transferred (H-Br in HBr 1.41 Å; an
#: N-H...Br hydrogen bond keeps H...Br >= 2.2 Å)
PROTON_TRANSFER_A = 1.9
HALIDES = ("Br", "I", "Cl")


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
    """``"C12-C57 0.51 Å, ..."`` for an error message (closest first)."""
    sym = atoms.get_chemical_symbols()
    parts = [f"{sym[i]}{i}-{sym[j]}{j} {d:.2f} Å" for i, j, d in sorted(contacts, key=lambda c: c[2])[:limit]]
    more = f" (+{len(contacts) - limit} more)" if len(contacts) > limit else ""
    return ", ".join(parts) + more


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


def _ligand_bonds(atoms: Atoms) -> set[tuple[int, int]]:
    from ase.data import covalent_radii
    from ase.neighborlist import neighbor_list

    lig = atoms.arrays.get("ligand_index")
    if lig is None or (lig < 0).all():
        return set()
    idx = np.flatnonzero(lig >= 0)
    sub = atoms[idx]
    i, j, d = neighbor_list("ijd", sub, 2.2)
    r = covalent_radii[sub.numbers]
    ok = (d < 1.2 * (r[i] + r[j])) & (i < j)
    return {(int(idx[a]), int(idx[b])) for a, b in zip(i[ok], j[ok], strict=True)}


def proton_transferred(start: Atoms, final: Atoms, cutoff_A: float = PROTON_TRANSFER_A) -> bool:
    """True when an N-bound H of ``start`` (an acidic ammonium proton) sits within ``cutoff_A`` Å
    of a halide (Br, I, Cl) in ``final``: the proton moved to the surface (HX formed).

    ``start`` and ``final`` must share the atom order (a relaxation's first and last frame).
    C-H hydrogens (methyls of a quaternary head) never count: they are not acidic.
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
    """Surface site each ammonium head sits on, and its in-plane offset from that site (Å).

    For each ammonium N (``ligand_index`` >= 0; one per ligand) the site is the nearest surface
    A site (``info['site_positions']``, minimum image in plane) *of the face the N is on*
    (``info['surface_faces']``; the face is the side of the inorganic slab's mid-plane). The
    in-plane Voronoi cell of a site in the 2x2 A-site lattice reaches a0/2 (about 2.9 Å) along
    the cell axes, where the pocket's Br of the Pb-Br layer below sit.

    Returns
    -------
    sites, offsets_A : list of int, list of float
        One entry per head, in atom order.

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
    """Sanity flags of a relaxed ligand slab (True = problem), see module docstring."""
    from ase.neighborlist import neighbor_list

    flags = {"bonds": False, "clash": False, "head_off_site": False, "pb_coordination": False,
             "vacuum": False}
    if _ligand_bonds(start) != _ligand_bonds(final):
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


def _step_key(prev: tuple[int, ...], new: tuple[int, ...], perms: np.ndarray, per_face: int) -> Any:
    """Symmetry-canonical key of the step prev -> new (one site added) on the face it touches."""
    added = sorted(set(new) - set(prev))
    if len(added) != 1 or not set(prev) <= set(new):
        return None
    a = added[0]
    keys = []
    for p in perms:
        pa = int(p[a])
        face = pa // per_face
        before = tuple(sorted(int(p[s]) % per_face for s in prev if int(p[s]) // per_face == face))
        keys.append((before, pa % per_face))
    return min(keys)


def _sites(s: Any) -> tuple[int, ...]:
    if isinstance(s, str):
        return tuple(int(x) for x in s.split(",") if x.strip() != "")
    if isinstance(s, float) and np.isnan(s):
        return ()
    if isinstance(s, int | np.integer):
        return (int(s),)
    return tuple(int(x) for x in s)


def face_equivalence(table: pd.DataFrame, perms: np.ndarray, tol_eV: float = 0.15) -> pd.DataFrame:
    """Face-equivalence check of the binding steps.

    Steps that fill the same kind of site on the two faces (same in-plane configuration of the face
    before the step, up to the slab's symmetry) must give the same dG.

    Parameters
    ----------
    table : pandas.DataFrame
        A coverage table (``is_min``, ``sites``, ``dG_eV``).
    perms : numpy.ndarray
        Site permutations of the slab's symmetry (:func:`surfchem.build.arrangements.site_permutations`).
    tol_eV : float, default 0.15
        Largest allowed dG difference, eV.

    Returns
    -------
    pandas.DataFrame
        ``table`` with ``face_eq_violation_eV`` on the lowest (ligand, N) rows (the largest dG
        difference to any other step with the same step key, eV) and ``flag_face_eq``.
    """
    out = table.copy()
    out["face_eq_violation_eV"] = np.nan
    out["flag_face_eq"] = False
    per_face = perms.shape[1] // 2
    best = out[out["is_min"]].sort_values(["ligand", "n"]).drop_duplicates(["ligand", "n"])
    for lig, grp in best.groupby("ligand"):
        keys = {}
        rows = grp.set_index("n")
        for n in rows.index:
            if n == 0 or (n - 1) not in rows.index:
                continue
            k = _step_key(_sites(rows.loc[n - 1, "sites"]), _sites(rows.loc[n, "sites"]), perms, per_face)
            if k is not None and np.isfinite(rows.loc[n, "dG_eV"]):
                keys.setdefault(k, []).append((n, float(rows.loc[n, "dG_eV"])))
        for members in keys.values():
            if len(members) < 2:
                continue
            vals = [v for _, v in members]
            for n, v in members:
                worst = max(abs(v - w) for w in vals)
                sel = (out["ligand"] == lig) & (out["n"] == n) & out["is_min"]
                out.loc[sel, "face_eq_violation_eV"] = worst
                out.loc[sel, "flag_face_eq"] = worst > tol_eV
    return out


def pool_minima(table: pd.DataFrame, merge_eV: float = 0.02) -> pd.DataFrame:
    """On each lowest (ligand, N) row, pool the minima of all rows of the same arrangement.

    With consistency sweeps (shrink from N+1, regrow from N-1) one arrangement is relaxed from
    several independent sources: the search's starts (``start_energies_eV``) and each sweep's
    single relaxation. Their energies, merged when closer than ``merge_eV`` (energy-only, the
    sweep rows carry no fingerprints), give ``n_starts``, ``n_distinct``, ``energy_spread_eV``
    (std of the lowest three distinct minima) and ``gap_eV`` of the reported minimum.
    """
    out = table.copy()
    for col in ("n_starts", "n_distinct", "energy_spread_eV", "gap_eV"):
        if col not in out:
            out[col] = np.nan
        out[col] = out[col].astype(float)
    for _, grp in out.groupby(["ligand", "n"]):
        mins = grp[grp["is_min"]]
        if len(grp) < 2 or mins.empty:
            continue
        i = mins.index[0]
        valid = grp["valid"].fillna(False).astype(bool) if "valid" in grp else pd.Series(True, index=grp.index)
        same = grp[[_sites(s) == _sites(out.at[i, "sites"]) for s in grp["sites"]] & valid.to_numpy()]
        if len(same) < 2:
            continue
        energies: list[float] = []
        for _, r in same.iterrows():
            se = r.get("start_energies_eV")
            if isinstance(se, list | tuple | np.ndarray) and len(se):
                energies += [float(x) for x in se]
            else:
                energies.append(float(r["energy_eV"]))
        e = sorted(x for x in energies if np.isfinite(x))
        if not e:
            continue
        distinct = [e[0]]
        for x in e[1:]:
            if x - distinct[-1] > merge_eV:
                distinct.append(x)
        low = distinct[:3]
        out.loc[i, "n_starts"] = len(e)
        out.loc[i, "n_distinct"] = len(distinct)
        out.loc[i, "energy_spread_eV"] = float(np.std(low)) if len(low) > 1 else 0.0
        out.loc[i, "gap_eV"] = float(low[1] - low[0]) if len(low) > 1 else np.nan
    return out


def uncertainties(table: pd.DataFrame) -> pd.DataFrame:
    """Add error bars from the search spread (module docstring).

    gamma_err = sigma_E / (2A); dG_err(N) = sqrt(sigma_E(N)² + sigma_E(N-1)²), sigma_E =
    ``energy_spread_eV``; references are taken as exact.

    Parameters
    ----------
    table : pandas.DataFrame
        A coverage table with ``energy_spread_eV`` (eV) and ``area_A2`` (Å²).

    Returns
    -------
    pandas.DataFrame
        With ``gamma_err_J_m2`` (J/m²) and ``dG_err_eV`` (eV).
    """
    out = table.copy()
    spread = out["energy_spread_eV"] if "energy_spread_eV" in out else pd.Series(np.nan, index=out.index)
    out["energy_spread_eV"] = spread
    out["gamma_err_J_m2"] = spread / (2 * out["area_A2"]) * EV_PER_A2_IN_J_PER_M2
    best = out[out["is_min"]].drop_duplicates(["ligand", "n"]).set_index(["ligand", "n"])["energy_spread_eV"]
    prev = [best.get((lig, n - 1), np.nan) for lig, n in zip(out["ligand"], out["n"], strict=True)]
    out["dG_err_eV"] = np.sqrt(spread**2 + np.asarray(prev, float) ** 2)
    out.loc[out["n"] == 0, "dG_err_eV"] = np.nan
    return out


def add_diagnostics(table: pd.DataFrame, perms: np.ndarray, tol_eV: float = 0.15) -> pd.DataFrame:
    """All diagnostics of a coverage table.

    Per-row sanity flags (already in the table as ``flag_*`` from the workers), face equivalence,
    grown-vs-direct agreement, uncertainties, and the ``flags`` string.

    Parameters
    ----------
    table : pandas.DataFrame
        A coverage table.
    perms : numpy.ndarray
        Site permutations of the slab's symmetry.
    tol_eV : float, default 0.15
        Tolerance of the ``face_eq`` and ``grow_vs_direct`` checks, eV.

    Returns
    -------
    pandas.DataFrame
    """
    out = face_equivalence(table, perms, tol_eV)
    out = uncertainties(pool_minima(out))
    for f in FLAGS:
        col = f"flag_{f}"
        if col not in out:
            out[col] = False
        out[col] = out[col].fillna(False).astype(bool)
    if "grow_direct_diff_eV" in out:
        out["flag_grow_vs_direct"] = out["grow_direct_diff_eV"].abs() > tol_eV
    if "n_starts" in out:
        out["flag_single_start"] = out["n_starts"].fillna(1).astype(int) <= 1
        if "build" in out:  # a sweep row is one start of a pooled search by design
            sweep = out["build"].astype(str).str.match(r"^(shrink|regrow|mirror_top|mirror_bottom|splice)\d+$")
            out.loc[sweep, "flag_single_start"] = False
    else:
        out["n_starts"] = 1
        out["flag_single_start"] = True
    out["flags"] = [";".join(f for f in FLAGS if row[f"flag_{f}"]) for _, row in out.iterrows()]
    return out


def stage_spread(tables: list[pd.DataFrame], column: str = "gamma_J_m2") -> pd.DataFrame:
    """Spread of a quantity across calculator stages, per (ligand, n) lowest rows."""
    rows = pd.concat([t[t["is_min"]][["ligand", "n", column]].assign(stage=t["stage"].iloc[0] if "stage" in t else i)
                      for i, t in enumerate(tables)])
    return rows.groupby(["ligand", "n"])[column].agg(["min", "max", "std"]).reset_index()


def stage_rankings(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """How the funnel's stages rank the arrangements of each (ligand, N).

    One row per (ligand, n, stage): the arrangements that stage computed, in order of increasing
    G (``order``: arrangement indices joined by ``>``, lowest first), the lowest one
    (``best_arrangement``), its ``gamma_J_m2`` and ``dG_eV``, and ``rank_changed``: whether the
    order of the arrangements this stage shares with the previous stage differs from the
    previous stage's order (True also when the lowest arrangement changed), ``best_changed``: the
    lowest shared arrangement differs. Stage 0 rows have both False.
    """
    rows = []
    prev_order: dict[tuple[str, int], list[int]] = {}
    for s, t in enumerate(tables):
        stage = int(t["stage"].iloc[0]) if "stage" in t and len(t) else s
        calc = str(t["calculator"].iloc[0]) if "calculator" in t and len(t) else ""
        for (lig, n), grp in t[t["n"] > 0].groupby(["ligand", "n"]):
            g = grp.sort_values("G_eV").drop_duplicates("arrangement")
            order = [int(a) for a in g["arrangement"]]
            best = g.iloc[0]
            before = prev_order.get((lig, n))
            if before is None:
                changed = best_changed = False
            else:
                shared_now = [a for a in order if a in before]
                shared_before = [a for a in before if a in order]
                changed = shared_now != shared_before
                best_changed = bool(shared_now and shared_before and shared_now[0] != shared_before[0])
            rows.append({"ligand": lig, "n": int(n), "stage": stage, "calculator": calc,
                         "order": ">".join(map(str, order)), "best_arrangement": order[0],
                         "gamma_J_m2": float(best["gamma_J_m2"]), "dG_eV": float(best["dG_eV"]),
                         "rank_changed": changed, "best_changed": best_changed})
            prev_order[(lig, n)] = order
    return pd.DataFrame(rows)
