"""Photon-stream simulator of a single blinking quantum dot in a two-detector HBT set-up.

Model (all ground truth is returned, so analyses can be tested against it):

* Two-state blinking trajectory: alternating ON/OFF dwell times drawn from exponential
  distributions (means ``on_fraction * cycle_s`` and ``(1 - on_fraction) * cycle_s``) or from
  power laws ``P(t) ~ t^-k`` for ``t_min_s <= t <= t_max_s`` (inverse-transform sampling of the
  truncated Pareto law). ``blinking="none"`` gives a permanently ON emitter (Poisson-like).
* Pulsed excitation (T3, or T2 with laser syncs): each laser pulse in state s yields a detected
  photon with probability ``p_s = rate_s / rep_rate`` (a Bernoulli process, sampled with
  geometric gaps). With probability ``q`` the pulse yields a second photon, with ``q`` chosen so
  that the signal's ``g2(0) = <n(n-1)>/<n>^2 = 2q / (p_on (1+q)^2)`` equals ``g2_0`` in the ON
  state. Each photon is delayed by ``irf_offset + N(0, irf_sigma) + Exp(lifetime)``.
* cw excitation (T2 without syncs): detected photons form a thinned renewal process whose
  interval is a sum of ``K ~ Geometric(eta)`` excitation+emission cycles,
  ``Gamma(K, 1/k_exc) + Gamma(K, lifetime)``, so that ``g2(tau) = 1 - exp(-(k_exc + 1/lifetime)|tau|)``.
* Background: uniform Poisson counts on both detectors, with rate set so that background is the
  fraction ``background_fraction`` of all detected counts (expected value).
* Each photon goes to detector 0 or 1 with probability 1/2.

Generation is block-wise (``block_s``) so long files are produced with bounded memory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from surfchem.errors import InputError
from surfchem.experiment import ptu


@dataclass
class SimulationParams:
    """Simulation parameters (SI units at the edge, as in the rest of the API)."""

    duration_s: float = 10.0
    mode: str = "t3"  # "t2" or "t3"
    rep_rate_hz: float | None = 2e6  # None: cw excitation (T2 only)
    count_rate_on_cps: float = 50e3  # detected signal rate in the ON state (both detectors)
    off_level: float = 0.0  # OFF-state rate relative to the ON rate
    blinking: str = "exponential"  # "none", "exponential", "powerlaw"
    on_fraction: float = 0.8  # exponential blinking: expected ON time fraction
    cycle_s: float = 0.5  # exponential blinking: mean ON + mean OFF duration
    k_on: float = 2.0  # power-law blinking exponents
    k_off: float = 1.5
    t_min_s: float = 0.05
    t_max_s: float = 100.0
    lifetime_ns: float = 8.0
    irf_offset_ns: float = 3.0
    irf_sigma_ns: float = 0.05
    g2_0: float = 0.0  # signal-only g2(0) of the pulsed emitter
    excitation_rate_hz: float = 5e7  # cw: excitation rate k_exc of the renewal model
    background_fraction: float = 0.0
    resolution_ps: int = 16  # T3 dtime bin; T2 tags are 1 ps
    t2_sync_divider: int | None = None  # T2: write every n-th laser sync (None: no syncs)
    seed: int = 1
    block_s: float = 1.0

    def validate(self) -> None:
        """Check the settings.

        Raises
        ------
        surfchem.errors.InputError
            Naming the bad setting and the accepted range.
        """
        if self.mode not in ("t2", "t3"):
            raise InputError(f"mode must be 't2' or 't3', got {self.mode!r}")
        if self.mode == "t3" and not self.rep_rate_hz:
            raise InputError("T3 mode needs a pulsed laser: give rep_rate_hz > 0")
        if not self.duration_s > 0:
            raise InputError(f"duration_s must be > 0, got {self.duration_s}")
        if self.blinking not in ("none", "exponential", "powerlaw"):
            raise InputError(
                f"blinking must be 'none', 'exponential' or 'powerlaw', got {self.blinking!r}"
            )
        if not 0 < self.on_fraction <= 1:
            raise InputError(f"on_fraction must be in (0, 1], got {self.on_fraction}")
        if not 0 <= self.background_fraction < 1:
            raise InputError(f"background_fraction must be in [0, 1), got {self.background_fraction}")
        if self.rep_rate_hz and self.count_rate_on_cps >= 0.5 * self.rep_rate_hz:
            raise InputError("count_rate_on_cps must be well below rep_rate_hz (p per pulse < 0.5)")


def sample_power_law(rng: np.random.Generator, k: float, t_min: float, t_max: float, n: int) -> np.ndarray:
    """Draw ``n`` samples of ``p(t) ~ t^-k`` on ``[t_min, t_max]`` (inverse transform)."""
    if k <= 1:
        raise InputError(f"power-law exponent must be > 1, got {k}")
    u = rng.random(n)
    r = (t_max / t_min) ** (1.0 - k) if np.isfinite(t_max) else 0.0
    return t_min * (1.0 - u * (1.0 - r)) ** (-1.0 / (k - 1.0))


def blinking_trajectory(params: SimulationParams, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Switching times (s) covering ``[0, duration]`` and the initial state (True = ON).

    State ``i`` holds on ``[edges[i], edges[i+1])``; the state alternates starting from ``first_on``.
    """
    T = params.duration_s
    if params.blinking == "none":
        return np.array([0.0, T]), True
    first_on = bool(rng.random() < params.on_fraction)
    edges = [0.0]
    t = 0.0
    on = first_on
    while t < T:
        n = 4096
        if params.blinking == "exponential":
            m_on = params.on_fraction * params.cycle_s
            m_off = (1 - params.on_fraction) * params.cycle_s
            if m_off <= 0:
                return np.array([0.0, T]), True
            a = rng.exponential(m_on, n)
            b = rng.exponential(m_off, n)
        else:
            a = sample_power_law(rng, params.k_on, params.t_min_s, params.t_max_s, n)
            b = sample_power_law(rng, params.k_off, params.t_min_s, params.t_max_s, n)
        pair = np.empty(2 * n)
        pair[0::2], pair[1::2] = (a, b) if on else (b, a)
        c = t + np.cumsum(pair)
        edges.extend(c.tolist())
        t = c[-1]
    e = np.asarray(edges)
    k = int(np.searchsorted(e, T)) + 1
    e = e[:k]
    e[-1] = T
    return e, first_on


