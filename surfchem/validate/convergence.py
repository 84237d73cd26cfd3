"""Convergence helpers for the GPAW reference: cutoff and k-point density of bulk energy and a0.

:func:`convergence_scan` evaluates, for each (cutoff, k-point density) setting, the energy per
atom at the experimental lattice constant and (optionally) a0 from an EOS fit, and writes a
table (CSV + Markdown) with the differences to the most converged setting. The settings used by
the presets (:data:`surfchem.calculators.GPAW_DEFAULTS`) are chosen from such tables.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from surfchem.build.bulk import bulk, get_material
from surfchem.calculators import GPAW_DEFAULTS
from surfchem.errors import InputError
from surfchem.validate.engine import Evaluator, kpts_for
from surfchem.validate.recipes import bulk_a0


@dataclass
class ConvergenceRow:
    """One GPAW setting of a convergence scan.

    Attributes
    ----------
    material : str
    preset : str
    ecut_eV : float
        Plane-wave cutoff, eV.
    kpt_density_A : float
        k-point density, points per Å⁻¹.
    kpts : str
        The Monkhorst-Pack grid it gives (``"4x4x4"``).
    energy_eV_atom : float
        Total energy per atom, eV.
    a0_A : float
        EOS lattice constant, Å (NaN without ``with_a0``).
    dE_meV_atom : float
        Energy per atom minus that of the most converged setting of the series, meV.
    da0_A : float
        a0 minus that of the most converged setting, Å.
    wall_s : float
        Wall time, s.
    series : str
        ``"ecut"`` or ``"kpts"``.
    """
    material: str
    preset: str
    ecut_eV: float
    kpt_density_A: float
    kpts: str
    energy_eV_atom: float
    a0_A: float
    dE_meV_atom: float  # vs the most converged setting (largest ecut, then largest density)
    da0_A: float
    wall_s: float
    series: str = ""


def convergence_scan(material: str = "CsPbBr3", ev: Evaluator | None = None,
                     cutoffs_eV=(300.0, 400.0, 500.0), kpt_densities_A=(2.0, 3.5, 5.0),
                     preset: str = "gpaw-pbe-pw", with_a0: bool = True, eos_points: int = 5,
                     out: str | Path | None = None, ecut_ref_eV: float | None = None,
                     kpt_ref_A: float | None = None) -> list[ConvergenceRow]:
    """Cutoff and k-point convergence of the bulk energy and a0 with GPAW PW.

    A cross, not a grid: cutoffs at the production k density ``kpt_ref_A`` and k densities at the
    production cutoff ``ecut_ref_eV`` (defaults: :data:`surfchem.calculators.GPAW_DEFAULTS`).
    Differences are to the largest value of each series (the production setting's row is in the
    cutoff series; the k series measures dE against the densest grid at the production cutoff).
    Table: ``analysis/validation/convergence/convergence_CsPbBr3.md``.

    Parameters
    ----------
    material : str, default "CsPbBr3"
        A key of :data:`surfchem.build.bulk.MATERIALS`.
    ev : Evaluator, optional
        Energy cache (default: a new one without files).
    cutoffs_eV : tuple of float, default (300.0, 400.0, 500.0)
        Plane-wave cutoffs, eV.
    kpt_densities_A : tuple of float, default (2.0, 3.5, 5.0)
        k-point densities, per Å⁻¹.
    preset : str, default "gpaw-pbe-pw"
        GPAW preset.
    with_a0 : bool, default True
        Also fit a0 by EOS at each setting.
    eos_points : int, default 5
        Points of each EOS.
    out : str or Path, optional
        Write ``<out>/convergence_<material>.csv`` and ``.md``.
    ecut_ref_eV : float, optional
        Production cutoff, eV.
    kpt_ref_A : float, optional
        Production k-point density, per Å⁻¹.

    Returns
    -------
    list of ConvergenceRow
    """
    import time

    mat = get_material(material)
    if not cutoffs_eV or not kpt_densities_A:
        raise InputError("give at least one cutoff (eV) and one k-point density (per Å^-1)")
    ev = ev or Evaluator(None)
    e_ref = float(ecut_ref_eV or GPAW_DEFAULTS["ecut_eV"])
    k_ref = float(kpt_ref_A or GPAW_DEFAULTS["kpt_density_A"])
    e_max, k_max = max(cutoffs_eV), max(kpt_densities_A)
    settings = [(float(e), k_ref) for e in sorted(cutoffs_eV)]
    settings += [(e_ref, float(k)) for k in sorted(kpt_densities_A) if (e_ref, float(k)) not in settings]
    rows = []
    at = bulk(mat.name)
    for ecut, kd in settings:
        t0 = time.perf_counter()
        sub = Evaluator(ev.outdir, {preset: {"ecut_eV": ecut, "kpt_density_A": kd}}, ev.gpw_mode)
        e = sub.energy(at, preset, system=f"conv-{mat.name}-{ecut:g}eV-k{kd:g}").energy_eV
        a0 = float("nan")
        if with_a0:
            a0 = bulk_a0(mat.name, preset, sub, n_points=eos_points).a0_A
        rows.append(ConvergenceRow(mat.name, preset, ecut, kd, "x".join(map(str, kpts_for(at, kd))),
                                   e / len(at), a0, 0.0, 0.0, time.perf_counter() - t0))
    # differences within each series: cutoff rows vs the largest cutoff (at k_ref), k rows vs the
    # largest density (at e_ref); the production setting (e_ref, k_ref) belongs to both
    ref_e = next(r for r in rows if r.ecut_eV == e_max and r.kpt_density_A == k_ref)
    ref_k = next((r for r in rows if r.ecut_eV == e_ref and r.kpt_density_A == k_max), ref_e)
    for r in rows:
        ref = ref_e if r.kpt_density_A == k_ref else ref_k
        r.dE_meV_atom = 1000 * (r.energy_eV_atom - ref.energy_eV_atom)
        r.da0_A = r.a0_A - ref.a0_A if np.isfinite(r.a0_A) else float("nan")
        r.series = "cutoff" if r.kpt_density_A == k_ref else "kpoints"
    if out is not None:
        write_convergence(rows, out)
    return rows


def write_convergence(rows: list[ConvergenceRow], out: str | Path) -> Path:
    """Write a convergence scan as ``convergence_<material>.csv`` and a Markdown table ``.md``.

    Parameters
    ----------
    rows : list of ConvergenceRow
    out : str or Path
        Directory (created).

    Returns
    -------
    Path
        The CSV file.
    """
    import pandas as pd

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame([asdict(r) for r in rows])
    name = f"convergence_{rows[0].material}"
    df.to_csv(out / f"{name}.csv", index=False, float_format="%.10g")
    lines = ["| series | ecut (eV) | k density (/Å^-1) | k-points | E (eV/atom) | dE (meV/atom) | a0 (Å) | da0 (Å) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.series} | {r.ecut_eV:g} | {r.kpt_density_A:g} | {r.kpts} | {r.energy_eV_atom:.5f} | "
                     f"{r.dE_meV_atom:+.2f} | {r.a0_A:.4f} | {r.da0_A:+.4f} |")
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    return out / f"{name}.csv"
