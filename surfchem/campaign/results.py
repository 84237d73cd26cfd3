"""A campaign's results: per-stage tables (:class:`StageResult`) and the whole run
(:class:`CampaignResult`); :func:`stage_result` turns a stage's finished rows into its tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
from ase.symbols import string2symbols

from surfchem.build.bulk import Material
from surfchem.build.ligands import LigandSpec, resolve_ligand
from surfchem.campaign.spec import CampaignSpec
from surfchem.thermo import References, coverage_table, missing_coverages, n_min, summary
from surfchem.thermo.anchors import Anchor, anchored_columns, anchored_n_min, anchored_summary
from surfchem.trust.diagnostics import add_diagnostics


@dataclass
class StageResult:
    """One stage's tables.

    Attributes
    ----------
    stage : int
        Stage index.
    calculator : str
        Calculator preset of the stage.
    table : pandas.DataFrame
        Coverage table with diagnostics (energies in eV, gamma in J/m²).
    summary : pandas.DataFrame
        Lowest row per (ligand, N).
    references : surfchem.thermo.References
        Reference energies (eV).
    n_min : dict of str to int or None
        Coverage of lowest gamma per ligand; None for a ligand whose coverage range is incomplete.
    missing : dict of str to list of int
        The requested N without a valid minimum, per ligand.
    """

    stage: int
    calculator: str
    table: pd.DataFrame
    summary: pd.DataFrame
    references: References
    n_min: dict[str, int | None]
    missing: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class CampaignResult:
    """Per-stage tables; ``table``/``summary``/``references`` are those of the last stage.

    Attributes
    ----------
    spec : surfchem.campaign.spec.CampaignSpec
        The campaign.
    stages : list of StageResult
        One per finished stage.
    out : Path
        Output directory.
    wall_s : float
        Wall time, s.
    counts : dict of str to int
        Tasks by outcome (``total``, ``done``, ``failed``, ``rejected``, ``pending``,
        ``cached_*``, ``computed_*``, ...).
    failures : list of dict
        One dict per recorded failure.
    files : dict of str to str
        The written outputs by name.
    anchors : dict of str to surfchem.thermo.anchors.Anchor
        The per-ligand DFT anchors (:mod:`surfchem.thermo.anchors`) when the spec asks for them.
    """

    spec: CampaignSpec
    stages: list[StageResult]
    out: Path
    wall_s: float
    counts: dict[str, int]
    failures: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    anchors: dict[str, Anchor] = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame:
        return self.stages[-1].table

    @property
    def summary(self) -> pd.DataFrame:
        return self.stages[-1].summary

    @cached_property
    def anchored_table(self) -> pd.DataFrame:
        """The last stage's table with the anchored columns (:func:`surfchem.thermo.anchors.anchored_columns`;
        the plain table without anchors)."""
        return anchored_columns(self.table, self.anchors) if self.anchors else self.table

    @cached_property
    def anchored_summary(self) -> pd.DataFrame:
        """The last stage's summary with the anchored columns (the plain summary without anchors)."""
        return anchored_summary(self.summary, self.anchored_table) if self.anchors else self.summary

    @property
    def n_min_anchored(self) -> dict[str, int | None] | None:
        """N at the minimum of the anchored gamma(N) per ligand; ``None`` without anchors."""
        return anchored_n_min(self.anchored_summary, self.spec.n_values()) if self.anchors else None

    @property
    def references(self) -> References:
        return self.stages[-1].references

    @property
    def n_min(self) -> dict[str, int | None]:
        return self.stages[-1].n_min

    @property
    def missing(self) -> dict[str, list[int]]:
        """Requested (ligand, N) without a valid minimum in the last stage (all, if no stage ran)."""
        if not self.stages:
            return {resolve_ligand(lig).name: self.spec.n_values() for lig in self.spec.ligands}
        return self.stages[-1].missing

    @property
    def complete(self) -> bool:
        """Every requested (ligand, N) has a valid minimum in every planned stage."""
        return len(self.stages) == len(self.spec.stages) and not any(s.missing for s in self.stages)


def stage_result(stage: int, rows: list[dict[str, Any]], refs: dict[str, Any], material: Material,
                 preset: str, ligands: list[LigandSpec], n_values: list[int], perms: Any,
                 diagnostics_tol_eV: float) -> StageResult | None:
    """The tables of one stage from its finished rows.

    Parameters
    ----------
    stage : int
        Stage index.
    rows : list of dict
        One record per finished task of the stage (slab rows: ``ligand``, ``n``, ``energy_eV``
        (eV), ``formula``, ``area_A2`` (Å²), ``status``, ``valid``, ...).
    refs : dict
        ``g_bulk_eV``, ``mu_AX_eV``, ``mu_LX_eV`` and ``mu_LX_kind`` per ligand, ``a0_A``,
        ``bulk_tilt_gain_eV`` (eV, Å).
    material : surfchem.build.bulk.Material
        The slab's material.
    preset : str
        The calculator preset.
    ligands : list of surfchem.build.ligands.LigandSpec
        The ligands.
    n_values : list of int
        The requested coverages.
    perms : numpy.ndarray
        Site permutations of the slab.
    diagnostics_tol_eV : float
        Energy tolerance of the diagnostics
        (:func:`surfchem.trust.diagnostics.add_diagnostics`), eV.

    Returns
    -------
    StageResult or None
        None without references or rows.
    """
    needed = {"g_bulk_eV", "mu_AX_eV"}
    if not needed <= set(refs) or not rows:
        return None
    refs_ = References(material.name, refs["g_bulk_eV"], refs["mu_AX_eV"], dict(refs["mu_LX_eV"]),
                       dict(refs["mu_LX_kind"]), refs.get("a0_A"), preset, refs.get("bulk_tilt_gain_eV"))
    df = pd.DataFrame(rows)
    for col in df.columns:  # list values (e.g. start_energies_eV) as tuples: hashable rows
        if df[col].map(lambda v: isinstance(v, list)).any():
            df[col] = df[col].map(lambda v: tuple(v) if isinstance(v, list) else v)
    if "status" in df:  # finished tasks; rejected ones stay visible (valid = False, never is_min)
        df = df[df["status"].isin(["ok", "rejected"])]
    if "valid" not in df:
        df["valid"] = True
    if df.empty:
        return None
    df["n_A"] = [string2symbols(f).count(material.a) for f in df["formula"]]
    df["n_B"] = [string2symbols(f).count(material.b) for f in df["formula"]]
    ligs = [s.name for s in ligands if s.name in refs_.mu_LX_eV]
    df = df[df["ligand"].isin(["", *ligs])]
    table = coverage_table(df, refs_)
    table = table[table["n"].isin(n_values)].reset_index(drop=True)
    table["smiles"] = table["ligand"].map({sp.name: sp.smiles for sp in ligands})  # bare rows too
    table["stage"] = stage
    table = add_diagnostics(table, perms, diagnostics_tol_eV)
    summ = summary(table)
    extra_cols = ["n_starts", "energy_spread_eV", "gamma_err_J_m2", "dG_err_eV", "face_eq_violation_eV", "flags"]
    best = table[table["is_min"]].drop_duplicates(["ligand", "n"])[["ligand", "n", *extra_cols]]
    summ = summ.merge(best, on=["ligand", "n"], how="left")
    summ["stage"] = stage
    names = [s.name for s in ligands]
    missing = missing_coverages(summ, names, n_values)
    nm = n_min(summ, n_values)
    return StageResult(stage, preset, table, summ, refs_, {lig: nm.get(lig) for lig in names}, missing)
