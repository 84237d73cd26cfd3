"""Photon-by-photon change points (Watkins & Yang 2005) on simulated blinking with known switches."""

from __future__ import annotations

import numpy as np
import pytest

from surfchem.errors import InputError
from surfchem.experiment import changepoint as cpm
from surfchem.experiment import simulate, stream

TOL_S = 2e-3  # switching-time tolerance: ~4 inter-photon times of the dim level (2 kcps)


def _two_level(seed: int = 5, duration_s: float = 20.0):
    p = simulate.SimulationParams(duration_s=duration_s, mode="t3", count_rate_on_cps=20e3, off_level=0.1,
                                  on_fraction=0.5, cycle_s=2.0, seed=seed)
    t, ch, _ = simulate.simulate_photons(p)
    edges, first_on = simulate.blinking_trajectory(p, np.random.default_rng(p.seed))  # the truth
    return t, ch, edges, first_on


def _match(detected: np.ndarray, edges: np.ndarray, min_dwell_s: float = 0.02):
    """(fraction of resolvable true switches found within TOL_S, fraction of detections that are true)."""
    true = edges[1:-1]
    d = np.abs(detected[:, None] - true[None, :])
    dwell = np.diff(edges)
    resolvable = (dwell[:-1] >= min_dwell_s) & (dwell[1:] >= min_dwell_s)
    found = d.min(axis=0) < TOL_S
    return found[resolvable].mean(), (d.min(axis=1) < TOL_S).mean()


@pytest.fixture(scope="module")
def two_level():
    return _two_level()


def test_two_levels_switching_times_and_rates(two_level):
    t, ch, edges, first_on = two_level
    assert edges.size - 2 >= 20  # enough switches for the statistics below
    res = cpm.analyze_chunks(stream.array_stream(t, ch, chunk_size=50_000)[1])
    assert res.n_levels == 2
    np.testing.assert_allclose(res.level_rates_cps, [2e3, 20e3], rtol=0.05)
    recall, precision = _match(res.switching_times_s, edges)
    assert recall >= 0.95 and precision >= 0.95
    # ON/OFF time fractions from the level durations match the trajectory
    dur = np.diff(edges)
    on = dur[0::2].sum() if first_on else dur[1::2].sum()
    assert res.level_time_s[1] == pytest.approx(on, rel=0.02)
    d = res.to_dict()
    assert d["n_levels"] == 2 and d["n_switches"] == res.switching_times_s.size
    assert d["n_dwells"]["0"] >= 8 and d["mean_dwell_s"]["1"] == pytest.approx(1.0, rel=0.5)


def test_small_windows_and_chunks_give_the_same_answer(two_level):
    t, ch, edges, _ = two_level
    opt = cpm.ChangePointOptions(window_photons=4096)
    res = cpm.analyze_chunks(stream.array_stream(t, ch, chunk_size=3000)[1], opt)
    assert res.n_levels == 2
    recall, precision = _match(res.switching_times_s, edges)
    assert recall >= 0.95 and precision >= 0.95
    # window cuts are not change points, and segments tile the photon record
    segs = res.segments
    assert segs.changepoint_at_start.sum() == res.change_points_s.size
    np.testing.assert_array_equal(segs.start_ps[1:], segs.end_ps[:-1])
    assert segs.n_photons.sum() == t.size - 1


def test_steady_emitter_false_change_points_below_alpha():
    alpha, runs, hits = 0.05, 40, 0
    for s in range(runs):
        p = simulate.SimulationParams(duration_s=0.5, mode="t3", count_rate_on_cps=20e3, blinking="none",
                                      seed=100 + s)
        t, ch, _ = simulate.simulate_photons(p)
        res = cpm.analyze_chunks(stream.array_stream(t, ch)[1], cpm.ChangePointOptions(alpha=alpha))
        hits += res.change_points_s.size > 0
        assert res.n_levels == 1
    assert hits <= alpha * runs


