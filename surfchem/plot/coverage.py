"""Fig. 1c,d-style coverage plots: gamma(N) solid marks, dG(N) hollow marks, one panel per ligand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from surfchem.core.units import EV_PER_A2_IN_J_PER_M2
from surfchem.plot.common import pyplot, save_png_pdf


def plot_coverage(summary: pd.DataFrame, path: str | Path, table: pd.DataFrame | None = None,
                  unit: str = "J/m2") -> list[Path]:
    """gamma(N) and dG(N) per ligand, written as ``path.png`` and ``path.pdf``.

    Parameters
    ----------
    summary : pandas.DataFrame
        Per (ligand, n) lowest rows with ``gamma_J_m2`` (J/m²) and ``dG_eV`` (eV); optional error
        columns ``gamma_err_J_m2``, ``dG_err_eV`` are drawn as error bars.
    path : str or Path
        Output path without suffix (parents created).
    table : pandas.DataFrame, optional
        All computed arrangements: adds small grey dots for the non-lowest gamma values.
    unit : str, default "J/m2"
        Unit of the gamma axis.

    Returns
    -------
    list of Path
        The PNG and the PDF.
    """
    plt = pyplot()
    ligands = list(dict.fromkeys(summary["ligand"]))
    scale, label = (1.0, r"$\gamma$ (J m$^{-2}$)") if unit == "J/m2" else (1e3 / EV_PER_A2_IN_J_PER_M2, r"$\gamma$ (meV Å$^{-2}$)")
    fig, axes = plt.subplots(1, len(ligands), figsize=(4.2 * len(ligands), 3.6), squeeze=False)
    for ax, lig in zip(axes[0], ligands, strict=True):
        s = summary[summary["ligand"] == lig].sort_values("n")
        if table is not None:
            t = table[(table["ligand"] == lig) & ~table["is_min"].astype(bool)]
            ax.plot(t["n"], t["gamma_J_m2"] * scale, ".", color="0.6", ms=4, label="other arrangements")
        gerr = s["gamma_err_J_m2"] * scale if "gamma_err_J_m2" in s else None
        ax.errorbar(s["n"], s["gamma_J_m2"] * scale, yerr=gerr, fmt="o-", color="C0", ms=7,
                    capsize=3, label=r"$\gamma(N)$")
        if "flags" in s:
            bad = s[s["flags"].fillna("").str.replace("single_start", "").str.strip(";") != ""]
            if len(bad):
                ax.plot(bad["n"], bad["gamma_J_m2"] * scale, "x", color="red", ms=11, mew=2,
                        label="flagged (see results.csv flags)")
        nmin = int(s.loc[s["gamma_J_m2"].idxmin(), "n"])
        ax.axvline(nmin, color="C0", ls=":", lw=1)
        ax.set_xlabel("number of surface ligands N")
        ax.set_ylabel(label, color="C0")
        ax.set_title(f"{lig} (N$_{{min}}$ = {nmin})")
        ax2 = ax.twinx()
        d = s[s["n"] > 0]
        derr = d["dG_err_eV"] if "dG_err_eV" in d else None
        ax2.errorbar(d["n"], d["dG_eV"], yerr=derr, fmt="o--", mfc="none", color="C3", ms=7,
                     capsize=3, label=r"$\Delta G(N)$")
        ax2.axhline(0, color="C3", lw=0.6, alpha=0.5)
        ax2.set_ylabel(r"$\Delta G(N)$ (eV)", color="C3")
        ax.set_xticks(range(int(s["n"].min()), int(s["n"].max()) + 1))
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="best")
    fig.tight_layout()
    return save_png_pdf(fig, path)
