"""Ground-truth recovery from simulated photon streams (issue acceptance numbers)."""

from __future__ import annotations

import numpy as np
import pytest

from surfchem.experiment import dwell, g2, photonhdf5, simulate, stream, trace
from surfchem.experiment.analyze import AnalysisOptions, analyze_file, analyze_stream

TRUE_G2 = 0.05
TRUE_TAU_NS = 8.0


@pytest.fixture(scope="module")
def blinking_t3(tmp_path_factory):
    """60 s blinking dot, pulsed 2 MHz, g2(0) = 0.05, 2 % background, 8 ns lifetime."""
    p = tmp_path_factory.mktemp("ana") / "blink.ptu"
    params = simulate.SimulationParams(
        duration_s=60.0, mode="t3", blinking="exponential", on_fraction=0.7, cycle_s=0.4,
        count_rate_on_cps=40e3, g2_0=TRUE_G2, background_fraction=0.02, lifetime_ns=TRUE_TAU_NS,
        irf_sigma_ns=0.06, seed=11)
    truth = simulate.write_simulated_ptu(params, p)
    return p, truth, analyze_file(p)


def test_on_fraction_within_001(blinking_t3):
    _, truth, r = blinking_t3
    assert abs(r.on_fraction - truth["on_fraction"]) < 0.01
    assert r.mandel_q > 5  # blinking: strongly super-Poissonian


def test_g2_zero_after_background_correction_within_001(blinking_t3):
    _, truth, r = blinking_t3
    assert abs(r.background_fraction - truth["background_fraction"]) < 0.004
    assert abs(r.g2_0_exact - TRUE_G2) < 0.01
    # the raw value carries the background (~2b); the paper's rule removes only b of it
    assert r.g2_0_raw - TRUE_G2 > 0.02
    assert r.g2_0 == pytest.approx(r.g2_0_raw - r.background_fraction)
    # background relative to the ON-state intensity: b / on_fraction for a dark OFF state
    b, f = truth["background_fraction"], truth["on_fraction"]
    assert r.background_fraction_on == pytest.approx(b * f / (1 - b + b * f), rel=0.15)


def test_lifetime_within_2_percent(blinking_t3):
    _, _, r = blinking_t3
    assert abs(r.lifetime_ns - TRUE_TAU_NS) / TRUE_TAU_NS < 0.02
    assert r.lifetime_err_ns < 0.1
    assert abs(r.irf_sigma_ns - 0.06) < 0.02
    assert r.data.flid.hist.sum() > 0.9 * r.data.trace_counts.astype(bool).sum()


def test_analysis_independent_of_chunk_size(blinking_t3):
    path, _, ref = blinking_t3
    other = analyze_file(path, AnalysisOptions(chunk_records=10007))
    np.testing.assert_array_equal(ref.data.trace_counts, other.data.trace_counts)
    np.testing.assert_array_equal(ref.data.g2.counts, other.data.g2.counts)
    np.testing.assert_array_equal(ref.data.decay_hist, other.data.decay_hist)
    a, b = ref.to_dict(), other.to_dict()
    for k in ("n_photons", "on_fraction", "mandel_q", "g2_0_raw", "g2_0", "background_fraction", "lifetime_ns"):
        assert a[k] == b[k], k


def test_two_level_threshold_agrees(blinking_t3):
    _, truth, r = blinking_t3
    c = r.data.trace_counts
    thr = trace.threshold(c, "two_level")
    assert thr.off_level_counts < 0.2 * thr.on_level_counts
    assert abs(trace.on_fraction(c, thr.value_counts) - truth["on_fraction"]) < 0.01
    with pytest.raises(Exception, match="counts_value"):
        trace.threshold(c, "counts")


def test_poisson_emitter_mandel_q_and_bin_scan(tmp_path):
    p = tmp_path / "poisson.ptu"
    simulate.write_simulated_ptu(simulate.SimulationParams(
        duration_s=20.0, mode="t2", rep_rate_hz=None, blinking="none", count_rate_on_cps=50e3,
        seed=2), p)
    r = analyze_file(p)
    assert abs(r.mandel_q) < 0.1
    assert r.on_fraction > 0.99
    assert r.lifetime_ns is None and r.g2_0 is None  # cw T2: mode does not allow them
    widths = [row["bin_s"] for row in r.bin_scan]
    assert widths[0] == pytest.approx(0.001) and widths[-1] == pytest.approx(0.1)
    for row in r.bin_scan:  # statistical error of Q is sqrt(2 / n_bins) for Poisson counts
        n_bins = 20.0 / row["bin_s"]
        assert abs(row["mandel_q"]) < max(0.1, 4 * np.sqrt(2 / n_bins))
    assert all(row["on_fraction"] > 0.95 for row in r.bin_scan if row["bin_s"] >= 0.005)


