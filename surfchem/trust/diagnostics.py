"""Consistency diagnostics and uncertainties of a coverage table, added to every result table.

Flags (each a boolean column ``flag_<name>``, and together the ``flags`` string), in
:data:`FLAGS` order: the structural flags of each relaxed structure (``bonds``, ``clash``,
``head_off_site``, ``pb_coordination``, ``vacuum``; computed by the workers with
:func:`surfchem.trust.sanity.structure_sanity`, where they are described), then the consistency
flags of the table:

* ``face_eq``: two binding steps that fill the same kind of site on the two faces (same
  in-plane configuration of the face before the step, up to the slab's symmetry) differ in dG by
  more than ``tol_eV``; with faces far apart these are the same event (prototype lesson 2, docs "Trustworthy minima");
* ``grow_vs_direct``: a structure grown from the relaxed N-1 slab and the same arrangement built
  directly relaxed to energies more than ``tol_eV`` apart (the reported value is the lower);
* ``single_start``: the energy comes from one relaxation (no search): its uncertainty is unknown
  (not raised on the single points of a funnel stage, which re-evaluate an earlier stage's minimum).

Uncertainties (our definition): sigma_E(N) = ``energy_spread_eV`` = standard deviation of the
energies of the lowest (up to three) distinct minima found by the search;
gamma_err = sigma_E / (2A); dG_err(N) = sqrt(sigma_E(N)^2 + sigma_E(N-1)^2). References are taken
as exact. When several calculator stages ran, :func:`stage_spread` gives the spread across them
and :func:`stage_rankings` how each stage ranks the arrangements.

The per-structure checks (:func:`~surfchem.trust.sanity.close_contacts`,
:func:`~surfchem.trust.sanity.structure_sanity`, :func:`~surfchem.trust.sanity.invalid_reasons`,
...) moved to :mod:`surfchem.trust.sanity`; their names are still importable from here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from surfchem.core.units import EV_PER_A2_IN_J_PER_M2

# the per-structure checks, importable from here as before the split into sanity/diagnostics
from surfchem.trust.sanity import CLASH_FLOOR_A as CLASH_FLOOR_A
from surfchem.trust.sanity import CLASH_SCALE as CLASH_SCALE
from surfchem.trust.sanity import HALIDES as HALIDES
from surfchem.trust.sanity import PROTON_TRANSFER_A as PROTON_TRANSFER_A
from surfchem.trust.sanity import STRUCTURE_FLAGS
from surfchem.trust.sanity import close_contacts as close_contacts
from surfchem.trust.sanity import describe_contacts as describe_contacts
from surfchem.trust.sanity import head_sites as head_sites
from surfchem.trust.sanity import invalid_reasons as invalid_reasons
from surfchem.trust.sanity import proton_transferred as proton_transferred
from surfchem.trust.sanity import structure_sanity as structure_sanity

#: every flag column of a result table: the structural flags, then the table's consistency flags
FLAGS = (*STRUCTURE_FLAGS, "face_eq", "grow_vs_direct", "single_start")


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

    Parameters
    ----------
    table : pandas.DataFrame
        A coverage table (``ligand``, ``n``, ``is_min``, ``sites``, ``energy_eV``; optional
        ``valid`` and ``start_energies_eV``).
    merge_eV : float, default 0.02
        Minima closer than this are one, eV.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` with ``n_starts``, ``n_distinct``, ``energy_spread_eV`` (eV) and
        ``gap_eV`` (eV) pooled on the lowest rows.
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
        if "mode" in out:  # a single point re-evaluates an earlier stage's minimum: nothing to search
            out.loc[out["mode"].astype(str) == "single_point", "flag_single_start"] = False
    else:
        out["n_starts"] = 1
        out["flag_single_start"] = True
    out["flags"] = [";".join(f for f in FLAGS if row[f"flag_{f}"]) for _, row in out.iterrows()]
    return out


def stage_spread(tables: list[pd.DataFrame], column: str = "gamma_J_m2") -> pd.DataFrame:
    """Spread of a quantity across calculator stages, per (ligand, n) lowest rows.

    Parameters
    ----------
    tables : list of pandas.DataFrame
        One coverage table per stage (``is_min``, ``ligand``, ``n``, ``column``; optional ``stage``).
    column : str, default "gamma_J_m2"
        The quantity.

    Returns
    -------
    pandas.DataFrame
        One row per (ligand, n) with ``min``, ``max`` and ``std`` of ``column`` over the stages
        (in its unit).
    """
    rows = pd.concat([t[t["is_min"]][["ligand", "n", column]].assign(stage=t["stage"].iloc[0] if "stage" in t else i)
                      for i, t in enumerate(tables)])
    return rows.groupby(["ligand", "n"])[column].agg(["min", "max", "std"]).reset_index()


def stage_rankings(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """How the funnel's stages rank the arrangements of each (ligand, N).

    Parameters
    ----------
    tables : list of pandas.DataFrame
        One coverage table per stage, in funnel order (``ligand``, ``n``, ``arrangement``,
        ``G_eV``, ``gamma_J_m2``, ``dG_eV``; optional ``stage`` and ``calculator``).

    Returns
    -------
    pandas.DataFrame
        One row per (ligand, n, stage): the arrangements that stage computed, in order of
        increasing G (``order``: arrangement indices joined by ``>``, lowest first), the lowest one
        (``best_arrangement``), its ``gamma_J_m2`` (J/m²) and ``dG_eV`` (eV), and
        ``rank_changed``: whether the order of the arrangements this stage shares with the previous
        stage differs from the previous stage's order (True also when the lowest arrangement
        changed), ``best_changed``: the lowest shared arrangement differs. Stage 0 rows have both
        False.
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
