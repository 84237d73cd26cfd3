"""A benchmark of minima: best-known energies per (system, ligand, N) and how a search scores.

The yardstick of every search setting (starts, sweeps, move types, optimiser): the reported
minimum of each (ligand, N) against the lowest *physical* energy any run has found for the same
system. AdsorbML (Lan et al., npj Comput. Mater. 9, 172 (2023)) scores a search the same way:
success = the share of systems whose reported minimum is within a threshold of the best known
(they use 0.1 eV); we also give 0.05 eV. Energies are per slab (one 2x2 cell), in eV.

The best-known table is plain CSV (:data:`BEST_KNOWN_COLUMNS`) with one extended-XYZ structure
per entry, so anyone can check a claimed minimum. It is only ever lowered, and only by a
structure that passes the physical checks again when it is added
(:func:`surfchem.trust.sanity.structure_sanity`: no inter-fragment clash, every head on its
own site, every Pb six-coordinated): a minimum that is low because two atoms fell into a hole of
the potential is not a minimum.

A *system* is the slab and the calculator (:func:`system_key`); ligands are keyed by their
canonical SMILES when the results record it (so a renamed ligand keeps its entries), else by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from ase.io import write

from surfchem.build.ligands import resolve_ligand
from surfchem.core.screendir import ScreenDir
from surfchem.errors import FileFormatError, InputError
from surfchem.thermo.results import ScreenData, load_screen
from surfchem.trust.sanity import structure_sanity

#: columns of the best-known table (CSV)
BEST_KNOWN_COLUMNS = ("system", "ligand_key", "ligand", "n", "energy_eV", "structure", "found_in")
#: success thresholds (eV per slab): ours, and AdsorbML's
SUCCESS_THRESHOLDS_EV = (0.05, 0.10)


def system_key(data: ScreenData) -> str:
    """Key of the system a screen computed: runs on the same key are comparable.

    Parameters
    ----------
    data : surfchem.thermo.results.ScreenData
        A loaded screen (:func:`surfchem.thermo.results.load_screen`).

    Returns
    -------
    str
        ``material/calculator/bare-slab formula/area``, e.g.
        ``CsPbBr3/chgnet-d3/Br28Cs12Pb8/A141.6`` (area in Å²).

    Raises
    ------
    surfchem.errors.InputError
        The screen has no N = 0 (bare slab) row.
    """
    return records_system_key(data.records, data.refs.material, data.refs.calculator, str(data.path))


def records_system_key(records: pd.DataFrame, material: str, calculator: str, where: str = "") -> str:
    """:func:`system_key` of a results table.

    Parameters
    ----------
    records : pandas.DataFrame
        Results rows (``n``, ``formula``, ``area_A2`` in Å²).
    material, calculator : str
        From the screen's references.
    where : str, default ""
        Name of the source, for the error message.

    Returns
    -------
    str
        ``material/calculator/bare-slab formula/area``.

    Raises
    ------
    surfchem.errors.InputError
        No N = 0 (bare slab) row.
    """
    bare = records[records["n"] == 0]
    if bare.empty:
        raise InputError(f"{where or 'results'}: no N = 0 row; the benchmark needs the bare slab to key the system")
    area = float(bare["area_A2"].iloc[0])
    return f"{material}/{calculator}/{bare['formula'].iloc[0]}/A{area:.1f}"


def _ligand_key(row: pd.Series, rename: dict[str, str] | None = None) -> str:
    """Canonical SMILES of a results row's ligand (recorded, else resolved from its name)."""
    smiles = row.get("smiles")
    if isinstance(smiles, str) and smiles:
        return smiles
    name = str(row["ligand"])
    return resolve_ligand((rename or {}).get(name, name)).smiles


#: invalid reasons that :func:`physical` checks again on the structure alone; a row rejected for
#: anything else (bond graph changed, not converged, failed) is never a candidate
_RECHECKED = {"rejected", "clash", "head_off_site", "pb_coordination"}


def _candidates(records: pd.DataFrame) -> pd.DataFrame:
    ok = np.isfinite(records["energy_eV"].astype(float)) & (records["ligand"] != "")
    if "status" in records:
        ok &= records["status"].astype(object).fillna("ok").astype(str).isin(["ok", "rejected"])
    if "converged" in records:
        ok &= ~records["converged"].astype(str).isin(["False", "0", "0.0"])
    if "invalid_reason" in records:
        reasons = records["invalid_reason"].astype(object).fillna("").astype(str)
        ok &= np.array([set(filter(None, r.split(", "))) <= _RECHECKED for r in reasons], bool)
    return records[ok]


