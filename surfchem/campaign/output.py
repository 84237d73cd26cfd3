"""The campaign's output directory: the one writer of ``results.csv``, ``summary.csv``,
``stages.csv``, ``references.json`` and ``structures/`` (:func:`write_outputs`)."""

from __future__ import annotations

import json

import pandas as pd
from ase import Atoms

from surfchem.build.sterics import STERIC_COLUMNS
from surfchem.campaign.results import CampaignResult
from surfchem.trust.diagnostics import stage_rankings

#: columns of ``results.csv``, in order (those present)
TABLE_COLUMNS = [
    "stage", "ligand", "smiles", "n", "arrangement", "sites", "multiplicity", "build", "energy_eV",
    "G_corr_eV", "G_eV", "gamma_J_m2", "gamma_meV_A2", "dG_eV", "is_min", "converged",
    "n_starts", "n_distinct", "energy_spread_eV", "gap_eV", "gamma_err_J_m2", "dG_err_eV",
    "face_eq_violation_eV", "grow_direct_diff_eV", "flags",
    "flag_bonds", "flag_clash", "flag_head_off_site", "flag_pb_coordination", "flag_vacuum", "flag_face_eq",
    "flag_grow_vs_direct", "flag_single_start", *STERIC_COLUMNS, "valid", "invalid_reason", "n_rejected", "rejected",
    "fmax_eV_A", "n_steps", "n_rounds", "wall_s", "calculator", "mode", "formula", "n_atoms", "area_A2",
    "task_hash", "status", "error",
]


def write_outputs(result: CampaignResult, structures: dict[str, Atoms]) -> None:
    """results.csv (all stages), summary.csv, references.json, lowest structures (the figure:
    :func:`surfchem.plot.coverage.plot_coverage`, drawn by the CLI)."""
    from ase.io import write  # ase.io loads every file format (GPAW's too): only when writing

    out = result.out
    table = pd.concat([s.table for s in result.stages], ignore_index=True)
    cols = [c for c in TABLE_COLUMNS if c in table.columns]
    table[cols].to_csv(out / "results.csv", index=False)
    summ = pd.concat([s.summary for s in result.stages], ignore_index=True)
    summ.to_csv(out / "summary.csv", index=False)
    if len(result.stages) > 1:  # the funnel: did a higher level reorder the arrangements?
        ranks = stage_rankings([s.table for s in result.stages])
        ranks.to_csv(out / "stages.csv", index=False)
        result.files["stages"] = str(out / "stages.csv")
    refs = {f"stage{s.stage}": {**s.references.as_dict(), "n_min": s.n_min, "missing": s.missing}
            for s in result.stages}
    (out / "references.json").write_text(json.dumps(
        {**result.references.as_dict(), "n_min": result.n_min, "complete": result.complete,
         "missing": result.missing, "stages": refs, "wall_s": result.wall_s, "counts": result.counts,
         "failures": result.failures}, indent=2, default=str))
    sdir = out / "structures"
    sdir.mkdir(exist_ok=True)
    last = len(result.stages) - 1
    for key, at in structures.items():
        stage, kind, *rest = key.split("/")
        if stage != f"stage{last}" or at is None:
            continue
        if kind == "slab" and rest[0]:
            write(sdir / f"{rest[0]}_n{rest[1]}.extxyz", at)
        elif kind == "ion_pair":
            write(sdir / f"{rest[0]}_ion_pair.extxyz", at)
    bare = structures.get(f"stage{last}/slab//0")
    if bare is not None:
        write(sdir / "bare_n0.extxyz", bare)
    result.files.update({"results": str(out / "results.csv"), "summary": str(out / "summary.csv"),
                         "references": str(out / "references.json")})
