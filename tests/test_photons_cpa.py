"""``analyze --method cpa``: change-point levels next to the binned analysis, level lifetimes, FLID/FDID.

The T3 files are built piecewise with known truth: intensity levels that differ in count rate
*and* lifetime (a dim, short-lived grey state and a bright exciton state, as in the FLID
correlation), known switching times and a uniform background (in time and in delay).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from surfchem.experiment import ptu
from surfchem.experiment.analyze import AnalysisOptions, analyze_file

PERIOD_PS = 500_000  # 2 MHz laser
RES_PS = 16
IRF_OFFSET_PS, IRF_SIGMA_PS = 3000.0, 50.0
BG_CPS = 500.0
TOL_S = 2e-3  # switching-time tolerance: ~10 inter-photon times of the dimmest level (4 kcps + bg)


def _write_levels(path, rates_cps, lifetimes_ns, *, n_dwells=30, seed=0):
    """PTU T3 file of a piecewise-constant emitter; returns (switching edges in s, level per dwell)."""
    rng = np.random.default_rng(seed)
    q = len(rates_cps)
    order = [int(rng.integers(q))]
    while len(order) < n_dwells:  # no level repeated back to back
        order.append(int(rng.choice([j for j in range(q) if j != order[-1]])))
    edges = np.concatenate([[0.0], np.cumsum(rng.uniform(0.15, 0.5, n_dwells))])
    nsync, delay = [], []
    for a, b, j in zip(edges[:-1], edges[1:], order, strict=True):
        n = rng.poisson(rates_cps[j] * (b - a))
        nsync.append(rng.integers(int(a * 1e12 / PERIOD_PS), int(b * 1e12 / PERIOD_PS), n))
        delay.append(IRF_OFFSET_PS + rng.normal(0, IRF_SIGMA_PS, n) + rng.exponential(lifetimes_ns[j] * 1e3, n))
    n_pulses = int(edges[-1] * 1e12 / PERIOD_PS)
    n_bg = rng.poisson(BG_CPS * edges[-1])
    nsync.append(rng.integers(0, n_pulses, n_bg))
    delay.append(rng.uniform(0, PERIOD_PS, n_bg))
    nsync, dtime = np.concatenate(nsync), (np.concatenate(delay) % PERIOD_PS // RES_PS).astype(np.int64)
    o = np.lexsort((dtime, nsync))  # photons of one pulse in arrival order, as the hardware records them
    recs = ptu.encode_hh_t3(nsync[o], dtime[o], rng.integers(0, 2, o.size))
    ptu.write_ptu(path, recs, mode="t3", global_resolution_s=PERIOD_PS * 1e-12, resolution_s=RES_PS * 1e-12,
                  sync_rate_hz=1e12 / PERIOD_PS, acquisition_time_s=edges[-1])
    return edges, np.asarray(order)


def _match(detected, edges):
    """(fraction of true switches found within TOL_S, fraction of detections that are true)."""
    d = np.abs(np.asarray(detected)[:, None] - edges[1:-1][None, :])
    return (d.min(axis=0) < TOL_S).mean(), (d.min(axis=1) < TOL_S).mean()


@pytest.mark.parametrize("rates, lifetimes", [
    ((4e3, 25e3), (3.0, 8.0)),  # dim grey state, bright exciton
    ((4e3, 12e3, 30e3), (3.0, 5.0, 8.0)),
], ids=["two_levels", "three_levels"])
def test_cpa_levels_switches_and_level_lifetimes(tmp_path, rates, lifetimes):
    f = tmp_path / "levels.ptu"
    edges, order = _write_levels(f, rates, lifetimes, seed=len(rates))
    res = analyze_file(f, AnalysisOptions(method="cpa", cpa_alpha=0.01))
    assert res.on_fraction is not None and res.lifetime_ns is not None  # the binned analysis stays
    cp = res.changepoints
    assert cp["n_levels"] == len(rates)
    np.testing.assert_allclose(cp["level_rates_cps"], np.asarray(rates) + BG_CPS, rtol=0.05)
    recall, precision = _match(res.data.cpa.switching_times_s, edges)
    assert recall >= 0.95 and precision >= 0.95
    # time in each level against the truth
    dwell = np.diff(edges)
    np.testing.assert_allclose(cp["level_time_s"], [dwell[order == j].sum() for j in range(len(rates))],
                               rtol=0.02)
    # fitted per-level lifetimes (reconvolution of each level's decay histogram)
    np.testing.assert_allclose(cp["level_lifetime_ns"], lifetimes, rtol=0.03)
    # per segment, fixed-IRF fits: centred on their level's truth, errors that cover the scatter
    d, lab = res.data, res.data.cpa.segment_level
    assert cp["segment_lifetime_method"] == "fixed_irf_fit"
    for j, truth in enumerate(lifetimes):
        tau, err = d.cpa_segment_lifetime_ns[lab == j], d.cpa_segment_lifetime_err_ns[lab == j]
        ok = np.isfinite(tau)
        assert ok.mean() >= 0.9  # segments of >= 100 photons
        assert np.median(tau[ok]) == pytest.approx(truth, rel=0.05)
        assert np.mean(np.abs(tau[ok] - truth) < 3 * err[ok]) >= 0.9
    # first moments, per level and per segment, where the background is < 5 % of the level: the
    # background correction has a lever arm of half the period (250 ns), so a 3 % error of the
    # background rate moves a dim (b = 11 %) level's first moment by ~1 ns
    for j, truth in enumerate(lifetimes):
        if BG_CPS / rates[j] < 0.05:
            assert cp["level_mean_delay_lifetime_ns"][j] == pytest.approx(truth, rel=0.05)
            assert np.nanmedian(d.cpa_segment_mean_delay_lifetime_ns[lab == j]) == pytest.approx(truth, rel=0.1)
    # FLID / FDID of the segments: weights are segment lengths in trace bins (short segments with
    # a first moment off the axes drop out)
    total_bins = res.data.cpa.segments.duration_s.sum() / res.bin_s
    for m in (res.data.cpa_flid, res.data.cpa_fdid):
        assert 0.95 * total_bins <= m.hist.sum() <= total_bins * (1 + 1e-9)


def test_cli_analyze_method_cpa_json(tmp_path, capsys):
    from surfchem.cli.main import main

    f = tmp_path / "levels.ptu"
    _write_levels(f, (4e3, 25e3), (3.0, 8.0), n_dwells=12, seed=11)
    assert main(["photons", "analyze", str(f), "--method", "cpa", "--json", "--plot", str(tmp_path / "figs")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["on_fraction"] is not None and out["changepoints"]["n_levels"] == 2
    for k in ("level_rates_cps", "mean_dwell_s", "median_dwell_s", "n_dwells", "level_lifetime_ns",
              "level_time_fraction"):
        assert k in out["changepoints"], k
    assert {"cpa_levels.png", "cpa_flid.png", "cpa_fdid.png"} <= {p.split("/")[-1] for p in out["figures"]}
    assert main(["photons", "analyze", str(f), "--json"]) == 0  # binned only: no change-point block
    assert "changepoints" not in json.loads(capsys.readouterr().out)
    assert main(["photons", "analyze", str(f), "--method", "cpa", "--alpha", "0.7"]) == 2
    assert "alpha" in capsys.readouterr().err
    # batch table: the change-point columns next to the binned ones
    import csv

    table = tmp_path / "table.csv"
    assert main(["photons", "batch", str(tmp_path), "--out", str(table), "--method", "cpa", "--no-progress"]) == 0
    row = next(csv.DictReader(table.open()))
    assert row["cpa_n_levels"] == "2" and len(row["cpa_level_lifetime_ns"].split(";")) == 2
    assert float(row["on_fraction"]) > 0


def test_cpa_on_a_stream_read_once_keeps_first_moments_and_says_why(tmp_path):
    from surfchem.experiment import stream
    from surfchem.experiment.analyze import analyze_stream

    f = tmp_path / "levels.ptu"
    _write_levels(f, (4e3, 25e3), (3.0, 8.0), n_dwells=10, seed=5)
    chunks = list(stream.open_stream(f)[1])
    info, it = stream.array_stream(*(np.concatenate([getattr(c, k) for c in chunks])
                                     for k in ("times_ps", "channels", "microtimes_ps")),
                                   sync_period_ps=PERIOD_PS, microtime_bin_ps=RES_PS)
    res = analyze_stream(info, it, AnalysisOptions(method="cpa"))
    assert res.changepoints["n_levels"] == 2 and "level_lifetime_ns" not in res.changepoints
    assert res.changepoints["level_mean_delay_lifetime_ns"][1] == pytest.approx(8.0, rel=0.05)
    assert res.changepoints["segment_lifetime_method"] == "first_moment"
    assert any("read a second time" in w for w in res.warnings)
