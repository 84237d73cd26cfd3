"""Figures of the validation suite (no computation here).

:func:`plot_validation` draws (left) a0 per calculator and material relative to experiment,
with the published PBE value, (middle) gamma of the bare slab and (right) exchange and stacking
energies against their GPAW reference; points off the axes are clipped and listed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_validation(res: Any, outdir: str | Path) -> dict[str, str]:
    """Write ``validation.png``/``.pdf`` from a validation result.

    Parameters
    ----------
    res : surfchem.validate.suite.ValidationResult or dict
        The result or its dict.
    outdir : str or Path
        Output directory (created).

    Returns
    -------
    dict of str to str
        ``plot_png`` and ``plot_pdf``: the written files.
    """
    plt = _plt()
    d = res if isinstance(res, dict) else res.as_dict()
    bulk = [r for r in d.get("bulk", []) if not r.get("error")]
    parity = d.get("parity", [])
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.6))
    mats = list(dict.fromkeys(r["material"] for r in bulk))
    calcs = list(dict.fromkeys(r["calculator"] for r in bulk))
    width = 0.8 / max(len(calcs), 1)
    every = list(dict.fromkeys([*calcs, *(r["calculator"] for r in parity)]))
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if len(every) > len(cycle):  # one colour per calculator, the same in all panels
        cycle = [plt.get_cmap("tab20")(i % 20) for i in range(len(every))]
    color = {c: cycle[i % len(cycle)] for i, c in enumerate(every)}
    for j, c in enumerate(calcs):
        ys = []
        for m in mats:
            hit = [r for r in bulk if r["material"] == m and r["calculator"] == c]
            ys.append(100 * (hit[0]["a0_A"] / hit[0]["a0_expt_A"] - 1) if hit else np.nan)
        ax1.bar(np.arange(len(mats)) + (j - (len(calcs) - 1) / 2) * width, ys, width, label=c,
                color=color[c])
    for i, m in enumerate(mats):
        r = next(r for r in bulk if r["material"] == m)
        lit = 100 * (r["a0_pbe_lit_A"] / r["a0_expt_A"] - 1)
        ax1.plot([i - 0.45, i + 0.45], [lit, lit], "k--", lw=1,
                 label="published PBE" if i == 0 else None)
    ax1.axhline(0, color="k", lw=0.8)
    ax1.set_xticks(range(len(mats)), mats)
    ax1.set_ylabel("a0 - a0(expt) (%)")
    ax1.set_title("lattice constants vs experiment")
    lo, hi = ax1.get_ylim()
    ax1.set_ylim(lo, hi + 0.08 * (hi - lo) * (len(calcs) + 1) / 2)  # headroom for the legend
    ax1.legend(fontsize=6 if len(calcs) > 10 else 7, ncol=2, loc="upper center")
    energy_rows = [r for r in parity if r["table"] in ("surface", "binding", "stacking")]
    cal = list(dict.fromkeys(r["calculator"] for r in energy_rows))
    panels = [(ax2, ("surface",), "gamma, bare slab (meV/Å²)", 12.0),
              (ax3, ("binding", "stacking"), "exchange (■) and stacking (▲) energies (eV)", 1.5)]
    markers = {"surface": "o", "binding": "s", "stacking": "^"}
    for ax, tables, title, margin in panels:
        rows = [r for r in energy_rows if r["table"] in tables]
        if not rows:
            ax.set_visible(False)
            continue
        refs = [r["reference_value"] for r in rows]
        lo, hi = min(refs) - margin, max(refs) + margin
        off = []
        for r in rows:
            y = r["value"]
            if not lo <= y <= hi:
                off.append(f"{r['calculator']} {r['system'].split(':', 1)[1]}: {y:.3g}")
                y = min(max(y, lo), hi)
            ax.scatter(r["reference_value"], y, marker=markers[r["table"]], s=30,
                       color=color[r["calculator"]])
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        if off:
            ax.text(0.02, 0.98, "off scale (clipped):\n" + "\n".join(off[:6]), transform=ax.transAxes,
                    va="top", fontsize=6)
        ax.set_xlabel("GPAW reference (same geometry)")
        ax.set_ylabel("calculator")
        ax.set_title(title, fontsize=9)
    for c in cal:
        ax3.scatter([], [], color=color[c], label=c)
    ax3.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for ext in ("png", "pdf"):
        p = out / f"validation.{ext}"
        fig.savefig(p, dpi=150)
        paths[f"plot_{ext}"] = str(p)
    plt.close(fig)
    return paths
