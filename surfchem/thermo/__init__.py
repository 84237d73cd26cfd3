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
    """Chemical-potential references (eV per formula unit) used for gamma and dG."""

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

    def as_dict(self) -> dict:
        return asdict(self)


def surface_free_energy(
    G_slab_eV: float, n_A: int, n_B: int, n_ligands: int, area_A2: float,
    g_bulk_eV: float, mu_AX_eV: float, mu_LX_eV: float,
) -> float:
    """gamma in eV/Å² for a slab holding ``n_A`` A cations, ``n_B`` B cations, ``n_ligands`` L+.

    ``n_A`` counts the A cations still present (a - N in the formula above).
    """
    if np.any(np.asarray(area_A2, dtype=float) <= 0):
        raise InputError(f"area must be > 0 Å², got {area_A2}")
    return (G_slab_eV - n_B * g_bulk_eV - (n_A - n_B) * mu_AX_eV - n_ligands * mu_LX_eV) / (2 * area_A2)


def differential_binding(G_n_eV: float, G_prev_eV: float, mu_LX_eV: float, mu_AX_eV: float) -> float:
    """dG(N) = G(N) - G(N-1) - mu_LX + mu_AX, eV."""
    return G_n_eV - G_prev_eV - mu_LX_eV + mu_AX_eV


REQUIRED = ("ligand", "n", "energy_eV", "n_A", "n_B", "area_A2")


def coverage_table(records: pd.DataFrame, refs: References) -> pd.DataFrame:
    """Add ``G_eV``, ``gamma_eV_A2``, ``gamma_J_m2``, ``gamma_meV_A2``, ``dG_eV``, ``is_min``.

    ``records`` has one row per relaxed slab (columns :data:`REQUIRED`, optional ``G_corr_eV``);
    bare-slab rows (n = 0) may carry ligand ``""``: they are shared by every ligand. For each
    (ligand, n) the lowest-G row is flagged ``is_min``; ``dG_eV`` of every row is taken against
    the lowest G at n-1 of the same ligand (so on ``is_min`` rows it is the dG of the brief).
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
    """Per ligand and n, the lowest-G row: ``gamma_J_m2``, ``gamma_meV_A2``, ``dG_eV``, counts."""
    best = table[table["is_min"]].drop_duplicates(["ligand", "n"])
    counts = table.groupby(["ligand", "n"]).size().rename("n_computed")
    cols = ["ligand", "n", "G_eV", "gamma_J_m2", "gamma_meV_A2", "dG_eV"]
    out = best[cols].merge(counts.reset_index(), on=["ligand", "n"])
    return out.sort_values(["ligand", "n"]).reset_index(drop=True)


def missing_coverages(summary_table: pd.DataFrame, ligands: Iterable[str],
                      n_values: Iterable[int]) -> dict[str, list[int]]:
    """Requested coverages without a result (no finite gamma in ``summary_table``), per ligand;
    ligands with all of ``n_values`` present are left out."""
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

    With ``n_values`` (the requested coverages) a ligand that lacks any of them has ``None``:
    a minimum over an incomplete range is undetermined (see :func:`missing_coverages`).
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