def physical(atoms) -> list[str]:
    """Structural problems of a relaxed slab checked on its own (empty list: physical).

    The checks of :func:`~surfchem.trust.sanity.structure_sanity` that need no start
    structure: ``clash``, ``head_off_site``, ``pb_coordination``.

    Parameters
    ----------
    atoms : ase.Atoms
        A relaxed (decorated) slab.

    Returns
    -------
    list of str
        The raised flags among ``clash``, ``head_off_site``, ``pb_coordination``.
    """
    flags = structure_sanity(atoms, atoms)
    return [k for k in ("clash", "head_off_site", "pb_coordination") if flags[k]]


def read_best_known(path: str | Path) -> pd.DataFrame:
    """Read the best-known table.

    Parameters
    ----------
    path : str or Path
        Best-known CSV.

    Returns
    -------
    pandas.DataFrame
        The table (columns :data:`BEST_KNOWN_COLUMNS`, energies in eV); empty if the file does not
        exist.

    Raises
    ------
    surfchem.errors.FileFormatError
        The file lacks columns of :data:`BEST_KNOWN_COLUMNS`.
    """
    p = Path(path)
    if not p.exists():
        return pd.DataFrame(columns=list(BEST_KNOWN_COLUMNS))
    table = pd.read_csv(p, dtype={"ligand_key": str, "ligand": str, "system": str})
    missing = set(BEST_KNOWN_COLUMNS) - set(table.columns)
    if missing:
        raise FileFormatError(f"{p}: not a best-known table, missing columns {sorted(missing)}; "
                              f"expected {list(BEST_KNOWN_COLUMNS)}")
    return table


@dataclass
class Update:
    """One entry of the best-known table lowered (or added) by :func:`update_best_known`.

    Attributes
    ----------
    system : str
        System key (:func:`system_key`).
    ligand : str
        Ligand name.
    n : int
        Coverage (ligands per slab).
    old_eV : float or None
        Previous best-known energy, eV (None: a new entry).
    new_eV : float
        New best-known energy, eV.
    """

    system: str
    ligand: str
    n: int
    old_eV: float | None
    new_eV: float


def update_best_known(path: str | Path, results: str | Path, label: str | None = None,
                      rename: dict[str, str] | None = None) -> list[Update]:
    """Lower the best-known table at ``path`` with the physical minima of a screen directory.

    For each (ligand, N) of ``results`` the rows are tried from the lowest energy up: the first
    whose structure (read back from the screen's database) passes :func:`physical` is the
    candidate. Rows rejected at run time only for a reason :func:`physical` re-checks count too,
    so a change of the site rule re-judges old runs; rows whose bond graph changed, that did not
    converge or failed never count. A candidate lower than the entry (by more than 1e-4 eV) is
    written next to the table (``structures/<slug>.extxyz``) and replaces it.

    Parameters
    ----------
    path : str or Path
        Best-known CSV (created if missing).
    results : str or Path
        A finished screen or campaign output directory.
    label : str, optional
        Recorded in ``found_in`` (default: the directory name).
    rename : dict, optional
        Old ligand name -> current name, for results that predate the recorded SMILES (e.g.
        ``{"DDA6": "C6A"}``: hexylammonium was called DDA6 before the paper's DDA was built).

    Returns
    -------
    list of Update
        The entries that changed.
    """
    path = Path(path)
    data = load_screen(results)
    system = system_key(data)
    table = read_best_known(path)
    changes = []
    for (ligand, n), grp in _candidates(data.records).groupby(["ligand", "n"]):
        key = _ligand_key(grp.iloc[0], rename)
        here = (table["system"] == system) & (table["ligand_key"] == key) & (table["n"] == int(n))
        old = float(table.loc[here, "energy_eV"].min()) if here.any() else None
        atoms = None
        for _, row in grp.sort_values("energy_eV").iterrows():
            if old is not None and float(row["energy_eV"]) >= old - 1e-4:
                break
            got = data.structure(row)
            if got is not None and not physical(got):
                atoms, energy = got, float(row["energy_eV"])
                break
        if atoms is None:
            continue
        name = (rename or {}).get(str(ligand), str(ligand))
        slug = f"{system}_{name}_n{int(n)}".replace("/", "_")
        rel = Path("structures") / f"{slug}.extxyz"
        (path.parent / "structures").mkdir(parents=True, exist_ok=True)
        write(path.parent / rel, atoms)
        table = table[~here]
        entry = {"system": system, "ligand_key": key, "ligand": name, "n": int(n),
                 "energy_eV": energy, "structure": str(rel), "found_in": label or Path(results).name}
        table = pd.concat([table, pd.DataFrame([entry])], ignore_index=True)
        changes.append(Update(system, entry["ligand"], int(n), old, energy))
    table.sort_values(["system", "ligand", "n"]).to_csv(path, index=False)
    return changes