def state_at(edges: np.ndarray, first_on: bool, t_s: np.ndarray) -> np.ndarray:
    """Boolean ON state at times ``t_s`` (seconds)."""
    i = np.searchsorted(edges, t_s, side="right") - 1
    return (i % 2 == 0) == first_on


def on_time_in_bins(edges: np.ndarray, first_on: bool, bin_s: float, n_bins: int) -> np.ndarray:
    """Exact ON time (s) inside each bin ``[j*bin, (j+1)*bin)``."""
    st = np.arange(edges.size - 1) % 2 == 0
    if not first_on:
        st = ~st
    dur_on = np.where(st, np.diff(edges), 0.0)
    cum = np.concatenate([[0.0], np.cumsum(dur_on)])  # ON time up to each edge

    def c_at(t: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, edges.size - 2)
        return cum[i] + np.where(st[i], t - edges[i], 0.0)

    b = np.arange(n_bins + 1) * bin_s
    return np.diff(c_at(b))


def simulate_trace_counts(params: SimulationParams, bin_s: float = 0.01) -> tuple[np.ndarray, dict]:
    """Binned counts (Poisson given the exact ON time per bin) without generating photons.

    Used for long blinking traces (hours) where only the trace matters (dwell-time statistics).
    Returns ``(counts, truth)``.
    """
    params.validate()
    rng = np.random.default_rng(params.seed)
    edges, first_on = blinking_trajectory(params, rng)
    n_bins = int(params.duration_s // bin_s)
    on_t = on_time_in_bins(edges, first_on, bin_s, n_bins)
    s = params.count_rate_on_cps
    mean = s * on_t + s * params.off_level * (bin_s - on_t)
    sig_rate = mean.sum() / (n_bins * bin_s)
    bg = params.background_fraction / (1 - params.background_fraction) * sig_rate
    counts = rng.poisson(mean + bg * bin_s)
    truth = _trajectory_truth(params, edges, first_on)
    return counts, truth


def _trajectory_truth(params: SimulationParams, edges: np.ndarray, first_on: bool) -> dict:
    d = np.diff(edges)
    st = np.arange(d.size) % 2 == 0
    if not first_on:
        st = ~st
    return {
        "on_fraction": float(d[st].sum() / params.duration_s),
        "n_on_dwells": int(st.sum()),
        "n_off_dwells": int((~st).sum()),
        "k_on": params.k_on if params.blinking == "powerlaw" else None,
        "k_off": params.k_off if params.blinking == "powerlaw" else None,
    }


@dataclass
class SimBlock:
    """One block of simulated photons.

    Attributes
    ----------
    times_ps : numpy.ndarray
        Sorted int64 arrival times, ps.
    channels : numpy.ndarray
        int8 detector channel (-1: sync, T2 only).
    is_background : numpy.ndarray
        bool, photon from the background rather than the dot.
    """
    times_ps: np.ndarray  # sorted int64
    channels: np.ndarray  # int8 (-1: sync, T2 only)
    is_background: np.ndarray  # bool


def _two_photon_q(g2_0: float, p_on: float) -> float:
    """Solve 2q/(1+q)^2 = g2_0 * p_on for the small root q."""
    c = g2_0 * p_on
    if c <= 0:
        return 0.0
    if c >= 0.5:
        raise InputError("g2_0 too large for this count rate per pulse")
    # c (1+q)^2 = 2q -> c q^2 + (2c - 2) q + c = 0
    return float(((2 - 2 * c) - np.sqrt((2 - 2 * c) ** 2 - 4 * c * c)) / (2 * c))


def iter_blocks(params: SimulationParams) -> tuple[Iterator[SimBlock], dict]:
    """Generate the photon stream in time blocks; returns ``(iterator, truth)``.

    ``truth`` is filled in while the iterator runs (realised counts) and is complete after it is
    exhausted.
    """
    params.validate()
    rng = np.random.default_rng(params.seed)
    edges, first_on = blinking_trajectory(params, rng)
    truth = _trajectory_truth(params, edges, first_on)
    pulsed = bool(params.rep_rate_hz)
    s_on = params.count_rate_on_cps
    s_off = s_on * params.off_level
    on_frac_exp = truth["on_fraction"]
    sig_rate = on_frac_exp * s_on + (1 - on_frac_exp) * s_off
    q = 0.0
    if pulsed:
        p_on = s_on / params.rep_rate_hz
        q = _two_photon_q(params.g2_0, p_on)
        # keep the mean detected signal rate at s_on: p_emit (1+q) = p_on
        p_emit_on = p_on / (1 + q)
        p_emit_off = s_off / params.rep_rate_hz / (1 + q)
    bg_rate = params.background_fraction / (1 - params.background_fraction) * sig_rate
    truth.update(
        {
            "mode": params.mode,
            "duration_s": params.duration_s,
            "lifetime_ns": params.lifetime_ns,
            "g2_0": params.g2_0 if pulsed else 0.0,
            "rep_rate_hz": params.rep_rate_hz,
            "params": asdict(params),
        }
    )
    counters = {"signal": 0, "background": 0}

    def gen() -> Iterator[SimBlock]:
        T_ps = int(round(params.duration_s * 1e12))
        blk_ps = int(round(params.block_s * 1e12))
        period_ps = 1e12 / params.rep_rate_hz if pulsed else None
        cw_state = {"t": 0.0}
        for b0 in range(0, T_ps, blk_ps):
            b1 = min(b0 + blk_ps, T_ps)
            if pulsed:
                k0 = int(np.ceil(b0 / period_ps))
                k1 = int(np.ceil(b1 / period_ps))
                n_p = k1 - k0
                p_max = max(p_emit_on, p_emit_off)
                if p_max > 0 and n_p > 0:
                    n_draw = int(n_p * p_max * 1.2 + 10 * np.sqrt(n_p * p_max) + 10)
                    idx = np.cumsum(rng.geometric(p_max, n_draw)) - 1
                    while idx[-1] < n_p:
                        more = np.cumsum(rng.geometric(p_max, n_draw)) + idx[-1]
                        idx = np.concatenate([idx, more])
                    idx = idx[idx < n_p] + k0
                    t_pulse_s = idx * (period_ps * 1e-12)
                    on = state_at(edges, first_on, t_pulse_s)
                    keep = rng.random(idx.size) < np.where(on, p_emit_on, p_emit_off) / p_max
                    idx = idx[keep]
                    double = rng.random(idx.size) < q
                    idx = np.concatenate([idx, idx[double]])
                    delay = (
                        params.irf_offset_ns * 1e3
                        + rng.normal(0.0, params.irf_sigma_ns * 1e3, idx.size)
                        + rng.exponential(params.lifetime_ns * 1e3, idx.size)
                    )
                    t_sig = np.rint(idx * period_ps + delay).astype(np.int64)
                else:
                    t_sig = np.zeros(0, np.int64)
            else:
                t_sig = _cw_block(params, rng, b0, b1, edges, first_on, s_on, s_off, cw_state)
            n_bg = rng.poisson(bg_rate * (b1 - b0) * 1e-12)
            t_bg = rng.integers(b0, b1, n_bg, dtype=np.int64)
            t = np.concatenate([t_sig, t_bg])
            isbg = np.concatenate([np.zeros(t_sig.size, bool), np.ones(n_bg, bool)])
            ch = (rng.random(t.size) < 0.5).astype(np.int8)
            if params.mode == "t2" and pulsed and params.t2_sync_divider:
                d = int(params.t2_sync_divider)
                k0 = int(np.ceil(b0 / (period_ps * d)))
                k1 = int(np.ceil(b1 / (period_ps * d)))
                ts = np.rint(np.arange(k0, k1) * period_ps * d).astype(np.int64)
                t = np.concatenate([t, ts])
                ch = np.concatenate([ch, np.full(ts.size, -1, np.int8)])
                isbg = np.concatenate([isbg, np.zeros(ts.size, bool)])
            order = np.argsort(t, kind="stable")
            t, ch, isbg = t[order], ch[order], isbg[order]
            ok = (t >= 0) & (t < T_ps)
            t, ch, isbg = t[ok], ch[ok], isbg[ok]
            phot = ch >= 0
            counters["signal"] += int((phot & ~isbg).sum())
            counters["background"] += int((phot & isbg).sum())
            yield SimBlock(t, ch, isbg)
        n = counters["signal"] + counters["background"]
        truth["n_photons"] = n
        truth["background_fraction"] = counters["background"] / n if n else 0.0

    return gen(), truth


def _cw_block(params, rng, b0, b1, edges, first_on, s_on, s_off, state) -> np.ndarray:
    """cw antibunched photons in ``[b0, b1)`` ps: thinned renewal process gated by the state."""
    out = []
    for rate, want_on in ((s_on, True), (s_off, False)):
        if rate <= 0:
            continue
        k_exc = params.excitation_rate_hz
        gamma = 1e9 / params.lifetime_ns
        cycle_mean = 1.0 / k_exc + 1.0 / gamma
        eta = rate * cycle_mean
        if eta >= 1:
            raise InputError("cw count rate exceeds the emitter's saturated rate; lower it")
        t = b0 * 1e-12
        times = []
        end = b1 * 1e-12
        n = int((end - t) * rate * 1.1) + 100
        while t < end:
            K = rng.geometric(eta, n)
            dt = rng.gamma(K, 1.0 / k_exc) + rng.gamma(K, 1.0 / gamma)
            c = t + np.cumsum(dt)
            times.append(c)
            t = c[-1]
        tt = np.concatenate(times)
        tt = tt[tt < end]
        on = state_at(edges, first_on, tt)
        tt = tt[on == want_on]
        out.append(np.rint(tt * 1e12).astype(np.int64))
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def simulate_photons(params: SimulationParams) -> tuple[np.ndarray, np.ndarray, dict]:
    """All photons in memory: ``(times_ps, channels, truth)`` (syncs, if any, have channel -1)."""
    it, truth = iter_blocks(params)
    ts, cs = [], []
    for blk in it:
        ts.append(blk.times_ps)
        cs.append(blk.channels)
    return np.concatenate(ts), np.concatenate(cs), truth


def write_simulated_ptu(params: SimulationParams, path: str | os.PathLike[str]) -> dict:
    """Simulate and write a HydraHarp v2 T2/T3 PTU file plus ``<stem>.truth.json``.

    Records are encoded block by block and appended, so memory stays bounded for long files.
    Returns the truth dictionary.
    """
    params.validate()
    path = os.fspath(path)
    it, truth = iter_blocks(params)
    if params.mode == "t3":
        gres = 1.0 / params.rep_rate_hz
        res = params.resolution_ps * 1e-12
        sync = params.rep_rate_hz
    else:
        gres = res = 1e-12
        sync = params.rep_rate_hz or 0.0
    ptu.write_ptu(path, np.zeros(0, np.uint32), mode=params.mode, global_resolution_s=gres,
                  resolution_s=res, sync_rate_hz=sync, acquisition_time_s=params.duration_s)
    hdr_size = os.path.getsize(path)
    n_rec = 0
    enc = _Encoder(params)
    with open(path, "ab") as fh:
        for blk in it:
            recs = enc.encode(blk)
            fh.write(recs.astype("<u4").tobytes())
            n_rec += recs.size
    _patch_n_records(path, n_rec, hdr_size)
    truth["n_records"] = n_rec
    truth_path = _truth_path(path)
    with open(truth_path, "w") as fh:
        json.dump(truth, fh, indent=2, default=float)
    return truth


def _truth_path(path: str) -> str:
    stem = path[:-4] if path.lower().endswith(".ptu") else path
    return stem + ".truth.json"


class _Encoder:
    """Encode consecutive blocks, keeping the overflow state between them."""

    def __init__(self, params: SimulationParams) -> None:
        self.p = params
        self.ofl = 0

    def encode(self, blk: SimBlock) -> np.ndarray:
        p = self.p
        if blk.times_ps.size == 0:
            return np.zeros(0, np.uint32)
        if p.mode == "t2":
            recs = ptu.encode_hh_t2(blk.times_ps, blk.channels, ofl_start=self.ofl)
            self.ofl = int(blk.times_ps[-1] // ptu.HH_T2_WRAP_V2)
            return recs
        period_ps = 1e12 / p.rep_rate_hz
        nsync = np.floor(blk.times_ps / period_ps).astype(np.int64)
        whole, frac = ptu._sync_period_parts(period_ps)
        macro = nsync * whole + np.rint(nsync * frac).astype(np.int64)
        dt = np.clip((blk.times_ps - macro) // p.resolution_ps, 0, 0x7FFF)
        recs = ptu.encode_hh_t3(nsync, dt, blk.channels, ofl_start=self.ofl)
        self.ofl = int(nsync[-1] // ptu.HH_T3_WRAP)
        return recs


def _patch_n_records(path: str, n: int, header_size: int) -> None:
    with open(path, "r+b") as fh:
        head = fh.read(header_size)
        pos = head.find(b"TTResult_NumberOfRecords")
        fh.seek(pos + 40)
        fh.write(np.int64(n).tobytes())
