"""Measured single-dot statistics: load, validate and reduce to one row per ligand.

An experiments table is a CSV with at least ``ligand`` and one measured column
(``on_fraction`` ...; see :data:`surfchem.link.paper.COLUMNS`). Rows written by
``surfchem photons batch`` (one per photon file, no ``ligand`` column) are accepted when a
``ligand`` is given for the whole file. ``on_fraction`` is a fraction 0..1; values in 1..100 are
read as percent only if *every* value in the file is > 1 (otherwise the file is refused).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from surfchem.errors import InputError
from surfchem.link.paper import paper_table

#: measured quantities carried through the link (a table needs at least one of them)
MEASURED = ("on_fraction", "mandel_q", "k_on", "k_off", "g2_0")

#: ways to reduce several rows of one (ligand, material) to one value per column
SELECT = ("primary", "longest", "mean", "median")


def load_experiments(source: str | Path | pd.DataFrame = "paper", ligand: str | None = None,
                     material: str | None = None) -> pd.DataFrame:
    """Read a table of measured single-dot statistics.

    Parameters
    ----------
    source : str, Path or pandas.DataFrame, default "paper"
        ``"paper"`` (the paper's values, :func:`surfchem.link.paper.paper_table`), a CSV path
        (``analysis/on_fractions.csv`` layout, or a ``surfchem photons batch`` table) or a
        DataFrame. Columns: ``ligand`` (name or SMILES), ``material``, ``on_fraction`` (0..1),
        ``mandel_q``, ``k_on``, ``k_off``, ``g2_0``, ``duration_s`` (s), ...
    ligand : str, optional
        Fills the ``ligand`` column when the file has none (e.g. a photons batch CSV of one ligand).
    material : str, optional
        Fills the ``material`` column likewise.

    Returns
    -------
    pandas.DataFrame
        One row per measurement, with canonical ``smiles``.

    Raises
    ------
    surfchem.errors.InputError
        Naming the file and the missing or bad column.
    """
    if isinstance(source, pd.DataFrame):
        df, name = source.copy(), "experiments table"
    elif str(source) == "paper":
        df, name = paper_table(), "paper table"
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"experiments file {str(path)!r} does not exist; give a CSV such as "
                             "analysis/on_fractions.csv, or 'paper' for the paper's values")
        try:
            df = pd.read_csv(path, comment=None)
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise InputError(f"experiments file {str(path)!r} is not a readable CSV: {exc}") from None
        name = str(path)
    if "ligand" not in df.columns:
        if ligand is None:
            raise InputError(f"{name} has no 'ligand' column; add one (a name such as PEA or a "
                             "SMILES per row) or give the ligand of the whole file (--ligand)")
        df["ligand"] = ligand
    elif ligand is not None:
        df["ligand"] = df["ligand"].fillna(ligand)
    if "material" not in df.columns:
        df["material"] = material or "CsPbBr3"
    elif material is not None:
        df["material"] = df["material"].fillna(material)
    df["material"] = df["material"].fillna("CsPbBr3")
    present = [c for c in MEASURED if c in df.columns]
    if not present:
        raise InputError(f"{name} has none of the measured columns {list(MEASURED)}")
    for c in present:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    if df["ligand"].isna().any() or (df["ligand"].astype(str).str.strip() == "").any():
        bad = [int(i) + 2 for i in np.flatnonzero(df["ligand"].isna() | (df["ligand"].astype(str).str.strip() == ""))]
        raise InputError(f"{name}: empty ligand on CSV line(s) {bad[:10]}; every row needs a ligand")
    df["ligand"] = df["ligand"].astype(str).str.strip()
    if "on_fraction" in df.columns:
        v = df["on_fraction"].dropna()
        if len(v) and (v > 1).any():
            if (v > 1).all() and (v <= 100).all():
                df["on_fraction"] = df["on_fraction"] / 100.0
            else:
                raise InputError(f"{name}: on_fraction must be a fraction 0..1 (or all values in "
                                 f"percent), got {sorted(v.tolist())[:6]}")
        if (v < 0).any():
            raise InputError(f"{name}: negative on_fraction {v[v < 0].tolist()}")
    for c in ("smiles", "condition", "stacking", "qualifier", "source", "figure", "note"):
        if c not in df.columns:
            df[c] = ""
        df[c] = df[c].fillna("").astype(str)
    if "source" in df.columns:
        df.loc[df["source"] == "", "source"] = "user" if name != "paper table" else "paper"
    for c in ("primary", "duration_s", "n_dots"):
        if c not in df.columns:
            df[c] = np.nan
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return df.reset_index(drop=True)


def aggregate(experiments: pd.DataFrame, select: str = "primary", use_bounds: bool = False) -> pd.DataFrame:
    """One row per (ligand, material): the measured columns and how they were obtained.

    Parameters
    ----------
    experiments : pandas.DataFrame
        Output of :func:`load_experiments`.
    select : {"primary", "longest", "mean", "median"}, default "primary"
        ``"primary"``: the row(s) flagged ``primary = 1`` (a ligand without one falls back to
        ``"mean"``, e.g. one row per dot from ``photons batch``); ``"longest"``: the row with the
        largest ``duration_s`` that has an ON fraction; ``"mean"`` / ``"median"``: over all rows
        (each column over the rows that have it).
    use_bounds : bool, default False
        Also use rows whose value is only a bound (``qualifier`` ``>`` or ``<``).

    Returns
    -------
    pandas.DataFrame
        ``ligand``, ``material``, ``smiles``, the measured columns, ``n_rows`` (rows used),
        ``rows_used`` (their conditions), ``select``.

    Raises
    ------
    surfchem.errors.InputError
        Unknown ``select``.
    """
    if select not in SELECT:
        raise InputError(f"select must be one of {SELECT}, got {select!r}")
    df = experiments.copy()
    if not use_bounds and "qualifier" in df:
        df = df[~df["qualifier"].isin([">", "<", ">=", "<="])]
    cols = [c for c in MEASURED if c in df.columns]
    out = []
    for (lig, mat), g in df.groupby(["ligand", "material"], sort=False):
        how = select
        if how == "primary":
            flagged = g[g["primary"].fillna(0).astype(float) > 0]
            if len(flagged):
                use = flagged
            else:
                use, how = g, "mean"
        elif how == "longest":
            cand = g[g["on_fraction"].notna()] if "on_fraction" in g else g
            cand = cand if len(cand) else g
            use = cand.loc[[cand["duration_s"].fillna(-1).idxmax()]]
        else:
            use = g
        agg = "median" if how == "median" else "mean"
        rec = {"ligand": lig, "material": mat,
               "smiles": next((s for s in g["smiles"] if s), ""),
               **{c: getattr(use[c].dropna(), agg)() if use[c].notna().any() else np.nan for c in cols},
               "n_rows": len(use), "select": how,
               "rows_used": "; ".join(x for x in use.get("condition", pd.Series(dtype=str)) if x)}
        # columns the selected rows lack but other rows of the ligand have (e.g. k_on): fill
        # from those rows (mean) and say so in ``filled_from_other_rows``;
        # only from rows of the same preparation (``stacking``) as the selected ones: stacked and
        # unstacked PEA are different samples
        pool = g[g["stacking"].isin(set(use["stacking"]))] if "stacking" in g else g
        filled = []
        for c in cols:
            if np.isnan(rec[c]) and pool[c].notna().any():
                rec[c] = float(getattr(pool[c].dropna(), agg)())
                filled.append(c)
        rec["filled_from_other_rows"] = ",".join(filled)
        out.append(rec)
    return pd.DataFrame(out)
