"""Figures of the free-energy layer (no computation here).

* :func:`plot_thermo_coverage`: Fig. 1c,d style gamma(N) and dG(N) per ligand, with the entropy
  model (solid) and energies only (dashed).
* :func:`plot_stability_windows`: gamma(N) vs dmu_LX lines, lower envelope = stable N.
* :func:`plot_entropy_penalty`: -T dS_conf per bound ligand, per ligand and model (bar chart).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from surfchem.plot.common import pyplot as _plt
from surfchem.plot.common import save_png_pdf as _save


def plot_thermo_coverage(summary: pd.DataFrame, path: str | Path,
                         energy_only: pd.DataFrame | None = None) -> list[Path]:
    """gamma(N) (top, J/m²) and dG(N) (bottom, eV) per ligand.

    Parameters
    ----------
    summary : pandas.DataFrame
        Lowest-G rows per (ligand, n) (:func:`surfchem.thermo.models.thermo_summary`).
    path : str or Path
        Output path without suffix.
    energy_only : pandas.DataFrame, optional
        The energies-only summary, drawn dashed.

    Returns
    -------
    list of Path
        The PNG and the PDF.
    """
    plt = _plt()
    ligands = list(dict.fromkeys(summary["ligand"]))
    model = str(summary["entropy_model"].iloc[0]) if "entropy_model" in summary else "model"
    T = float(summary["T_K"].iloc[0]) if "T_K" in summary else float("nan")
    fig, axes = plt.subplots(2, len(ligands), figsize=(4.0 * len(ligands), 6.0), squeeze=False,
                             sharex="col")
    for j, lig in enumerate(ligands):
        s = summary[summary["ligand"] == lig].sort_values("n")
        ax, bx = axes[0, j], axes[1, j]
        nmin = int(s.loc[s["gamma_J_m2"].idxmin(), "n"])
        ax.plot(s["n"], s["gamma_J_m2"], "o-", color="C0", label=f"{model}, {T:.0f} K (N$_{{min}}$={nmin})")
        d = s[s["n"] > 0]
        bx.plot(d["n"], d["dG_eV"], "o-", color="C3", label=model)
        if energy_only is not None:
            e = energy_only[energy_only["ligand"] == lig].sort_values("n")
            if len(e):
                nmin_e = int(e.loc[e["gamma_J_m2"].idxmin(), "n"])
                ax.plot(e["n"], e["gamma_J_m2"], "s--", mfc="none", color="0.4",
                        label=f"energy only (N$_{{min}}$={nmin_e})")
                de = e[e["n"] > 0]
                bx.plot(de["n"], de["dG_eV"], "s--", mfc="none", color="0.4", label="energy only")
        bx.axhline(0, color="k", lw=0.6)
        ax.set_title(lig)
        ax.set_ylabel(r"$\gamma(N)$ (J m$^{-2}$)")
        bx.set_ylabel(r"$\Delta G(N)$ (eV)")
        bx.set_xlabel("number of surface ligands N")
        ax.legend(fontsize=7)
        bx.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def plot_stability_windows(curves: pd.DataFrame, windows: pd.DataFrame, path: str | Path) -> list[Path]:
    """gamma (J/m²) vs dmu_LX (eV) for each N (from :func:`surfchem.thermo.sweeps.gamma_vs_mu`).

    Parameters
    ----------
    curves : pandas.DataFrame
        gamma per N and dmu_LX (:func:`surfchem.thermo.sweeps.gamma_vs_mu`).
    windows : pandas.DataFrame
        The dmu_LX range in which each N is the most stable
        (:func:`surfchem.thermo.sweeps.stability_windows`).
    path : str or Path
        Output path without suffix.

    Returns
    -------
    list of Path
        The PNG and the PDF.
    """
    plt = _plt()
    ligands = list(dict.fromkeys(curves["ligand"]))
    fig, axes = plt.subplots(1, len(ligands), figsize=(4.5 * len(ligands), 3.8), squeeze=False)
    for ax, lig in zip(axes[0], ligands, strict=True):
        c = curves[curves["ligand"] == lig]
        ns = sorted(set(c["n"]))
        cmap = plt.get_cmap("viridis", max(len(ns), 2))
        for k, n in enumerate(ns):
            cn = c[c["n"] == n]
            ax.plot(cn["dmu_eV"], cn["gamma_J_m2"], color=cmap(k), lw=1, label=f"N={n}")
        env = c[c["stable"]].sort_values("dmu_eV")
        ax.plot(env["dmu_eV"], env["gamma_J_m2"], "k-", lw=2.5, alpha=0.35)
        w = windows[windows["ligand"] == lig]
        x0, x1 = c["dmu_eV"].min(), c["dmu_eV"].max()
        for _, r in w.iterrows():
            lo, hi = max(r["dmu_lo_eV"], x0), min(r["dmu_hi_eV"], x1)
            if lo < hi:
                mid = 0.5 * (lo + hi)
                ax.axvspan(lo, hi, color=cmap(ns.index(int(r["n"]))), alpha=0.08)
                ax.text(mid, 0.97, f"{int(r['n'])}", transform=ax.get_xaxis_transform(), ha="center",
                        va="top", fontsize=8)
        ax.axvline(0, color="k", ls=":", lw=0.8)
        ax.set_xlabel(r"$\Delta\mu_{\mathrm{LX}}$ (eV)")
        ax.set_ylabel(r"$\gamma$ (J m$^{-2}$)")
        ax.set_title(f"{lig}: stable N vs ligand chemical potential")
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return _save(fig, path)


def plot_entropy_penalty(penalties: pd.DataFrame, path: str | Path) -> list[Path]:
    """Bars of ``TS_conf_per_ligand_eV`` per ligand (x) and model (colour).

    Parameters
    ----------
    penalties : pandas.DataFrame
        :func:`surfchem.thermo.models.entropy_penalties`.
    path : str or Path
        Output path without suffix.

    Returns
    -------
    list of Path
        The PNG and the PDF.
    """
    plt = _plt()
    ligands = list(dict.fromkeys(penalties["ligand"]))
    models = list(dict.fromkeys(penalties["model"]))
    fig, ax = plt.subplots(figsize=(max(4.5, 1.5 + 0.6 * len(ligands) * len(models)), 3.6))
    width = 0.8 / len(models)
    x = np.arange(len(ligands))
    for k, m in enumerate(models):
        p = penalties[penalties["model"] == m].set_index("ligand").reindex(ligands)
        ax.bar(x + (k - (len(models) - 1) / 2) * width, p["TS_conf_per_ligand_eV"] * 1e3, width, label=m)
    T = float(penalties["T_K"].iloc[0]) if "T_K" in penalties else float("nan")
    ax.set_xticks(x, ligands)
    ax.set_ylabel(r"$-T\Delta S_{\mathrm{conf}}$ per bound ligand (meV)")
    ax.set_title(f"conformational entropy penalty at {T:.0f} K")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)
