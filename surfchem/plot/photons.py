"""Figures for single-dot photon statistics (no computation here beyond reshaping).

:func:`plot_analysis` writes, for one :class:`~surfchem.experiment.analyze.PhotonAnalysis`:
``trace.png`` (intensity trace + threshold + intensity histogram, paper Fig. 2/5),
``g2.png`` (coincidence histogram), ``decay.png`` (decay + fit, Fig. 6a), ``flid.png`` and,
when a power law was fitted, ``dwell.png`` (ON/OFF duration densities, Fig. 2i/j); with change
points (method ``cpa``) ``cpa_levels.png`` (trace with the levels of the segments), ``cpa_flid.png``
and ``cpa_fdid.png`` (segments, weighted by their length in trace bins).
Figures whose data the mode does not provide are skipped.
"""

from __future__ import annotations

import os

import numpy as np

from surfchem.experiment.decay import periodic_decay_model
from surfchem.plot.common import pyplot as _plt
from surfchem.plot.common import save_png


def plot_trace(res, path: str) -> str:
    """Intensity trace (counts per bin vs time, s) with the ON/OFF threshold, and its histogram.

    Parameters
    ----------
    res : surfchem.experiment.analyze.PhotonAnalysis
        An analysis run with ``keep_data=True`` (its ``data`` holds the arrays).
    path : str
        Output image file (PNG; the format follows the suffix).

    Returns
    -------
    str
        ``path``.
    """
    plt = _plt()
    d = res.data
    c = d.trace_counts
    t = np.arange(c.size) * d.bin_s
    fig, (ax, axh) = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True,
                                  gridspec_kw={"width_ratios": [4, 1]})
    ax.plot(t, c, lw=0.4, color="tab:red")
    if d.threshold_counts is not None:
        ax.axhline(d.threshold_counts, color="k", ls="--", lw=0.8, label="threshold")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"counts / {d.bin_s * 1e3:g} ms")
    ax.set_title(f"ON fraction {res.on_fraction:.3f}, Q = {res.mandel_q:.2f}" if res.on_fraction is not None else "trace")
    vals, h = np.unique(c, return_counts=True)
    axh.barh(vals, h, height=1.0, color="tab:red")
    axh.set_xscale("log")
    axh.set_xlabel("occurrences")
    return save_png(fig, path)


def plot_g2(res, path: str) -> str:
    """Second-order correlation: coincidences vs delay tau (ns).

    Parameters
    ----------
    res : surfchem.experiment.analyze.PhotonAnalysis
        An analysis run with ``keep_data=True`` (its ``data`` holds the arrays).
    path : str
        Output image file (PNG; the format follows the suffix).

    Returns
    -------
    str
        ``path``.
    """
    plt = _plt()
    h = res.data.g2
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(h.tau_ps / 1e3, h.counts, lw=0.6, drawstyle="steps-mid")
    ax.set_xlabel("delay tau (ns)")
    ax.set_ylabel("coincidences")
    if res.g2_0_raw is not None:
        ax.set_title(f"g2(0) raw {res.g2_0_raw:.3f}" + (f", corrected {res.g2_0:.3f}" if res.g2_0 is not None else ""))
    return save_png(fig, path)


def plot_decay(res, path: str) -> str:
    """Fluorescence decay (counts vs delay after sync, ns) with the reconvolution fit.

    Parameters
    ----------
    res : surfchem.experiment.analyze.PhotonAnalysis
        An analysis run with ``keep_data=True`` (its ``data`` holds the arrays).
    path : str
        Output image file (PNG; the format follows the suffix).

    Returns
    -------
    str
        ``path``.
    """
    plt = _plt()
    d = res.data
    n = d.decay_hist
    t = (np.arange(n.size) + 0.5) * d.decay_bin_ps / 1e3
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.semilogy(t, np.maximum(n, 0.5), lw=0.5, color="tab:green", label="data")
    lf = d.lifetime_fit
    if lf is not None and np.isfinite(lf.irf_sigma_ns):
        edges = np.arange(n.size + 1) * d.decay_bin_ps
        m = lf.amplitude_counts * periodic_decay_model(edges, n.size * d.decay_bin_ps if d.sync_period_ps is None else d.sync_period_ps,
                                                      lf.t0_ns * 1e3, lf.irf_sigma_ns * 1e3, lf.lifetime_ns * 1e3) + lf.background_per_bin
        ax.semilogy(t, m, color="k", lw=0.8, label=f"fit tau = {lf.lifetime_ns:.2f} ns")
        ax.set_xlim(0, min(t[-1], lf.t0_ns + 15 * lf.lifetime_ns))
    ax.set_ylim(0.3, max(float(n.max()), 1.0) * 2)
    ax.set_xlabel("delay after sync (ns)")
    ax.set_ylabel("counts")
    ax.legend()
    return save_png(fig, path)


