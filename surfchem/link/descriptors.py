"""Per-ligand descriptors from a screen/campaign output (``results.csv``, ``summary.csv``, ``references.json``).

One row per computed ligand. Columns (units in the names; NaN when the screen lacks the N needed):

``gamma_min_J_m2``, ``n_gamma_min``
    lowest gamma(N) over the computed N and the N where it occurs.
``gamma_N8_J_m2``, ``dG_N8_eV``
    gamma and dG at full coverage (N = ``n_full``, 8 sites on the 2x2 slab).
``gamma_nmax_J_m2``, ``n_max``
    gamma at the largest computed N (equals ``gamma_N8`` for a full screen; lets a reduced
    screen still be compared).
``dG_mean_gt4_eV``
    mean dG(N) over N > 4 (the paper: DDA binding turns unfavourable after the 4th ligand).
``*_anchored_*``, ``anchor_eV``
    with per-ligand DFT anchors (``anchors.json``, :mod:`surfchem.thermo.anchors`): the same
    gamma and dG descriptors on the anchored scale, beside the plain ones, and the anchor delta_L.
    ``lateral_eV`` needs no twin: a per-ligand shift of every dG(N) cancels in it.
``lateral_eV``
    mean per-ligand binding at the largest computed N minus the binding of one isolated ligand,
    ``sum_{k<=N} dG(k) / N - dG(1)``: negative = tails attract each other (stacking), positive =
    steric repulsion. Our definition (the paper names the effect, not a number).
``TS_conf_rotor_eV``
    conformational-entropy penalty per ligand by rotor counting (brief section 2, estimate a):
    ``n_rotors * k_B T ln 3`` at ``T`` (298.15 K), sp3-sp3 rotors as counted by
    :func:`surfchem.thermo.entropy.count_rotors`.
``TS_conf_eV``
    per-ligand T S_conf from the screen's own entropy model when ``results.csv`` has a
    ``TS_conf_eV`` column (per slab, divided by N and averaged over the lowest rows, N > 0).
``heavy_atoms``, ``tail_heavy_atoms``, ``rotors``
    size of the cation and of its tail (heavy atoms other than the ammonium N), sp3-sp3 rotors.
    Like every descriptor here they describe the *computed* molecule (``DDA4``, the truncated
    dibutyldimethylammonium, not the measured didodecyldimethylammonium DDA it stands for).
``chains_N8_nm2``, ``tail_hh_min_N8_A``, ``tail_cc_min_N8_A``, ``tail_tilt_N8_deg``, ``overpacked_N8``
    steric descriptors (:func:`surfchem.build.sterics.steric_descriptors`) of the lowest
    structure at full coverage: tail chains per nm^2 on the denser face, the shortest tail-tail
    H...H and C...C contacts between different ligands (Å), the mean tail tilt from the surface
    normal (deg), and whether a face is denser than close-packed all-trans chains (5.5 nm^-2,
    crystalline polyethylene). Present when ``results.csv`` has the steric columns.
``n_first_overpacked``
    smallest computed N whose lowest structure has a face denser than close packing (NaN: none).
``stacking_energy_eV``
    passed through when the screen provides such a column (not computed here).
``gamma_err_J_m2`` etc.
    error columns of the trust layer (``*_err_*``) at the selected rows, when present.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from surfchem.build.ligands import legacy_meaning, recorded_smiles, resolve_ligand
from surfchem.core.screendir import ScreenDir
from surfchem.errors import InputError
from surfchem.thermo.entropy import count_rotors, rotor_entropy_eV_K

#: the coverage descriptors that also get an anchored twin: plain name -> anchored name
ANCHORED_TWINS = {"gamma_N8_J_m2": "gamma_N8_anchored_J_m2", "gamma_min_J_m2": "gamma_min_anchored_J_m2",
                  "n_gamma_min": "n_gamma_min_anchored", "dG_N8_eV": "dG_N8_anchored_eV",
                  "dG_mean_gt4_eV": "dG_mean_gt4_anchored_eV"}

#: descriptor columns in the order they are shown and tried for the correlation
DESCRIPTORS: dict[str, str] = {
    "gamma_N8_J_m2": "gamma at full coverage N=8 (J/m²)",
    "gamma_min_J_m2": "minimum gamma(N) (J/m²)",
    "n_gamma_min": "N at the gamma minimum",
    "gamma_nmax_J_m2": "gamma at the largest computed N (J/m²)",
    "dG_N8_eV": "dG of the 8th ligand (eV)",
    "dG_mean_gt4_eV": "mean dG(N) over N > 4 (eV)",
    "gamma_N8_anchored_J_m2": "gamma at N=8, DFT-anchored (J/m²)",
    "gamma_min_anchored_J_m2": "minimum gamma(N), DFT-anchored (J/m²)",
    "n_gamma_min_anchored": "N at the anchored gamma minimum",
    "dG_N8_anchored_eV": "dG of the 8th ligand, DFT-anchored (eV)",
    "dG_mean_gt4_anchored_eV": "mean dG(N) over N > 4, DFT-anchored (eV)",
    "anchor_eV": "DFT anchor delta_L = E_exch(DFT) - E_exch(ML) (eV)",
    "lateral_eV": "lateral interaction per ligand at max N (eV)",
    "TS_conf_eV": "T S_conf per ligand, screen's entropy model (eV)",
    "TS_conf_rotor_eV": "T S_conf per ligand, rotor counting (eV)",
    "tail_heavy_atoms": "tail heavy atoms",
    "rotors": "sp3-sp3 rotors",
    "chains_N8_nm2": "tail chains per nm² on the denser face at N=8",
    "tail_hh_min_N8_A": "shortest tail-tail H...H at N=8 (Å)",
    "tail_cc_min_N8_A": "shortest tail-tail C...C at N=8 (Å)",
    "tail_tilt_N8_deg": "mean tail tilt from the normal at N=8 (deg)",
    "stacking_energy_eV": "stacking energy (eV)",
}


def ligand_size(name_or_smiles: str, T: float = 298.15) -> dict[str, float]:
    """Size descriptors of a ligand cation and its rotor-counting entropy penalty.

    Parameters
    ----------
    name_or_smiles : str
        Ligand name or ammonium SMILES.
    T : float, default 298.15
        Temperature of the entropy penalty, K.

    Returns
    -------
    dict of str to float
        ``heavy_atoms``, ``tail_heavy_atoms`` (without the ammonium N), ``rotors`` (sp3-sp3) and
        ``TS_conf_rotor_eV`` (eV; :mod:`surfchem.thermo.entropy`).

    Raises
    ------
    surfchem.errors.InputError
        Unknown name or unparsable SMILES.
    """
    from rdkit import Chem

    spec = resolve_ligand(name_or_smiles)
    mol = Chem.MolFromSmiles(spec.smiles)
    heavy = mol.GetNumHeavyAtoms()
    return {"heavy_atoms": int(heavy), "tail_heavy_atoms": int(heavy - 1),
            "rotors": int(count_rotors(spec.smiles).sp3_sp3),
            "TS_conf_rotor_eV": float(T * rotor_entropy_eV_K(spec.smiles))}


def descriptors_from_results(results_dir: str | Path | list, n_full: int = 8, T: float = 298.15,
                             table: str = "auto", ref_tol_eV: float = 1e-3) -> pd.DataFrame:
    """Descriptors per ligand (module docstring) from one or several screen/campaign output directories.

    Several directories (e.g. the measured ligands in one screen, new candidates in another) are
    combined only when their gamma values are comparable: same material and calculator, the same
    bulk/CsBr references (``g_bulk_eV``, ``mu_AX_eV`` within ``ref_tol_eV``) and the same bare slab
    (formula of the N = 0 row: thickness and size); a ligand may appear in only one of them.

    Parameters
    ----------
    results_dir : str, Path or list of them
        Output directories (``results.csv``, ``summary.csv``, ``references.json``; ``thermo.csv``
        of ``surfchem thermo --out`` when present and ``table`` allows).
    n_full : int, default 8
        N of full coverage (the ``*_N8`` descriptors).
    T : float, default 298.15
        Temperature for T S_conf, K.
    table : {"auto", "results", "thermo"}, default "auto"
        Descriptor source: ``thermo.csv`` (entropy-corrected) or ``results.csv``; ``"auto"`` =
        ``thermo.csv`` when present.
    ref_tol_eV : float, default 1e-3
        Tolerance on the references when combining directories, eV.

    Returns
    -------
    pandas.DataFrame
        One row per ligand: ``ligand``, ``smiles``, ``material`` and the columns of
        :data:`DESCRIPTORS` (gamma in J/m², dG and T S_conf in eV, distances in Å, densities in
        nm⁻²).

    Raises
    ------
    surfchem.errors.InputError
        Missing files, a ``DDA``/``DDA<n>`` table without a ``smiles`` column, or directories
        that cannot be combined (the message names both).
    """
    dirs = [results_dir] if isinstance(results_dir, str | Path) else list(results_dir)
    if not dirs:
        raise InputError("give at least one results directory")
    parts = [_descriptors_one(d, n_full, T, table) for d in dirs]
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    for other in parts[1:]:
        a, b = first.attrs, other.attrs
        for key in ("material", "calculator", "bare_slab"):
            if a.get(key) != b.get(key):
                raise InputError(f"{a['source']!r} ({a.get(key)}) and {b['source']!r} ({b.get(key)}) differ "
                                 f"in {key}: their gamma values are not comparable; link them separately")
        for key in ("g_bulk_eV", "mu_AX_eV"):
            x, y = a["references"].get(key), b["references"].get(key)
            if x is not None and y is not None and abs(float(x) - float(y)) > ref_tol_eV:
                raise InputError(f"{a['source']!r} and {b['source']!r} have different {key} ({x:.4f} vs "
                                 f"{y:.4f} eV; different relax settings?): gamma is not comparable")
        dup = sorted(set(first["ligand"]) & set(other["ligand"]))
        if dup:
            raise InputError(f"ligand(s) {dup} in both {a['source']!r} and {b['source']!r}; keep one "
                             "(e.g. give only one of the directories for them)")
    out = pd.concat(parts, ignore_index=True)
    out.attrs.update(first.attrs)
    out.attrs["source"] = ", ".join(p.attrs["source"] for p in parts)
    out.attrs["source_table"] = ", ".join(sorted({p.attrs["source_table"] for p in parts}))
    return out


def coverage_summary(results_dir: str | Path | list, table: str = "auto") -> pd.DataFrame:
    """Lowest row per (ligand, n) from the same table(s) the descriptors come from (for plots).

    Parameters
    ----------
    results_dir : str, Path or list
        One screen output directory or several.
    table : str, default "auto"
        Which table to read (as :meth:`surfchem.core.screendir.ScreenDir.read_tables`).

    Returns
    -------
    pandas.DataFrame
        One row per (ligand, n) with ``gamma_J_m2`` (J/m²) and the table's other columns.
    """
    dirs = [results_dir] if isinstance(results_dir, str | Path) else list(results_dir)
    out = []
    for d in dirs:
        t, summ, _, _ = ScreenDir(d).read_tables(table)
        if summ is not None and {"ligand", "n", "gamma_J_m2"} <= set(summ.columns):
            out.append(summ)
            continue
        if "is_min" in t:
            t = t[t["is_min"].astype(str).str.lower().isin(["true", "1"])]
        out.append(t.sort_values("gamma_J_m2").drop_duplicates(["ligand", "n"]).sort_values(["ligand", "n"]))
    return pd.concat(out, ignore_index=True)


def _descriptors_one(results_dir: str | Path, n_full: int = 8, T: float = 298.15,
                     table: str = "auto") -> pd.DataFrame:
    """Descriptors per ligand (see module docs) from a screen/campaign output directory.

    The directory holds ``results.csv`` (all computed arrangements; ``summary.csv`` and
    ``references.json`` are used when present) and/or ``thermo.csv`` + ``thermo_summary.csv``
    written by ``surfchem thermo --out`` (gamma and dG with the entropy model's G_corr, and
    ``TS_conf_eV`` per row). ``table``: ``"auto"`` (thermo.csv when present, else results.csv),
    ``"results"`` or ``"thermo"``. ``df.attrs`` carries ``material``, ``calculator``, the
    references, the source path and ``source_table`` (with the entropy model, if any).
    """
    path = Path(results_dir)
    tab, summ, refs, used = ScreenDir(path).read_tables(table)
    desc = descriptors_from_tables(tab, summ, n_full=n_full, T=T)
    model = ""
    if "entropy_model" in tab.columns and tab["entropy_model"].notna().any():
        model = f" (entropy model {tab['entropy_model'].dropna().iloc[0]})"
    material = refs.get("material") or (str(tab["material"].dropna().iloc[0])
                                        if "material" in tab.columns and tab["material"].notna().any()
                                        else "CsPbBr3")
    desc.attrs.update(source=str(path), references=refs, material=material,
                      calculator=refs.get("calculator", "") or (
                          str(tab["calculator"].dropna().iloc[0]) if "calculator" in tab.columns
                          and tab["calculator"].notna().any() else ""),
                      source_table=used + model, bare_slab=_bare_formula(tab))
    desc["material"] = material
    return desc


def descriptors_from_tables(table: pd.DataFrame, summary: pd.DataFrame | None = None,
                            n_full: int = 8, T: float = 298.15) -> pd.DataFrame:
    """Descriptors from the in-memory tables of a screen (``results.csv`` / ``summary.csv``).

    Parameters
    ----------
    table : pandas.DataFrame
        Every computed row (``results.csv``).
    summary : pandas.DataFrame, optional
        The lowest row per (ligand, N) (default: derived from ``table``).
    n_full : int, default 8
        N of full coverage.
    T : float, default 298.15
        Temperature for T S_conf, K.

    Returns
    -------
    pandas.DataFrame
        One row per ligand, columns as in :func:`descriptors_from_results`.
    """
    need = ("ligand", "n", "gamma_J_m2", "dG_eV")
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise InputError(f"results table lacks columns {missing}; it should come from `surfchem screen`")
    t = table.copy()
    t["ligand"] = t["ligand"].fillna("").astype(str)
    if "is_min" in t:
        t["is_min"] = t["is_min"].astype(str).str.lower().isin(["true", "1"])
        best = t[t["is_min"]]
    else:
        best = t.loc[t.groupby(["ligand", "n"])["gamma_J_m2"].idxmin()]
    best = best.drop_duplicates(["ligand", "n"])
    if summary is not None and {"ligand", "n", "gamma_J_m2"} <= set(summary.columns):
        s = summary.copy()
        s["ligand"] = s["ligand"].fillna("").astype(str)
        extra = [c for c in best.columns if c not in s.columns and c not in ("ligand", "n")]
        s = s.merge(best[["ligand", "n", *extra]], on=["ligand", "n"], how="left")
    else:
        s = best
    ligands = [lig for lig in dict.fromkeys(s["ligand"]) if lig]
    if not ligands:
        raise InputError("results table has no ligand rows (only the bare slab?); screen at least one ligand")
    rows = []
    for lig in ligands:
        g = s[s["ligand"] == lig].sort_values("n").set_index("n")
        gam = g["gamma_J_m2"].astype(float)
        dg = g["dG_eV"].astype(float)
        rec: dict = {"ligand": lig, "smiles": _smiles_of(lig, t), "n_computed": ",".join(str(int(k)) for k in g.index)}
        valid = gam.dropna()
        rec.update(_coverage_descriptors(gam, dg, n_full))
        n_max = rec["n_max"]
        if "gamma_anchored_J_m2" in g.columns and g["gamma_anchored_J_m2"].notna().any():
            anch = _coverage_descriptors(g["gamma_anchored_J_m2"].astype(float), g["dG_anchored_eV"].astype(float), n_full)
            rec.update({twin: anch[k] for k, twin in ANCHORED_TWINS.items()})
            rec["anchor_eV"] = float(g["anchor_eV"].astype(float).dropna().iloc[0])
        d = dg[dg.index > 0]
        if n_max >= 2 and 1 in d.index and d.loc[1:n_max].notna().all() and len(d.loc[1:n_max]) == n_max:
            rec["lateral_eV"] = float(d.loc[1:n_max].sum() / n_max - d.loc[1])
        else:
            rec["lateral_eV"] = math.nan
        if "TS_conf_eV" in g.columns:
            ts = (g["TS_conf_eV"].astype(float) / pd.Series(g.index, index=g.index)).where(g.index > 0).dropna()
            rec["TS_conf_eV"] = float(ts.mean()) if len(ts) else math.nan
        rec.update(_steric_at(g, n_full))
        if "stacking_energy_eV" in g.columns:
            rec["stacking_energy_eV"] = float(g["stacking_energy_eV"].astype(float).dropna().mean())
        for c in g.columns:
            if c.endswith(("_err_J_m2", "_err_eV")):
                base = c.replace("_err", "")
                if base == "gamma_J_m2":
                    rec["gamma_min_err_J_m2"] = float(g[c].get(rec["n_gamma_min"], math.nan)) if len(valid) else math.nan
                    rec["gamma_N8_err_J_m2"] = float(g[c].get(n_full, math.nan))
                elif base == "dG_eV":
                    rec["dG_N8_err_eV"] = float(g[c].get(n_full, math.nan))
        if "flags" in g.columns:
            rec["flags"] = ";".join(sorted({str(f) for f in g["flags"].dropna() if str(f)}))
        try:
            size = ligand_size(rec["smiles"] or lig, T=T)
        except InputError:
            size = {k: math.nan for k in ("heavy_atoms", "tail_heavy_atoms", "rotors", "TS_conf_rotor_eV")}
        rec.update(size)
        rows.append(rec)
    out = pd.DataFrame(rows)
    out.attrs.update(n_full=n_full, T=T)
    return out


def _coverage_descriptors(gam: pd.Series, dg: pd.Series, n_full: int) -> dict[str, float]:
    """gamma_min, its N, gamma and dG at full coverage, gamma at the largest N, mean dG over N > 4
    (one ligand; ``gam`` in J/m² and ``dg`` in eV, indexed by N)."""
    valid = gam.dropna()
    n_max = int(valid.index.max()) if len(valid) else 0
    hi = dg[(dg.index > 4)].dropna()
    return {"gamma_min_J_m2": float(valid.min()) if len(valid) else math.nan,
            "n_gamma_min": int(valid.idxmin()) if len(valid) else math.nan,
            "gamma_N8_J_m2": float(gam.get(n_full, math.nan)), "dG_N8_eV": float(dg.get(n_full, math.nan)),
            "n_max": n_max, "gamma_nmax_J_m2": float(gam.get(n_max, math.nan)),
            "dG_mean_gt4_eV": float(hi.mean()) if len(hi) else math.nan}


def _steric_at(rows: pd.DataFrame, n_full: int) -> dict[str, float]:
    """Steric descriptors of one ligand's lowest rows (indexed by N; columns of
    :data:`surfchem.build.sterics.STERIC_COLUMNS`) at ``n_full``, and the first overpacked N;
    empty when the table has no steric columns (results written before they existed)."""
    if "chains_top_nm2" not in rows.columns:
        return {}

    def at(col: str) -> float:
        return float(rows[col].astype(float).get(n_full, math.nan)) if col in rows.columns else math.nan

    flags = rows["flag_overpacked"].astype(str).str.lower().isin(["true", "1"]) if "flag_overpacked" in rows \
        else pd.Series(False, index=rows.index)
    first = [int(n) for n in rows.index[flags.to_numpy()] if n > 0]
    faces = [v for v in (at("chains_top_nm2"), at("chains_bottom_nm2")) if not math.isnan(v)]
    return {"chains_N8_nm2": max(faces, default=math.nan),
            "tail_hh_min_N8_A": at("tail_hh_min_A"), "tail_cc_min_N8_A": at("tail_cc_min_A"),
            "tail_tilt_N8_deg": at("tail_tilt_deg"),
            "overpacked_N8": bool(flags.get(n_full, False)) if n_full in rows.index else math.nan,
            "n_first_overpacked": min(first) if first else math.nan}


def _bare_formula(table: pd.DataFrame) -> str:
    if "formula" not in table.columns:
        return ""
    f = table.loc[table["n"] == 0, "formula"].dropna()
    return str(f.iloc[0]) if len(f) else ""


def _smiles_of(ligand: str, table: pd.DataFrame) -> str:
    """The ligand's recorded SMILES (``smiles`` column), else the SMILES its name resolves to
    ('' when it resolves to none); an old ``DDA``/``DDA<n>`` name without a recorded SMILES
    raises (:func:`surfchem.build.ligands.recorded_smiles`)."""
    recorded = table.loc[table["ligand"] == ligand, "smiles"].tolist() if "smiles" in table.columns else []
    try:
        return recorded_smiles(ligand, recorded)
    except InputError:
        if legacy_meaning(ligand):
            raise
        return ""
