"""Surface thermodynamics of ligand exchange on the AX-terminated slab.

Exchange reaction (charge balanced, science brief section 2)::

    slab(Cs_a Pb_b Br_c) + N L-HBr  ->  slab(Cs_(a-N) L_N Pb_b Br_c) + N CsBr

Surface free energy over the two faces of area A each (eV/Å², converted to J/m²)::

    gamma(N) = [G_slab(N) - b g_bulk - (a - N - b) mu_CsBr - N mu_LBr] / (2 A)

Differential free energy of binding the N-th ligand (eV; negative = favourable)::

    dG(N) = G_slab(N) - G_slab(N-1) - mu_LBr + mu_CsBr

with ``G = E + G_corr`` where ``G_corr`` (vibrational free energy minus T S_conf, eV) is 0 unless
an entropy model supplies it. References are explicit choices: ``g_bulk`` the energy per formula
unit of relaxed bulk CsPbBr3, ``mu_CsBr`` of relaxed bulk CsBr (CsCl type), ``mu_LBr`` of the
relaxed isolated L+ Br- ion pair, all with the slab's calculator, or user-given values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from surfchem.core.units import EV_PER_A2_IN_J_PER_M2
from surfchem.errors import InputError


@dataclass
class References:
    """Chemical-potential references used for gamma and dG (written to ``references.json``).

    Attributes
    ----------
    material : str
        Perovskite of the slab (``"CsPbBr3"``).
    g_bulk_eV : float
        g_bulk: energy of bulk ABX3 per formula unit, eV (with octahedral tilts allowed, see
        :func:`surfchem.relax.bulk_tilt_minimum`).
    mu_AX_eV : float
        mu_CsBr: energy of the AX salt (CsCl type) per formula unit, eV.
    mu_LX_eV : dict of str to float
        mu_LBr per ligand: energy of the relaxed L+ X- ion pair, or a user value, eV.
    mu_LX_kind : dict of str to str
        Per ligand, ``"ion_pair"`` or ``"user"``.
    a0_A : float or None
        The calculator's cubic a0 of the perovskite, Å.
    calculator : str
        Calculator of the references (the slab's own).
    bulk_tilt_gain_eV : float or None
        ``g_bulk_eV`` minus the cubic cell's energy per formula unit, eV (<= 0); None when the
        cubic cell is the reference.
    anchor_eV : dict of str to float
        Per ligand, the DFT anchor delta_L already subtracted from ``mu_LX_eV`` (eV); empty for
        plain references (:func:`surfchem.thermo.anchors.anchored`).
    anchor : dict of str to str
        Per ligand, the label of that anchor (which DFT, which ML, which slab).
    """

    material: str
    g_bulk_eV: float  # ABX3 per formula unit
    mu_AX_eV: float  # AX salt (CsBr) per formula unit
    mu_LX_eV: dict[str, float] = field(default_factory=dict)  # ligand -> mu of L-HX
    mu_LX_kind: dict[str, str] = field(default_factory=dict)  # ligand -> 'ion_pair' | 'user'
    a0_A: float | None = None
    calculator: str = ""
    # g_bulk_eV minus the cubic 5-atom cell's energy (<= 0: octahedral tilts allowed, see
    # surfchem.relax.bulk_tilt_minimum); None when the cubic cell is the reference
    bulk_tilt_gain_eV: float | None = None
    anchor_eV: dict[str, float] = field(default_factory=dict)  # ligand -> delta_L in mu_LX_eV
    anchor: dict[str, str] = field(default_factory=dict)  # ligand -> anchor label

    def as_dict(self) -> dict:
        """Plain dict of the fields (for JSON).

        Returns
        -------
        dict
        """
        return asdict(self)


def surface_free_energy(
    G_slab_eV: float, n_A: int, n_B: int, n_ligands: int, area_A2: float,
    g_bulk_eV: float, mu_AX_eV: float, mu_LX_eV: float,
) -> float:
    """Surface free energy gamma of a slab with ligands, in eV/Å².

        gamma = [G_slab - n_B g_bulk - (n_A - n_B) mu_AX - n_ligands mu_LX] / (2 A)

    (module docstring; Reuter & Scheffler, Phys. Rev. B 65, 035406 (2002)). Multiply by
    :data:`EV_PER_A2_IN_J_PER_M2` for J/m². Works elementwise on arrays and pandas columns.

    Parameters
    ----------
    G_slab_eV : float or array_like
        Free energy of the slab (E + G_corr), eV.
    n_A : int or array_like
        A cations still in the slab (a - N in the formula of the module docstring).
    n_B : int or array_like
        B cations (Pb) in the slab.
    n_ligands : int or array_like
        Ligand cations L+ (N).
    area_A2 : float or array_like
        Area of one face, Å² (> 0).
    g_bulk_eV : float
        g_bulk, ABX3 per formula unit, eV.
    mu_AX_eV : float
        mu_CsBr, AX per formula unit, eV.
    mu_LX_eV : float or array_like
        mu_LBr, the L+ X- ion pair, eV.

    Returns
    -------
    float or array_like
        gamma, eV/Å² (both faces counted: divided by 2A).

    Raises
    ------
    surfchem.errors.InputError
        If an area is not positive.

    Examples
    --------
    The bare Cs12Pb8Br28 slab of the main job (CHGNet+D3, a0 = 5.949 Å, A = (2 a0)²):

    >>> from surfchem.thermo import surface_free_energy, EV_PER_A2_IN_J_PER_M2
    >>> g = surface_free_energy(-175.898, n_A=12, n_B=8, n_ligands=0, area_A2=141.582,
    ...                         g_bulk_eV=-18.7035, mu_AX_eV=-6.9856, mu_LX_eV=-127.685)
    >>> round(g * EV_PER_A2_IN_J_PER_M2, 4)
    0.0946
    """
    if np.any(np.asarray(area_A2, dtype=float) <= 0):
        raise InputError(f"area must be > 0 Å², got {area_A2}")
    return (G_slab_eV - n_B * g_bulk_eV - (n_A - n_B) * mu_AX_eV - n_ligands * mu_LX_eV) / (2 * area_A2)


def differential_binding(G_n_eV: float, G_prev_eV: float, mu_LX_eV: float, mu_AX_eV: float) -> float:
    """Differential free energy of binding the N-th ligand, dG(N) = G(N) - G(N-1) - mu_LX + mu_AX.

    Parameters
    ----------
    G_n_eV : float or array_like
        Free energy of the slab with N ligands, eV.
    G_prev_eV : float or array_like
        Free energy of the slab with N-1 ligands, eV.
    mu_LX_eV : float or array_like
        mu_LBr, eV.
    mu_AX_eV : float
        mu_CsBr, eV.

    Returns
    -------
    float or array_like
        dG(N), eV (negative = binding is favourable).
    """
    return G_n_eV - G_prev_eV - mu_LX_eV + mu_AX_eV


REQUIRED = ("ligand", "n", "energy_eV", "n_A", "n_B", "area_A2")


def coverage_table(records: pd.DataFrame, refs: References) -> pd.DataFrame:
    """gamma and dG for every relaxed slab, and the lowest row per (ligand, N).

    Bare-slab rows (n = 0) may carry ligand ``""``: they are shared by every ligand. For each
    (ligand, n) the lowest-G valid row is flagged ``is_min`` (exactly one, also when minima tie);
    ``dG_eV`` of every row is taken against the lowest G at n-1 of the same ligand (so on ``is_min``
    rows it is dG(N) of the module docstring).

    Parameters
    ----------
    records : pandas.DataFrame
        One row per relaxed slab, columns :data:`REQUIRED` (``ligand``, ``n``, ``energy_eV``,
        ``n_A``, ``n_B``, ``area_A2`` in Å²), optional ``G_corr_eV`` (eV, default 0) and ``valid``
        (rows with ``valid = False`` are never minima).
    refs : References
        Chemical potentials; ``refs.mu_LX_eV`` needs every ligand.

    Returns
    -------
    pandas.DataFrame
        ``records`` plus ``G_eV``, ``gamma_eV_A2``, ``gamma_J_m2``, ``gamma_meV_A2``, ``dG_eV``
        (eV) and ``is_min``, sorted by ligand, n and G.

    Raises
    ------
    surfchem.errors.InputError
        Missing columns, or a ligand without a mu_LX reference.
    """
    missing = [c for c in REQUIRED if c not in records.columns]
    if missing:
        raise InputError(f"records lack columns {missing}; need {list(REQUIRED)}")
    df = records.copy()
    if "G_corr_eV" not in df:
        df["G_corr_eV"] = 0.0
    df["G_corr_eV"] = df["G_corr_eV"].fillna(0.0)
    bare = df[df["n"] == 0]
    ligands = sorted(set(df.loc[df["n"] > 0, "ligand"]) | set(bare["ligand"]) - {""})
    parts = [df[df["n"] > 0]]
    for lig in ligands:
        b = bare[bare["ligand"].isin(["", lig])].copy()
        b["ligand"] = lig
        parts.append(b)
    df = pd.concat(parts, ignore_index=True).drop_duplicates()
    unknown = sorted(set(df["ligand"]) - set(refs.mu_LX_eV))
    if unknown:
        raise InputError(f"no mu_LX reference for ligands {unknown}; give one per ligand")
    df["G_eV"] = df["energy_eV"] + df["G_corr_eV"]
    mu_lx = df["ligand"].map(refs.mu_LX_eV).astype(float)
    df["gamma_eV_A2"] = surface_free_energy(
        df["G_eV"], df["n_A"], df["n_B"], df["n"], df["area_A2"], refs.g_bulk_eV, refs.mu_AX_eV, mu_lx
    )
    df["gamma_J_m2"] = df["gamma_eV_A2"] * EV_PER_A2_IN_J_PER_M2
    df["gamma_meV_A2"] = df["gamma_eV_A2"] * 1e3
    # exactly one is_min row per (ligand, n), also when minima tie (e.g. mirror images); rows
    # marked invalid (column ``valid``: an unphysical or unconverged structure) never are
    df["is_min"] = False
    ok = df["G_eV"].notna()
    if "valid" in df:
        ok &= df["valid"].fillna(False).astype(bool)
    valid = df[ok]
    df.loc[valid.groupby(["ligand", "n"])["G_eV"].idxmin().to_numpy(), "is_min"] = True
    best = df[df["is_min"]].drop_duplicates(["ligand", "n"]).set_index(["ligand", "n"])["G_eV"]
    prev = [best.get((lig, n - 1), np.nan) for lig, n in zip(df["ligand"], df["n"], strict=True)]
    df["dG_eV"] = differential_binding(df["G_eV"], np.asarray(prev, float), mu_lx, refs.mu_AX_eV)
    df.loc[df["n"] == 0, "dG_eV"] = np.nan
    return df.sort_values(["ligand", "n", "G_eV"]).reset_index(drop=True)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per ligand and n, the lowest-G row of a :func:`coverage_table`.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`coverage_table`.

    Returns
    -------
    pandas.DataFrame
        ``ligand``, ``n``, ``G_eV`` (eV), ``gamma_J_m2``, ``gamma_meV_A2``, ``dG_eV`` (eV) and
        ``n_computed`` (rows computed for that ligand and n).
    """
    best = table[table["is_min"]].drop_duplicates(["ligand", "n"])
    counts = table.groupby(["ligand", "n"]).size().rename("n_computed")
    cols = ["ligand", "n", "G_eV", "gamma_J_m2", "gamma_meV_A2", "dG_eV"]
    out = best[cols].merge(counts.reset_index(), on=["ligand", "n"])
    return out.sort_values(["ligand", "n"]).reset_index(drop=True)


def missing_coverages(summary_table: pd.DataFrame, ligands: Iterable[str],
                      n_values: Iterable[int]) -> dict[str, list[int]]:
    """Requested coverages without a result, per ligand.

    Parameters
    ----------
    summary_table : pandas.DataFrame
        A :func:`summary` (a coverage counts as present when its ``gamma_J_m2`` is finite).
    ligands : iterable of str
        Requested ligands.
    n_values : iterable of int
        Requested coverages.

    Returns
    -------
    dict of str to list of int
        Missing coverages per ligand; ligands with all of ``n_values`` present are left out.
    """
    have = summary_table[summary_table["gamma_J_m2"].notna()] if len(summary_table) else summary_table
    out = {}
    for lig in ligands:
        got = set(int(n) for n in have.loc[have["ligand"] == lig, "n"]) if len(have) else set()
        lack = sorted(int(n) for n in n_values if int(n) not in got)
        if lack:
            out[lig] = lack
    return out


def n_min(summary_table: pd.DataFrame, n_values: Iterable[int] | None = None) -> dict[str, int | None]:
    """Coverage N at the minimum of gamma(N), per ligand.

    Parameters
    ----------
    summary_table : pandas.DataFrame
        A :func:`summary`.
    n_values : iterable of int, optional
        The requested coverages. A ligand that lacks any of them gets ``None``: a minimum over an
        incomplete range is undetermined (:func:`missing_coverages`).

    Returns
    -------
    dict of str to int or None
    """
    out: dict[str, int | None] = {}
    for lig, g in summary_table.groupby("ligand"):
        g = g[g["gamma_J_m2"].notna()]
        if g.empty:
            if n_values is not None:
                out[lig] = None
            continue
        if n_values is not None and missing_coverages(g, [lig], n_values):
            out[lig] = None
            continue
        out[lig] = int(g.loc[g["gamma_J_m2"].idxmin(), "n"])
    return out