def _intensity_map(x_edges, y_edges, hist, xlabel: str, ylabel: str, path: str) -> str:
    """A 2D intensity map (FLID, FDID) as a colour mesh."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.5, 3.8))
    ax.pcolormesh(x_edges, y_edges, hist, cmap="viridis")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return save_png(fig, path)


def plot_flid(res, path: str) -> str:
    """Fluorescence-lifetime-intensity distribution (counts per bin vs lifetime, ns).

    Parameters
    ----------
    res : surfchem.experiment.analyze.PhotonAnalysis
        An analysis run with ``keep_data=True`` (its ``data`` holds the arrays).
    path : str
        Output image file (PNG; the format follows the suffix).

    Returns
    -------
    str
        ``path``.
    """
    f = res.data.flid
    return _intensity_map(f.lifetime_edges_ns, f.intensity_edges, f.hist, "mean delay - t0 (ns)",
                          f"counts / {res.bin_s * 1e3:g} ms", path)


def plot_cpa_levels(res, path: str) -> str:
    """Binned trace with the change-point segments' intensities (counts per bin) on top.

    Parameters
    ----------
    res : surfchem.experiment.analyze.PhotonAnalysis
        An analysis with a change-point result.
    path : str
        Output file (format from the suffix).

    Returns
    -------
    str
        ``path``.
    """
    plt = _plt()
    d = res.data
    segs = d.cpa.segments
    fig, ax = plt.subplots(figsize=(10, 3.2))
    if d.trace_counts is not None:
        ax.plot(np.arange(d.trace_counts.size) * d.bin_s, d.trace_counts, lw=0.4, color="0.6")
    level_counts = d.cpa.level_rates_cps[d.cpa.segment_level] * d.bin_s
    edges = np.append(segs.start_ps, segs.end_ps[-1:]) * 1e-12
    ax.stairs(level_counts, edges, color="tab:red", lw=1.0, label=f"{d.cpa.n_levels} levels")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"counts / {d.bin_s * 1e3:g} ms")
    ax.legend(fontsize=8)
    return save_png(fig, path)


def plot_dwell(res, path: str) -> str:
    """ON/OFF dwell-time probability densities (log-binned) with the fitted power laws (Fig. 2i).

    Parameters
    ----------
    res : surfchem.experiment.analyze.PhotonAnalysis
        An analysis with dwell times.
    path : str
        Output file (format from the suffix).

    Returns
    -------
    str
        ``path``.
    """
    plt = _plt()
    d = res.data
    fig, ax = plt.subplots(figsize=(5, 3.8))
    for name, x, k, tmin, color in (("ON", d.on_dwell_s, res.k_on, res.t_min_on_s, "tab:red"),
                                    ("OFF", d.off_dwell_s, res.k_off, res.t_min_off_s, "tab:blue")):
        if x is None or x.size < 2:
            continue
        edges = np.geomspace(x.min() * 0.999, x.max() * 1.001, 25)
        h, e = np.histogram(x, bins=edges)
        dens = h / np.diff(e) / x.size
        c = np.sqrt(e[:-1] * e[1:])
        ok = h > 0
        ax.loglog(c[ok], dens[ok], "o", ms=3, color=color, label=f"{name}")
        if k is not None and tmin is not None:
            tail = x >= tmin
            t = np.geomspace(tmin, x.max(), 50)
            # continuous power-law density normalised to the fraction of events in the tail
            pdf = (k - 1) / tmin * (t / tmin) ** (-k) * tail.mean()
            ax.loglog(t, pdf, "--", color=color, lw=1, label=f"k_{name} = {k:.2f}")
    ax.set_xlabel("duration (s)")
    ax.set_ylabel("probability density (1/s)")
    ax.legend(fontsize=8)
    return save_png(fig, path)


def plot_analysis(res, outdir: str) -> list[str]:
    """Write every figure the data allow.

    Parameters
    ----------
    res : surfchem.experiment.analyze.PhotonAnalysis
        A photon-stream analysis.
    outdir : str
        Output directory.

    Returns
    -------
    list of str
        The written files.
    """
    os.makedirs(outdir, exist_ok=True)
    d = res.data
    out = []
    if d is None:
        return out
    if d.trace_counts is not None and d.trace_counts.size:
        out.append(plot_trace(res, os.path.join(outdir, "trace.png")))
    if d.g2 is not None:
        out.append(plot_g2(res, os.path.join(outdir, "g2.png")))
    if d.decay_hist is not None:
        out.append(plot_decay(res, os.path.join(outdir, "decay.png")))
    if d.flid is not None and d.flid.hist.size:
        out.append(plot_flid(res, os.path.join(outdir, "flid.png")))
    if res.k_on is not None or res.k_off is not None:
        out.append(plot_dwell(res, os.path.join(outdir, "dwell.png")))
    if d.cpa is not None and d.cpa.segments.start_ps.size:
        out.append(plot_cpa_levels(res, os.path.join(outdir, "cpa_levels.png")))
    ylabel = f"counts / {res.bin_s * 1e3:g} ms"
    if d.cpa_flid is not None and d.cpa_flid.hist.size:
        f = d.cpa_flid
        out.append(_intensity_map(f.lifetime_edges_ns, f.intensity_edges, f.hist, "segment lifetime (ns)",
                                  ylabel, os.path.join(outdir, "cpa_flid.png")))
    if d.cpa_fdid is not None and d.cpa_fdid.hist.size:
        f = d.cpa_fdid
        out.append(_intensity_map(f.rate_edges_per_ns, f.intensity_edges, f.hist, "segment decay rate (1/ns)",
                                  ylabel, os.path.join(outdir, "cpa_fdid.png")))
    return out
