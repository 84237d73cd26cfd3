"""Figures of the validation suite (no computation here).

:func:`plot_validation` draws (left) a0 per calculator and material relative to experiment,
with the published PBE value, and (right) the parity of every energy quantity (gamma excess
energy, exchange and stacking energies) against its GPAW reference.
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
    """Write ``validation.png``/``.pdf`` from a ValidationResult (or its dict); return paths."""
    plt = _plt()
    d = res if isinstance(res, dict) else res.as_dict()
    bulk = [r for r in d.get("bulk", []) if not r.get("error")]
    parity = d.get("parity", [])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    mats = list(dict.fromkeys(r["material"] for r in bulk))
    calcs = list(dict.fromkeys(r["calculator"] for r in bulk))
    width = 0.8 / max(len(calcs), 1)
    for j, c in enumerate(calcs):
        ys = []
        for m in mats:
            hit = [r for r in bulk if r["material"] == m and r["calculator"] == c]
            ys.append(100 * (hit[0]["a0_A"] / hit[0]["a0_expt_A"] - 1) if hit else np.nan)
        ax1.bar(np.arange(len(mats)) + (j - (len(calcs) - 1) / 2) * width, ys, width, label=c)
    for i, m in enumerate(mats):
        r = next(r for r in bulk if r["material"] == m)
        lit = 100 * (r["a0_pbe_lit_A"] / r["a0_expt_A"] - 1)
        ax1.plot([i - 0.45, i + 0.45], [lit, lit], "k--", lw=1,
                 label="published PBE" if i == 0 else None)
    ax1.axhline(0, color="k", lw=0.8)
    ax1.set_xticks(range(len(mats)), mats)
    ax1.set_ylabel("a0 - a0(expt) (%)")
    ax1.set_title("lattice constants vs experiment")
    ax1.legend(fontsize=7, ncol=2)
    markers = {"surface": "o", "binding": "s", "stacking": "^"}
    energy_rows = [r for r in parity if r["table"] != "bulk"]
    cal = list(dict.fromkeys(r["calculator"] for r in energy_rows))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for r in energy_rows:
        x = r["reference_value"]
        y = r["value"]
        ax2.scatter(x, y, marker=markers.get(r["table"], "x"),
                    color=colors[cal.index(r["calculator"]) % len(colors)], s=30)
    for i, c in enumerate(cal):
        ax2.scatter([], [], color=colors[i % len(colors)], label=c)
    for t, mk in markers.items():
        ax2.scatter([], [], marker=mk, color="grey", label={"surface": "gamma (meV/Å²)",
                                                           "binding": "exchange (eV)",
                                                           "stacking": "stacking (eV)"}[t])
    if energy_rows:
        vals = [r["value"] for r in energy_rows] + [r["reference_value"] for r in energy_rows]
        lo, hi = min(vals), max(vals)
        pad = 0.05 * (hi - lo + 1e-9)
        ax2.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k-", lw=0.8)
    ax2.set_xlabel("GPAW reference")
    ax2.set_ylabel("calculator")
    ax2.set_title("parity vs GPAW (same geometries)")
    ax2.legend(fontsize=7)
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