def score(results: str | Path, best_known: str | Path | pd.DataFrame,
          rename: dict[str, str] | None = None) -> dict:
    """Score a screen's reported minima against the best-known table.

    Parameters
    ----------
    results : str or Path
        A finished screen or campaign output directory.
    best_known : str, Path or pandas.DataFrame
        The best-known table or its CSV (:func:`read_best_known`).
    rename : dict, optional
        Old ligand name -> current name (as in :func:`update_best_known`).

    Returns
    -------
    dict
        ``n_pairs`` (ligand, N) with a best-known entry; ``success_<t>`` the share whose reported
        minimum (``is_min``) lies within t eV of the best known, for t in
        :data:`SUCCESS_THRESHOLDS_EV`; ``max_excess_eV``; ``max_face_eq_eV`` the largest
        face-equivalence violation; ``n_flagged`` reported minima with any flag other than
        ``single_start``; ``relaxations`` (rows), ``force_calls`` (sum of optimiser steps, one
        force call each), ``wall_s`` (the run's wall time, from ``references.json``), and
        ``excess_eV`` per ``ligand:N``.

    Raises
    ------
    surfchem.errors.InputError
        The screen has no bare-slab row (:func:`system_key`).
    """
    data = load_screen(results)
    out = {"results": str(results), **score_table(data.records, system_key(data), best_known, rename)}
    refs = ScreenDir(results).read_references()
    out["wall_s"] = float(refs.get("wall_s", float("nan")))
    return out


def estimated_wall_s(records: pd.DataFrame, wall: str = "wall_s") -> float:
    """Wall time of a screen estimated from its rows' task times, s.

    Each ligand's chain runs in sequence on one worker, after the shared work (rows without a
    ligand: the bare slab), so the estimate is the shared task time plus the slowest ligand's
    summed task time.

    Parameters
    ----------
    records : pandas.DataFrame
        Results rows with ``ligand`` ("" for shared rows) and the task time column.
    wall : str, default "wall_s"
        The column of task times (s), e.g. rescaled ones.

    Returns
    -------
    float
        Seconds.
    """
    t = records[wall].astype(float).fillna(0.0)
    own = records["ligand"].fillna("").astype(str) != ""
    per_ligand = t[own].groupby(records.loc[own, "ligand"]).sum()
    return float(t[~own].sum() + (per_ligand.max() if len(per_ligand) else 0.0))


def score_table(records: pd.DataFrame, system: str, best_known: str | Path | pd.DataFrame,
                rename: dict[str, str] | None = None) -> dict:
    """:func:`score` of a results table (e.g. a subset of a run's rows, rebuilt).

    Parameters
    ----------
    records : pandas.DataFrame
        Results rows with ``is_min``, ``energy_eV`` (eV), ``ligand``, ``n`` and, if present,
        ``face_eq_violation_eV``, ``flags``, ``n_steps``.
    system : str
        Its system key (:func:`records_system_key`).
    best_known : str, Path or pandas.DataFrame
        The best-known table or its CSV.
    rename : dict, optional
        Old ligand name -> current name.

    Returns
    -------
    dict
        The keys of :func:`score` except ``results`` and ``wall_s``.
    """
    table = best_known if isinstance(best_known, pd.DataFrame) else read_best_known(best_known)
    table = table[table["system"] == system]
    rec = records
    best = rec[rec["is_min"].astype(str).isin(["True", "1", "1.0"]) & (rec["ligand"] != "")]
    excess = {}
    for _, row in best.iterrows():
        hit = table[(table["ligand_key"] == _ligand_key(row, rename)) & (table["n"] == int(row["n"]))]
        if len(hit):
            excess[f"{row['ligand']}:{int(row['n'])}"] = float(row["energy_eV"]) - float(hit["energy_eV"].min())
    values = np.array(list(excess.values()), float)
    out = {"system": system, "n_pairs": len(values)}
    for t in SUCCESS_THRESHOLDS_EV:
        out[f"success_{t:g}"] = float(np.mean(values <= t + 1e-9)) if len(values) else float("nan")
    out["max_excess_eV"] = float(values.max()) if len(values) else float("nan")
    fe = best["face_eq_violation_eV"].astype(float) if "face_eq_violation_eV" in best else pd.Series(dtype=float)
    out["max_face_eq_eV"] = float(fe.max()) if fe.notna().any() else float("nan")
    flags = best["flags"].astype(object).fillna("").astype(str) if "flags" in best else pd.Series(dtype=str)
    out["n_flagged"] = int(sum(bool(set(f.split(";")) - {"", "single_start"}) for f in flags))
    out["relaxations"] = int(len(rec))
    out["force_calls"] = int(rec["n_steps"].fillna(0).sum()) if "n_steps" in rec else 0
    out["excess_eV"] = excess
    return out