def test_three_levels_piecewise_poisson():
    rng = np.random.default_rng(7)
    rates = np.array([2e3, 10e3, 30e3])
    order = rng.permutation(np.tile([0, 1, 2], 12))
    order = order[np.concatenate([[True], order[1:] != order[:-1]])]  # no repeated neighbours
    dwell = rng.uniform(0.15, 0.4, order.size)
    edges = np.concatenate([[0.0], np.cumsum(dwell)])
    times = np.concatenate([
        a + np.sort(rng.uniform(0, b - a, rng.poisson(rates[k] * (b - a))))
        for a, b, k in zip(edges[:-1], edges[1:], order, strict=True)])
    t_ps = np.round(times * 1e12).astype(np.int64)
    res = cpm.analyze_chunks(stream.array_stream(t_ps, np.zeros(t_ps.size, np.int8))[1])
    assert res.n_levels == 3
    np.testing.assert_allclose(res.level_rates_cps, rates, rtol=0.05)
    recall, precision = _match(res.switching_times_s, edges)
    assert recall >= 0.95 and precision >= 0.95


def test_per_level_microtimes_from_a_t3_file(tmp_path):
    p = simulate.SimulationParams(duration_s=6.0, mode="t3", count_rate_on_cps=20e3, off_level=0.1,
                                  on_fraction=0.5, cycle_s=1.5, seed=9)
    f = tmp_path / "blink.ptu"
    simulate.write_simulated_ptu(p, f)
    info, chunks = stream.open_stream(f, 1 << 14)
    res = cpm.analyze_chunks(chunks, cpm.ChangePointOptions(channels=(0, 1)))
    assert res.n_levels == 2
    # mean delay after the pulse = IRF offset + lifetime (no background, 500 ns period)
    np.testing.assert_allclose(res.level_mean_microtime_ns, p.irf_offset_ns + p.lifetime_ns, rtol=0.05)


def test_critical_value_and_options():
    assert cpm.critical_value(100, 0.05) < cpm.critical_value(10_000, 0.05)
    assert cpm.critical_value(1000, 0.01) > cpm.critical_value(1000, 0.1)
    with pytest.raises(InputError, match="alpha"):
        cpm.ChangePointAccumulator(cpm.ChangePointOptions(alpha=0.7))
    with pytest.raises(InputError, match="window_photons"):
        cpm.ChangePointAccumulator(cpm.ChangePointOptions(window_photons=10))
    # a single clear step: located within a few photons of the truth
    rng = np.random.default_rng(1)
    t = np.cumsum(np.concatenate([rng.exponential(1e6, 500), rng.exponential(1e5, 500)])).astype(np.int64)
    k = cpm.detect(t)
    assert k.size == 1 and abs(int(k[0]) - 500) <= 10


def test_cli_changepoints_on_a_legacy_file(tmp_path, capsys):
    import json

    from surfchem.cli.main import main
    from surfchem.experiment import ptu

    p = simulate.SimulationParams(duration_s=6.0, mode="t3", count_rate_on_cps=20e3, off_level=0.1,
                                  on_fraction=0.5, cycle_s=1.5, seed=9)
    f = tmp_path / "blink.ptu"
    simulate.write_simulated_ptu(p, f)
    ref = cpm.analyze_chunks(stream.open_stream(f)[1])
    hdr = ptu.read_header(f)
    raw = np.fromfile(f, dtype="<u4", offset=hdr.data_offset)
    from _legacy_files import hydraharp_header, write  # the hand-built HydraHarp 2.0 header

    ht3 = write(tmp_path / "blink.ht3", hydraharp_header(3, raw.size, b"2.0", sync_rate=2_000_000, res_ps=16.0), raw)
    assert main(["photons", "changepoints", ht3, "--json", "--alpha", "0.05"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == json.loads(json.dumps(ref.to_dict()))
    assert out["n_levels"] == 2 and out["n_switches"] >= 3
    assert main(["photons", "changepoints", ht3, "--alpha", "0.9"]) == 2
    assert "alpha" in capsys.readouterr().err
