"""Temperature and chemical-potential sweeps: which coverage N is stable where.

Chemical potential of the ligand salt (surface phase diagram, like pymatgen's
``SurfaceEnergyPlotter`` for adsorbates)::

    gamma(N, dmu) = gamma(N, 0) - N dmu / (2 A),     dmu = mu_LX - mu_LX(reference)   (eV)

(mu_CsBr is held at bulk CsBr). Raising dmu favours more ligands. Each gamma(N, .) is a line,
so the stable N at each dmu is the lower envelope, and the window of N is an interval computed
exactly by :func:`stability_windows`.

Temperature: :func:`temperature_sweep` re-evaluates the model at each T (vibrational modes and
conformer searches are computed once and reused) and reports N_min(T).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from surfchem.core.units import EV_PER_A2_IN_J_PER_M2
from surfchem.errors import InputError
from surfchem.thermo import n_min
from surfchem.thermo.models import Memo, ThermoSettings, thermo_summary, thermo_table


def _lines(table: pd.DataFrame, ligand: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, gamma(N, 0) in eV/Å², slope N/(2A) in 1/Å²) of the lowest rows of one ligand."""
    best = table[table["is_min"] & (table["ligand"] == ligand)].drop_duplicates("n").sort_values("n")
    best = best[best["gamma_eV_A2"].notna()]
    if best.empty:
        raise InputError(f"no coverage rows for ligand {ligand!r}")
    n = best["n"].to_numpy(int)
    return n, best["gamma_eV_A2"].to_numpy(float), n / (2.0 * best["area_A2"].to_numpy(float))


def gamma_vs_mu(table: pd.DataFrame, dmu_eV: Sequence[float]) -> pd.DataFrame:
    """gamma(N, dmu) = gamma(N, 0) - N dmu / (2 A) of the lowest rows, on a grid of dmu.

    Parameters
    ----------
    table : pandas.DataFrame
        A coverage table with ``is_min``, ``gamma_eV_A2`` and ``area_A2`` (Å²)
        (:func:`surfchem.thermo.coverage_table` or :func:`surfchem.thermo.models.thermo_table`).
    dmu_eV : sequence of float
        Shifts of the ligand-salt chemical potential mu_LX from its reference, eV.

    Returns
    -------
    pandas.DataFrame
        Long table: ``ligand``, ``n``, ``dmu_eV``, ``gamma_J_m2``, ``stable`` (the lowest N at
        that dmu).
    """
    dmu = np.asarray(dmu_eV, float)
    rows = []
    for lig in sorted(set(table.loc[table["n"] > 0, "ligand"])):
        n, g0, s = _lines(table, lig)
        g = (g0[:, None] - s[:, None] * dmu[None, :]) * EV_PER_A2_IN_J_PER_M2
        low = np.argmin(g, axis=0)
        for k in range(len(n)):
            for j, x in enumerate(dmu):
                rows.append((lig, int(n[k]), float(x), float(g[k, j]), bool(low[j] == k)))
    return pd.DataFrame(rows, columns=["ligand", "n", "dmu_eV", "gamma_J_m2", "stable"])


def stability_windows(table: pd.DataFrame) -> pd.DataFrame:
    """Exact dmu interval where each N has the lowest gamma, per ligand (lower envelope of the lines).

    Parameters
    ----------
    table : pandas.DataFrame
        A coverage table with ``is_min``, ``gamma_eV_A2`` and ``area_A2`` (Å²)
        (:func:`surfchem.thermo.coverage_table` or :func:`surfchem.thermo.models.thermo_table`).

    Returns
    -------
    pandas.DataFrame
        Per ligand and stable N: ``dmu_lo_eV``, ``dmu_hi_eV`` (eV; -inf for the lowest stable N,
        +inf for the highest). N that are never the lowest are dropped.
    """
    out = []
    for lig in sorted(set(table.loc[table["n"] > 0, "ligand"])):
        n, a, s = _lines(table, lig)
        for k in range(len(n)):
            lo, hi = -np.inf, np.inf
            for m in range(len(n)):
                if m == k:
                    continue
                # a_k - s_k x <= a_m - s_m x  <=>  (s_m - s_k) x <= a_m - a_k
                d = s[m] - s[k]
                x = (a[m] - a[k]) / d
                if d > 0:
                    hi = min(hi, x)
                else:
                    lo = max(lo, x)
            if lo <= hi:
                out.append((lig, int(n[k]), float(lo), float(hi)))
    return pd.DataFrame(out, columns=["ligand", "n", "dmu_lo_eV", "dmu_hi_eV"])


