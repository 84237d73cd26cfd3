"""Figures of the computation-experiment link (no computation here; tables come from surfchem.link)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from surfchem.link.descriptors import DESCRIPTORS
from surfchem.link.report import LinkResult, main_caveat
from surfchem.plot.common import pyplot as _plt
from surfchem.plot.common import save_png_pdf as _save


def link_figures(res: LinkResult, summary: pd.DataFrame, out: str | Path) -> dict[str, Path]:
    """The link's three figures in ``out`` (pass as ``figures=`` to :func:`surfchem.link.link`).

    Parameters
    ----------
    res : surfchem.link.report.LinkResult
        The link's tables.
    summary : pandas.DataFrame
        Coverage summary of the screen(s) (:func:`surfchem.link.descriptors.coverage_summary`):
        gamma (J/m²) and dG (eV) per (ligand, N).
    out : str or Path
        Directory; each figure is written as ``.png`` and ``.pdf``.

    Returns
    -------
    dict
        ``on_vs_descriptors``, ``rank_agreement``, ``comparison``: path of each PNG.
    """
    out = Path(out)
    target = res.settings.get("target", "on_fraction")
    joined, corr = res.joined.table, res.correlations
    return {
        "on_vs_descriptors": plot_on_vs_descriptors(joined, corr, out / "on_vs_descriptors", target=target,
                                                    labels=DESCRIPTORS)[0],
        "rank_agreement": plot_rank_agreement(corr, out / "rank_agreement",
                                              caveat=main_caveat(corr, res.best), labels=DESCRIPTORS)[0],
        "comparison": plot_comparison(summary, joined, out / "comparison", target=target)[0],
    }


def _label(row) -> str:
    lig, m = str(row["ligand"]), str(row.get("measured_ligand", "") or "")
    return f"{lig}→{m}" if m and m != lig else lig


def plot_on_vs_descriptors(joined: pd.DataFrame, corr: pd.DataFrame, path: str | Path,
                           target: str = "on_fraction", labels: dict[str, str] | None = None) -> list[Path]:
    """One panel per descriptor: measured ``target`` vs descriptor, ligand labels, rho and n.

    Untested candidates are drawn as open marks on the descriptor axis (at the bottom) so the
    reader sees where they fall.

    Parameters
    ----------
    joined : pandas.DataFrame
        Descriptors joined with the measurements, one row per ligand.
    corr : pandas.DataFrame
        Correlation table (``descriptor``, ``target``, ``rho``, ``n``).
    path : str or Path
        Output path without suffix.
    target : str, default "on_fraction"
        Measured quantity on the y axis.
    labels : dict of str to str, optional
        Ligand label per ligand (e.g. ``"DDA6→DDA"``).

    Returns
    -------
    list of Path
        The PNG and the PDF.
    """
    plt = _plt()
    from matplotlib.ticker import MaxNLocator

    labels = labels or {}
    descs = list(corr["descriptor"])
    ncol = min(3, max(1, len(descs)))
    nrow = math.ceil(len(descs) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.0 * ncol, 3.3 * nrow), squeeze=False)
    meas = joined[joined["measured"]]
    cand = joined[~joined["measured"]]
    for ax, (_, c) in zip(axes.flat, corr.iterrows(), strict=False):
        d = c["descriptor"]
        m = meas[[d, target, "ligand", "measured_ligand"]].dropna(subset=[d, target])
        ax.plot(m[d], m[target] * (100 if target == "on_fraction" else 1), "o", color="C0", ms=7)
        for _, r in m.iterrows():
            ax.annotate(_label(r), (r[d], r[target] * (100 if target == "on_fraction" else 1)),
                        textcoords="offset points", xytext=(4, 4), fontsize=7)
        cc = cand[[d, "ligand"]].dropna()
        if len(cc):
            ax.plot(cc[d], np.zeros(len(cc)), "^", mfc="none", color="C3", ms=7, clip_on=False,
                    label="untested (not measured)")
            for _, r in cc.iterrows():
                ax.annotate(str(r["ligand"])[:14], (r[d], 0), textcoords="offset points",
                            xytext=(3, 5), fontsize=6, color="C3", rotation=30)
            ax.legend(fontsize=6, loc="center right")
        rho = c["rho"]
        rs = f"ρ = {rho:+.2f}" if np.isfinite(rho) else "ρ undefined"
        pex = c.get("p_exact")
        ps = f", exact p = {pex:.2g}" if pex is not None and np.isfinite(pex if pex is not None else np.nan) else ""
        ax.set_title(f"{rs} (n = {int(c['n'])}{ps})", fontsize=8)
        ax.set_xlabel(labels.get(d, d), fontsize=8)
        ax.set_ylabel("ON fraction (%)" if target == "on_fraction" else target, fontsize=8)
        if target == "on_fraction":
            ax.set_ylim(-5, 105)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(5))
    for ax in list(axes.flat)[len(descs):]:
        ax.axis("off")
    fig.suptitle(f"measured {target} vs computed descriptors (few ligands: see caveat)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_rank_agreement(corr: pd.DataFrame, path: str | Path, caveat: str = "",
                        labels: dict[str, str] | None = None) -> list[Path]:
    """Bar chart of Spearman rho per descriptor with n and exact p; the caveat printed below.

    Parameters
    ----------
    corr : pandas.DataFrame
        Correlation table (``descriptor``, ``rho``, ``n``, ``p_exact``).
    path : str or Path
        Output path without suffix.
    caveat : str, default ""
        Text printed below the chart.
    labels : dict of str to str, optional
        Axis label per descriptor.

    Returns
    -------
    list of Path
        The PNG and the PDF.
    """
    plt = _plt()
    labels = labels or {}
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(corr) + 2.2))
    y = np.arange(len(corr))
    rho = corr["rho"].astype(float).to_numpy()
    colors = ["C0" if (s is not None and np.isfinite(r) and np.sign(r) == s) else "C1"
              for r, s in zip(rho, corr["expected_sign"], strict=True)]
    ax.barh(y, np.nan_to_num(rho), color=colors)
    for yi, (_, c) in zip(y, corr.iterrows(), strict=True):
        txt = (f"n={int(c['n'])}" + (f", p_exact={c['p_exact']:.2g}" if c["p_exact"] is not None
                                       and np.isfinite(c["p_exact"]) else "")
               if np.isfinite(c["rho"]) else f"n={int(c['n'])}: undefined")
        ax.text(0.02 if not np.isfinite(c["rho"]) or c["rho"] <= 0 else -0.02, yi, txt, va="center",
                ha="left" if not np.isfinite(c["rho"]) or c["rho"] <= 0 else "right", fontsize=7)
    ax.set_yticks(y, [labels.get(d, d) for d in corr["descriptor"]], fontsize=7)
    ax.set_xlim(-1.05, 1.05)
    ax.axvline(0, color="k", lw=0.6)
    ax.set_xlabel("Spearman ρ with the measured value")
    ax.set_title("rank agreement (blue: the sign the paper's claim expects; orange: opposite)", fontsize=8)
    ax.invert_yaxis()
    if caveat:
        import textwrap

        fig.text(0.01, 0.01, "\n".join(textwrap.wrap(caveat, 130)), fontsize=6.5, va="bottom")
        fig.subplots_adjust(bottom=0.28)
    fig.tight_layout(rect=(0, 0.12 if caveat else 0, 1, 1))
    return _save(fig, path)


def plot_comparison(summary: pd.DataFrame, joined: pd.DataFrame, path: str | Path,
                    target: str = "on_fraction") -> list[Path]:
    """gamma(N) of every computed ligand on one axis (left), measured ON fraction bars (right).

    Parameters
    ----------
    summary : pandas.DataFrame
        Coverage summary: ``gamma_J_m2`` (J/m²) per (ligand, n).
    joined : pandas.DataFrame
        Descriptors joined with the measurements.
    path : str or Path
        Output path without suffix.
    target : str, default "on_fraction"
        Measured quantity of the bars.

    Returns
    -------
    list of Path
        The PNG and the PDF.
    """
    plt = _plt()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.9), gridspec_kw={"width_ratios": [1.6, 1]})
    ligs = list(joined["ligand"])
    colors = {lig: f"C{i % 10}" for i, lig in enumerate(ligs)}
    for lig in ligs:
        s = summary[summary["ligand"] == lig].sort_values("n")
        if s.empty:
            continue
        row = joined[joined["ligand"] == lig].iloc[0]
        style = "o-" if row["measured"] else "s--"
        err = s["gamma_err_J_m2"] if "gamma_err_J_m2" in s else None
        ax.errorbar(s["n"], s["gamma_J_m2"], yerr=err, fmt=style, color=colors[lig], ms=5, capsize=2,
                    label=_label(row) + ("" if row["measured"] else " (untested)"))
        k = s["gamma_J_m2"].idxmin()
        ax.plot(s.loc[k, "n"], s.loc[k, "gamma_J_m2"], "*", color=colors[lig], ms=12)
    ax.set_xlabel("number of surface ligands N")
    ax.set_ylabel(r"$\gamma(N)$ (J m$^{-2}$)")
    ax.set_title("computed surface free energy (★ = minimum)", fontsize=9)
    ax.legend(fontsize=7)
    vals = [(joined.iloc[i][target] if joined.iloc[i]["measured"] else np.nan) for i in range(len(joined))]
    scale = 100 if target == "on_fraction" else 1
    x = np.arange(len(ligs))
    heights = np.nan_to_num(np.asarray(vals, float) * scale)
    bars = bx.bar(x, heights, color=[colors[lig] for lig in ligs])
    for xi, v, b in zip(x, vals, bars, strict=True):
        if not np.isfinite(v):
            b.set_hatch("//")
            b.set_alpha(0.3)
            bx.text(xi, 2, "not\nmeasured", ha="center", fontsize=7)
        else:
            bx.text(xi, v * scale + 1, f"{v * scale:.1f}" if scale == 100 else f"{v:.2g}", ha="center", fontsize=7)
    bx.set_xticks(x, [_label(joined.iloc[i]) for i in range(len(joined))], rotation=30, ha="right", fontsize=7)
    bx.set_ylabel("measured ON fraction (%)" if target == "on_fraction" else target)
    if target == "on_fraction":
        bx.set_ylim(0, 105)
    bx.set_title("measured (see table for condition)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)