def test_cw_antibunching_fit(tmp_path):
    params = simulate.SimulationParams(duration_s=30.0, mode="t2", rep_rate_hz=None, blinking="none",
                                       count_rate_on_cps=200e3, lifetime_ns=5.0, excitation_rate_hz=1e8, seed=3)
    t, ch, _ = simulate.simulate_photons(params)
    h = g2.cross_correlate(t[ch == 0], t[ch == 1], tau_max_s=60e-9, bin_s=0.5e-9, duration_s=30.0)
    fit = g2.fit_cw_g2(h)
    assert fit.g2_0_err < 0.06
    assert abs(fit.g2_0) < 3 * fit.g2_0_err  # true g2(0) = 0 (ideal single emitter, no background)
    assert fit.tau_ab_ns == pytest.approx(1e9 / (1e8 + 2e8), rel=0.1)
    assert fit.amplitude == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("k_on,k_off", [(2.0, 1.5), (1.6, 2.2)])
def test_power_law_exponents_within_015(k_on, k_off):
    params = simulate.SimulationParams(duration_s=4000, blinking="powerlaw", k_on=k_on, k_off=k_off,
                                       t_min_s=0.05, t_max_s=200, count_rate_on_cps=20e3, seed=7)
    counts, truth = simulate.simulate_trace_counts(params, 0.01)
    thr = trace.threshold(counts)
    on, off = dwell.dwell_times(trace.on_mask(counts, thr.value_counts), 0.01)
    assert on.size > 300 and off.size > 300
    # t_min one bin above the shortest true dwell (0.05 s): the lowest bin is only partly filled
    f_on = dwell.fit_power_law(on, 0.01, t_min_s=0.06, compare=False)
    f_off = dwell.fit_power_law(off, 0.01, t_min_s=0.06)
    assert abs(f_on.k - k_on) < 0.15
    assert abs(f_off.k - k_off) < 0.15
    assert 0 < f_on.k_err < 0.1
    # power law preferred over an exponential
    assert f_off.comparisons["exponential"]["loglik_ratio"] > 0


def test_power_law_mle_on_exact_samples_and_ks_tmin():
    rng = np.random.default_rng(0)
    x = simulate.sample_power_law(rng, 1.8, 0.1, np.inf, 4000)
    # below t_min: exponential junk that the KS choice must cut away
    junk = rng.exponential(0.02, 3000) + 0.01
    f = dwell.fit_power_law(np.concatenate([x, junk]), 0.01, compare=False)
    assert abs(f.k - 1.8) < 0.1
    assert 0.05 <= f.t_min_s <= 0.3


def test_dwell_times_drop_censored_runs():
    on = np.array([1, 1, 0, 0, 0, 1, 0, 1, 1, 1], bool)
    ton, toff = dwell.dwell_times(on, 0.01)
    np.testing.assert_allclose(ton, [0.01])
    np.testing.assert_allclose(toff, [0.03, 0.01])