def contrast_windows(windows: pd.DataFrame, n_full: int | None = None) -> pd.DataFrame:
    """dmu interval where one ligand stops short of full coverage while another reaches it.

    For every ordered pair (a, b) of ligands: the dmu at which N_min(a) < ``n_full`` and
    N_min(b) = ``n_full`` at once (the paper's contrast: DDA below full coverage, PEA at it).
    With the full-coverage window of a ligand being ``[lo, +inf)`` (the highest N is stable at
    large dmu, or never), the interval is ``[lo_b, lo_a)``. dmu is each ligand's own
    ``mu_LX - mu_LX(ion pair)``: comparing ligands at equal dmu means equal offsets from each
    ligand's own salt reference.

    Parameters
    ----------
    windows : pandas.DataFrame
        :func:`stability_windows` output (``ligand``, ``n``, ``dmu_lo_eV``, ``dmu_hi_eV``).
    n_full : int, optional
        Full coverage; default the largest N in ``windows``.

    Returns
    -------
    pandas.DataFrame
        ``ligand_below``, ``ligand_full``, ``dmu_lo_eV``, ``dmu_hi_eV`` (eV; ``dmu_hi_eV`` is
        +inf when ``ligand_below`` never reaches full coverage) and ``n_below``, the coverages
        ``ligand_below`` takes inside the interval (``"0"`` alone means it is simply bare there).
        Only non-empty intervals.

    Examples
    --------
    >>> w = pd.DataFrame({"ligand": ["A", "A", "B"], "n": [6, 8, 8],
    ...                   "dmu_lo_eV": [-np.inf, 0.3, -np.inf], "dmu_hi_eV": [0.3, np.inf, np.inf]})
    >>> contrast_windows(w).to_dict(orient="records")
    [{'ligand_below': 'A', 'ligand_full': 'B', 'dmu_lo_eV': -inf, 'dmu_hi_eV': 0.3, 'n_below': '6'}]
    """
    cols = ["ligand_below", "ligand_full", "dmu_lo_eV", "dmu_hi_eV", "n_below"]
    if windows.empty:
        return pd.DataFrame(columns=cols)
    full = int(windows["n"].max()) if n_full is None else int(n_full)
    ligands = sorted(set(windows["ligand"]))
    lo = {}
    for lig in ligands:
        w = windows[(windows["ligand"] == lig) & (windows["n"] == full)]
        lo[lig] = float(w["dmu_lo_eV"].iloc[0]) if len(w) else np.inf
    out = []
    for a in ligands:
        wa = windows[windows["ligand"] == a]
        for b in ligands:
            if a != b and lo[b] < lo[a]:
                inside = wa[(wa["dmu_hi_eV"] > lo[b]) & (wa["dmu_lo_eV"] < lo[a])]
                out.append((a, b, lo[b], lo[a], ",".join(str(int(k)) for k in sorted(inside["n"]))))
    return pd.DataFrame(out, columns=cols)


def temperature_sweep(
    records: pd.DataFrame, refs, temperatures_K: Sequence[float], settings: ThermoSettings | None = None,
    structure=None, free_reference=None, memo: Memo | None = None, **kw: Any,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Re-evaluate the free-energy model at each temperature; N_min(T).

    Vibrational modes and conformer searches are computed once (``memo``) and reused at every T.

    Parameters
    ----------
    records : pandas.DataFrame
        Relaxed-slab rows of a screen (as for :func:`surfchem.thermo.coverage_table`).
    refs : surfchem.thermo.References
        Chemical potentials, eV.
    temperatures_K : sequence of float
        Temperatures, K (> 0).
    settings : ThermoSettings, optional
        The model (its ``T_K`` is replaced by each temperature); default from ``**kw``.
    structure : callable, optional
        Row -> relaxed structure (harmonic models).
    free_reference : callable, optional
        Ligand -> free ion-pair structure (harmonic models).
    memo : Memo, optional
        Cache of modes and conformer ensembles shared between temperatures.
    **kw
        Fields of :class:`ThermoSettings` when ``settings`` is not given.

    Returns
    -------
    summaries : pandas.DataFrame
        :func:`thermo_summary` at each T (column ``T_K``).
    n_min : pandas.DataFrame
        ``T_K``, ``ligand``, ``n_min``.

    Raises
    ------
    surfchem.errors.InputError
        No temperature, or one <= 0 K.
    """
    base = settings or ThermoSettings(**kw)
    memo = memo or Memo()
    temps = [float(t) for t in temperatures_K]
    if not temps or min(temps) <= 0:
        raise InputError(f"temperatures must be > 0 K, got {temperatures_K!r}")
    parts, mins = [], []
    for T in temps:
        s = ThermoSettings(**{**base.__dict__, "T_K": T})
        tab = thermo_table(records, refs, s, structure=structure, free_reference=free_reference, memo=memo)
        summ = thermo_summary(tab)
        parts.append(summ)
        for lig, nm in n_min(summ).items():
            mins.append((T, lig, nm))
    return (pd.concat(parts, ignore_index=True),
            pd.DataFrame(mins, columns=["T_K", "ligand", "n_min"]))


def parse_range(spec: str) -> np.ndarray:
    """Parse a range of values, e.g. temperatures.

    Parameters
    ----------
    spec : str
        ``"77:400:25"`` (start:stop:step, stop included if on the grid) or ``"77,298,400"``.

    Returns
    -------
    numpy.ndarray
        The values.

    Raises
    ------
    surfchem.errors.InputError
        Neither form, a step <= 0 or stop < start.
    """
    try:
        if ":" in spec:
            parts = [float(x) for x in spec.split(":")]
            if len(parts) != 3 or parts[2] <= 0 or parts[1] < parts[0]:
                raise ValueError
            lo, hi, step = parts
            return np.arange(lo, hi + 0.5 * step, step)
        return np.array([float(x) for x in spec.split(",") if x.strip()])
    except ValueError:
        raise InputError(f"range {spec!r}: use start:stop:step (e.g. 77:400:25) or a list 77,298") from None