@pytest.mark.parametrize("numba_flag", ["0", "1"])
@pytest.mark.parametrize("chunk", [1, 3, 50, 10**6])
def test_g2_streaming_exact_vs_brute_force(chunk, numba_flag, monkeypatch):
    if numba_flag == "1":
        pytest.importorskip("numba")
    monkeypatch.setenv("SURFCHEM_NUMBA", numba_flag)
    rng = np.random.default_rng(chunk)
    t = np.sort(rng.integers(0, 2_000_000, 600))
    t[100:110] = t[100]  # equal timestamps across channels and chunk boundaries
    t = np.sort(t)
    ch = rng.integers(0, 2, t.size).astype(np.int8)
    tau_max, w = 50_000, 1000
    a, b = t[ch == 0], t[ch == 1]
    d = (b[None, :] - a[:, None]).ravel()
    d = d[(d >= -tau_max) & (d < tau_max)]
    ref = np.bincount((d + tau_max) // w, minlength=2 * tau_max // w)
    acc = g2.G2Accumulator(0, 1, tau_max_s=tau_max * 1e-12, bin_s=w * 1e-12)
    _, chunks = stream.array_stream(t, ch, chunk_size=chunk)
    for c in chunks:
        acc.add(c)
    np.testing.assert_array_equal(acc.hist, ref)


def test_t2_with_syncs_gives_lifetime(tmp_path):
    p = tmp_path / "t2sync.ptu"
    simulate.write_simulated_ptu(simulate.SimulationParams(
        duration_s=3.0, mode="t2", t2_sync_divider=4, blinking="none", count_rate_on_cps=80e3,
        lifetime_ns=5.0, background_fraction=0.0, seed=9), p)
    r = analyze_file(p)
    assert abs(r.lifetime_ns - 5.0) / 5.0 < 0.02
    assert r.g2_0_raw is not None and r.g2_0_raw < 0.03


def test_photon_hdf5_matches_ptu(tmp_path):
    params = simulate.SimulationParams(duration_s=5.0, mode="t3", blinking="exponential", on_fraction=0.6,
                                       count_rate_on_cps=40e3, background_fraction=0.01, seed=4)
    ptu_path = tmp_path / "a.ptu"
    simulate.write_simulated_ptu(params, ptu_path)
    info, chunks = stream.open_stream(ptu_path)
    ts, cs, ms = [], [], []
    for c in chunks:
        ts.append(c.times_ps)
        cs.append(c.channels)
        ms.append(c.microtimes_ps)
    h5 = photonhdf5.write_photon_hdf5(tmp_path / "a.h5", np.concatenate(ts), np.concatenate(cs),
                                      nanotimes_ps=np.concatenate(ms), tcspc_unit_s=16e-12,
                                      laser_rate_hz=2e6, duration_s=5.0)
    r1 = analyze_file(ptu_path)
    r2 = analyze_file(h5, AnalysisOptions(chunk_records=77777))
    assert r2.n_photons == r1.n_photons
    np.testing.assert_array_equal(r1.data.trace_counts, r2.data.trace_counts)
    np.testing.assert_array_equal(r1.data.g2.counts, r2.data.g2.counts)
    np.testing.assert_array_equal(r1.data.decay_hist, r2.data.decay_hist)
    assert r2.lifetime_ns == pytest.approx(r1.lifetime_ns)


def test_array_stream_api_matches_plain_functions():
    params = simulate.SimulationParams(duration_s=2.0, mode="t2", rep_rate_hz=None, blinking="none", seed=8)
    t, ch, _ = simulate.simulate_photons(params)
    info, chunks = stream.array_stream(t, ch, chunk_size=12345, end_time_ps=2 * 10**12)
    r = analyze_stream(info, chunks)
    np.testing.assert_array_equal(r.data.trace_counts, trace.bin_counts(t, 0.01, 2.0))
    assert r.mandel_q == pytest.approx(trace.mandel_q(trace.bin_counts(t, 0.01, 2.0)))


def test_pulsed_g2_zero_non_integer_period():
    # synthetic histogram: flat background + peaks of known area; period not a multiple of the bin
    period, w = 50050.05, 1000
    tau = np.arange(-250_000, 250_000, w) + w / 2
    counts = np.full(tau.size, 20.0)
    k = np.round(tau / period)
    peak = np.exp(-0.5 * ((tau - k * period) / 3000.0) ** 2)
    area_side = 1e4
    scale = np.where(k == 0, 0.1, 1.0) * area_side / peak[np.abs(tau) < period / 2].sum()
    counts = np.rint(counts + scale * peak).astype(np.int64)
    h = g2.G2Histogram(tau, counts, 1, 1, 1, w)
    res = g2.pulsed_g2_zero(h, period, n_side=4)
    bg_area = 20.0 * period / w
    assert res.g2_0_raw == pytest.approx((0.1 * area_side + bg_area) / (area_side + bg_area), abs=0.003)
    assert list(res.side_k) == [-4, -3, -2, -1, 1, 2, 3, 4]
    with pytest.raises(Exception, match="shorter than 1.5 laser periods"):
        g2.pulsed_g2_zero(h, 400_000.0)


def test_lifetime_with_measured_irf():
    from surfchem.experiment import decay

    rng = np.random.default_rng(5)
    bin_ps, period = 16.0, 100_000.0
    irf_t = 2000 + rng.normal(0, 80, 200_000) + rng.exponential(60, 200_000)  # skewed IRF
    irf = decay.decay_histogram(irf_t, bin_ps, period)
    t = 2000 + rng.normal(0, 80, 300_000) + rng.exponential(60, 300_000) + rng.exponential(3000.0, 300_000)
    t = np.concatenate([np.fmod(t, period), rng.uniform(0, period, 3000)])
    hist = decay.decay_histogram(t, bin_ps, period)
    fit = decay.fit_lifetime(hist, bin_ps, period, irf=irf)
    assert fit.lifetime_ns == pytest.approx(3.0, rel=0.02)
    assert fit.background_per_bin * hist.size == pytest.approx(3000, rel=0.15)


@pytest.mark.slow
def test_power_law_exponents_from_photon_file(tmp_path):
    """Full pipeline on a 40 min power-law blinking photon stream (slow: ~10^7 photons)."""
    p = tmp_path / "pl.ptu"
    simulate.write_simulated_ptu(simulate.SimulationParams(
        duration_s=2400.0, mode="t3", blinking="powerlaw", k_on=2.0, k_off=1.5, t_min_s=0.05,
        t_max_s=100.0, count_rate_on_cps=10e3, background_fraction=0.01, block_s=20.0, seed=21), p)
    r = analyze_file(p, AnalysisOptions(dwell_t_min_s=0.06))
    assert r.n_on_dwells > 300
    assert abs(r.k_on - 2.0) < 0.15
    assert abs(r.k_off - 1.5) < 0.15


def test_trace_statistics_edge_cases():
    assert trace.on_fraction(np.zeros(10, np.int64), 0.0) == 0.0  # dark trace: nothing is ON
    assert not trace.on_mask(np.zeros(3, np.int64), 0.0).any()
    assert np.isnan(trace.mandel_q(np.zeros(5, np.int64)))
    assert np.isnan(trace.on_fraction(np.zeros(0, np.int64), 1.0))
    c = np.array([0, 10, 10, 0, 10])
    assert trace.on_fraction(c, trace.threshold(c).value_counts) == pytest.approx(0.6)
    vals, h = trace.intensity_histogram(c)
    assert h[0] == 2 and h[10] == 3 and vals.size == 11


def test_hmm_segmentation_on_dim_trace_beats_threshold_on_dwell_counts():
    # dim dot: ON level 12 counts/bin, OFF 1; shot noise makes a threshold flicker inside ON periods
    params = simulate.SimulationParams(duration_s=600, blinking="exponential", on_fraction=0.6, cycle_s=2.0,
                                       count_rate_on_cps=1200, off_level=0.08, seed=13)
    counts, truth = simulate.simulate_trace_counts(params, 0.01)
    mask, thr = trace.classify(counts, "hmm")
    assert abs(mask.mean() - truth["on_fraction"]) < 0.01
    assert thr.on_level_counts == pytest.approx(12.0, rel=0.05)
    on_h, _ = dwell.dwell_times(mask, 0.01)
    on_t, _ = dwell.dwell_times(trace.classify(counts, "max_fraction")[0], 0.01)
    # true number of ON periods ~ 600 s / 2 s = 300; the threshold splits them into many more
    assert abs(on_h.size - truth["n_on_dwells"]) < 0.1 * truth["n_on_dwells"]
    assert on_t.size > 2 * truth["n_on_dwells"]


def test_numba_accumulators_identical(blinking_t3, monkeypatch):
    pytest.importorskip("numba")
    path, _, ref = blinking_t3
    monkeypatch.setenv("SURFCHEM_NUMBA", "1")
    got = analyze_file(path, AnalysisOptions(chunk_records=100003))
    np.testing.assert_array_equal(ref.data.trace_counts, got.data.trace_counts)
    np.testing.assert_array_equal(ref.data.g2.counts, got.data.g2.counts)
    np.testing.assert_array_equal(ref.data.decay_hist, got.data.decay_hist)
    np.testing.assert_array_equal(ref.data.flid.hist, got.data.flid.hist)
    assert ref.to_dict() == got.to_dict()


def test_dark_tail_counts_as_off_and_truncated_file_warns(tmp_path):
    from surfchem.experiment import ptu

    params = simulate.SimulationParams(duration_s=2.0, mode="t3", blinking="none", seed=17)
    t, ch, _ = simulate.simulate_photons(params)
    period = 500000
    nsync = t // period
    recs = ptu.encode_hh_t3(nsync, (t - nsync * period) // 16, ch)
    p = tmp_path / "darktail.ptu"
    # the dot went dark after 2 s of a 4 s acquisition: no records in the last 2 s
    ptu.write_ptu(p, recs, mode="t3", global_resolution_s=5e-7, resolution_s=16e-12, sync_rate_hz=2e6,
                  acquisition_time_s=4.0)
    r = analyze_file(p)
    assert r.duration_s == pytest.approx(4.0)
    assert r.on_fraction == pytest.approx(0.5, abs=0.01)
    # truncated copy: the header's 4 s no longer applies
    data = p.read_bytes()
    hdr = ptu.read_header(p)
    q = tmp_path / "trunc.ptu"
    q.write_bytes(data[: hdr.data_offset + 4 * (recs.size // 2)])
    r2 = analyze_file(q, AnalysisOptions(allow_truncated=True))
    assert r2.duration_s < 1.1 and r2.on_fraction > 0.98
    assert any("truncated file" in w for w in r2.warnings)
