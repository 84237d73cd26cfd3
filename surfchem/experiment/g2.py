"""Second-order correlation g2(tau) between two detectors (HBT), streaming and exact.

Cross-correlation histogram ``C(tau)`` of all photon pairs ``(a, b)``, ``a`` on channel A,
``b`` on channel B, ``tau = t_b - t_a`` in linear bins of width ``w`` covering
``[-tau_max, tau_max)``. Streaming: each chunk's new B photons are paired with all A photons
(previous-chunk tail + new), and the new A photons with the previous tail of B; tails keep the
photons within ``tau_max`` of the chunk end. Every pair is counted exactly once, so the histogram
is independent of the chunk size (integer arithmetic throughout).

Normalisation (cw): ``g2(tau) = C(tau) T / (N_A N_B w)``, ``T`` = measurement duration.

Pulsed ``g2(0)`` = area of the zero-delay peak / mean area of the side peaks ``k = +-1..+-K``,
each area integrated over ``|tau - k P| < window/2`` (default ``window = P``, the laser period,
so the background between peaks is shared out exactly as in the paper's peak-area ratio).

Background correction: the paper (Methods; Nair, Zhao & Bawendi, Nano Lett. 11, 1136 (2011))
subtracts the background-to-total ratio ``b`` from the raw value, ``g2_0 = g2_0_raw - b``
(``method="paper"``). For uncorrelated background on both detectors the exact relation is
``g2_raw = rho^2 g2 + 1 - rho^2`` with ``rho = 1 - b`` (Brouri et al., Opt. Lett. 25, 1294
(2000)), i.e. ``g2 = (g2_raw - (1 - rho^2)) / rho^2`` (``method="exact"``); the paper's rule is
its first-order form for ``g2 ~ 1`` and under-corrects by ~``b`` when ``g2(0) ~ 0``.

cw fit: ``g2(tau) = A [1 - (1 - g2_0) exp(-|tau - tau_0| / tau_ab)]``, unweighted least squares
(count-based weights ``1/sqrt(n)`` bias the amplitude low when bins hold few coincidences).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from surfchem.errors import ConvergenceError, InputError
from surfchem.experiment import _fastdecode
from surfchem.experiment.ptu import PhotonChunk
from surfchem.experiment.trace import seconds_to_ps

#: largest number of pairs materialised at once (bounds memory of one pass)
_MAX_PAIRS = 1 << 21


def _pair_hist(a: np.ndarray, b: np.ndarray, tau_max: int, w: int, nbins: int, out: np.ndarray) -> None:
    """Add to ``out`` the histogram of ``b_j - a_i`` in ``[-tau_max, tau_max)`` for all pairs."""
    if a.size == 0 or b.size == 0:
        return
    if _fastdecode.loaded():
        _fastdecode.pair_kernel()(a, b, tau_max, w, out)
        return
    lo = np.searchsorted(a, b - tau_max, side="right")
    hi = np.searchsorted(a, b + tau_max, side="right")
    cnt = hi - lo
    # process b in blocks so that the number of materialised pairs stays bounded
    cum = np.cumsum(cnt)
    start = 0
    total = int(cum[-1]) if cum.size else 0
    if total == 0:
        return
    while start < b.size:
        base = int(cum[start - 1]) if start else 0
        stop = int(np.searchsorted(cum, base + _MAX_PAIRS, side="right"))
        stop = max(stop, start + 1)
        c = cnt[start:stop]
        n = int(c.sum())
        if n:
            rep_b = np.repeat(b[start:stop], c)
            offs = np.arange(n) - np.repeat(np.cumsum(c) - c, c)
            ia = np.repeat(lo[start:stop], c) + offs
            dt = rep_b - a[ia]
            idx = (dt + tau_max) // w
            out += np.bincount(idx, minlength=nbins)[:nbins]
        start = stop


class G2Accumulator:
    """Streaming cross-correlation histogram between channels ``ch_a`` and ``ch_b``."""

    def __init__(self, ch_a: int = 0, ch_b: int = 1, *, tau_max_s: float = 2.5e-6, bin_s: float = 1e-9) -> None:
        if ch_a == ch_b:
            raise InputError(f"g2 needs two different channels, got {ch_a} and {ch_b}")
        self.ch_a, self.ch_b = int(ch_a), int(ch_b)
        self.w = seconds_to_ps(bin_s)
        tmax = seconds_to_ps(tau_max_s)
        self.nbins = 2 * (-(-tmax // self.w))
        self.tau_max = self.nbins // 2 * self.w
        self.hist = np.zeros(self.nbins, dtype=np.int64)
        self.tail_a = np.zeros(0, np.int64)
        self.tail_b = np.zeros(0, np.int64)
        self.n_a = 0
        self.n_b = 0

    def add(self, chunk: PhotonChunk) -> None:
        """Add one chunk of photons (exact streaming cross-correlation across chunk boundaries)."""
        if len(chunk) == 0:
            return
        ch = chunk.channels
        a_new = chunk.times_ps[ch == self.ch_a]
        b_new = chunk.times_ps[ch == self.ch_b]
        self.n_a += a_new.size
        self.n_b += b_new.size
        a_all = np.concatenate([self.tail_a, a_new]) if self.tail_a.size else a_new
        _pair_hist(a_all, b_new, self.tau_max, self.w, self.nbins, self.hist)
        _pair_hist(a_new, self.tail_b, self.tau_max, self.w, self.nbins, self.hist)
        end = max(int(chunk.times_ps[-1]), chunk.end_time_ps)
        cut = end - self.tau_max
        self.tail_a = a_all[np.searchsorted(a_all, cut, side="left"):].copy()
        b_all = np.concatenate([self.tail_b, b_new]) if self.tail_b.size else b_new
        self.tail_b = b_all[np.searchsorted(b_all, cut, side="left"):].copy()

    def result(self, duration_ps: int) -> G2Histogram:
        """The histogram accumulated so far."""
        tau = (np.arange(self.nbins) * self.w - self.tau_max + self.w / 2.0)
        return G2Histogram(tau_ps=tau, counts=self.hist.copy(), n_a=self.n_a, n_b=self.n_b,
                           duration_ps=int(duration_ps), bin_ps=self.w)


@dataclass
class G2Histogram:
    """Cross-correlation histogram of two detector channels.

    Attributes
    ----------
    tau_ps : numpy.ndarray
        Bin centres of the delay, ps.
    counts : numpy.ndarray
        Coincidences per bin.
    n_a, n_b : int
        Photons in channels A and B.
    duration_ps : int
        Measurement duration, ps.
    bin_ps : int
        Bin width, ps.
    """
    tau_ps: np.ndarray  # bin centres
    counts: np.ndarray
    n_a: int
    n_b: int
    duration_ps: int
    bin_ps: int

    def normalized(self) -> np.ndarray:
        """cw normalisation ``C T / (N_A N_B w)`` (NaN when a channel is empty)."""
        denom = self.n_a * self.n_b * self.bin_ps / max(self.duration_ps, 1)
        if denom <= 0:
            return np.full(self.counts.shape, np.nan)
        return self.counts / denom


def cross_correlate(
    times_a_ps: np.ndarray, times_b_ps: np.ndarray, *, tau_max_s: float = 2.5e-6, bin_s: float = 1e-9,
    duration_s: float | None = None,
) -> G2Histogram:
    """Cross-correlation histogram of two sorted timestamp arrays (exact: every pair counted once).

    Parameters
    ----------
    times_a_ps, times_b_ps : numpy.ndarray
        Sorted arrival times of the two detectors, int64 ps.
    tau_max_s : float, default 2.5e-6
        Largest |delay|, s.
    bin_s : float, default 1e-9
        Bin width, s.
    duration_s : float, optional
        Measurement duration, s (default: the last photon).

    Returns
    -------
    G2Histogram
    """
    acc = G2Accumulator(0, 1, tau_max_s=tau_max_s, bin_s=bin_s)
    a = np.asarray(times_a_ps, np.int64)
    b = np.asarray(times_b_ps, np.int64)
    t = np.concatenate([a, b])
    c = np.concatenate([np.zeros(a.size, np.int8), np.ones(b.size, np.int8)])
    o = np.argsort(t, kind="stable")
    end = int(t.max()) if t.size else 0
    acc.add(PhotonChunk(t[o], c[o], None, end, int(t.size)))
    dur = int(round(duration_s * 1e12)) if duration_s is not None else end
    return acc.result(dur)


@dataclass
class PulsedG2:
    """Pulsed g2(0): zero-delay peak area over the mean side-peak area.

    Attributes
    ----------
    g2_0_raw : float
        Without background correction.
    zero_area : float
        Coincidences in the zero-delay peak.
    side_areas : numpy.ndarray
        Coincidences in each side peak.
    side_k : numpy.ndarray
        Side-peak index (multiple of the laser period) of each area.
    """
    g2_0_raw: float
    zero_area: float
    side_areas: np.ndarray
    side_k: np.ndarray


def pulsed_g2_zero(h: G2Histogram, period_ps: float, *, n_side: int = 4, window_ps: float | None = None,
                   exclude_k: tuple[int, ...] = ()) -> PulsedG2:
    """Pulsed g2(0) = zero-peak area / mean side-peak area (module docstring).

    Each histogram bin belongs to the peak k = round(tau / P) of its centre, so with the default
    window (one full period) every coincidence in |tau| < (n_side + 1/2) P is counted once, whether
    or not P is a multiple of the bin width. A narrower ``window_ps`` keeps only bins whose centre
    lies within window/2 of k P.

    Parameters
    ----------
    h : G2Histogram
    period_ps : float
        Laser period P, ps.
    n_side : int, default 4
        Side peaks on each side averaged.
    window_ps : float, optional
        Peak integration window, ps (default one period).
    exclude_k : tuple of int, default ()
        Side peaks to leave out (e.g. detector afterpulsing).

    Returns
    -------
    PulsedG2
        Uncorrected g2(0) and the peak areas (coincidences).
    """
    if period_ps is None or period_ps <= 0:
        raise InputError("pulsed g2(0) needs the laser period (sync rate); the file has none")
    win = period_ps if window_ps is None else float(window_ps)
    tau_max = h.tau_ps[-1] + h.bin_ps / 2.0
    max_k = int(np.floor(tau_max / period_ps - 0.5))
    n_side = min(n_side, max_k)
    if n_side < 1:
        raise InputError(
            f"g2 range +-{tau_max / 1e3:.0f} ns is shorter than 1.5 laser periods "
            f"({1.5 * period_ps / 1e3:.0f} ns); increase tau_max"
        )
    k_bin = np.floor(h.tau_ps / period_ps + 0.5).astype(np.int64)
    inside = np.abs(h.tau_ps - k_bin * period_ps) <= win / 2.0
    inside &= np.abs(k_bin) <= n_side
    areas = np.bincount(k_bin[inside] + n_side, weights=h.counts[inside].astype(float),
                        minlength=2 * n_side + 1)

    ks = np.array([k for k in range(-n_side, n_side + 1) if k != 0 and k not in exclude_k])
    side = areas[ks + n_side]
    zero = float(areas[n_side])
    mean_side = side.mean() if side.size else float("nan")
    g = zero / mean_side if mean_side > 0 else float("nan")
    return PulsedG2(g, zero, side, ks)


def correct_background(g2_0_raw: float, background_fraction: float, method: str = "paper") -> float:
    """Background-corrected g2(0) (module docstring).

    ``"paper"``: g2_raw - b (Nair, Zhao & Bawendi, Nano Lett. 11, 1136 (2011)); ``"exact"``
    (uncorrelated background on both detectors, rho = 1 - b): (g2_raw - (1 - rho²)) / rho².

    Parameters
    ----------
    g2_0_raw : float
        Uncorrected g2(0).
    background_fraction : float
        Background share b of the detected photons, 0..1.
    method : {"paper", "exact"}, default "paper"

    Returns
    -------
    float

    Raises
    ------
    surfchem.errors.InputError
        Unknown method.
    """
    b = float(background_fraction)
    if not 0 <= b < 1:
        raise InputError(f"background fraction must be in [0, 1), got {b}")
    if method == "paper":
        return g2_0_raw - b
    if method == "exact":
        rho2 = (1.0 - b) ** 2
        return (g2_0_raw - (1.0 - rho2)) / rho2
    raise InputError(f"unknown g2 background correction {method!r}; use 'paper' or 'exact'")


@dataclass
class CwG2Fit:
    """Antibunching fit of a CW g2(tau): 1 - (1 - g2(0)) exp(-|tau - tau0| / tau_ab).

    Attributes
    ----------
    g2_0, g2_0_err : float
        g2(0) and its standard error.
    tau_ab_ns : float
        Antibunching time, ns.
    amplitude : float
        Normalisation (coincidences at long delay).
    tau0_ns : float
        Zero-delay offset, ns.
    """
    g2_0: float
    g2_0_err: float
    tau_ab_ns: float
    amplitude: float
    tau0_ns: float


def fit_cw_g2(h: G2Histogram, *, fit_range_s: float | None = None) -> CwG2Fit:
    """Fit the antibunching model to the normalised cw ``g2`` (module docstring)."""
    from scipy.optimize import curve_fit

    y = h.normalized()
    x = h.tau_ps / 1e3  # ns
    sel = np.isfinite(y)
    if fit_range_s is not None:
        sel &= np.abs(x) <= fit_range_s * 1e9
    if sel.sum() < 6:
        raise InputError("cw g2 fit needs both channels with photons and at least 6 bins")
    x, y = x[sel], y[sel]

    def model(t, a, g0, tab, t0):
        return a * (1.0 - (1.0 - g0) * np.exp(-np.abs(t - t0) / tab))

    tail = y[np.abs(x) > 0.5 * np.abs(x).max()]
    a0 = float(np.median(tail)) if tail.size else 1.0
    try:
        p, cov = curve_fit(model, x, y, p0=[a0, 0.1, max(1.0, 0.05 * np.abs(x).max()), 0.0], bounds=([0, -1, 1e-3, -np.abs(x).max()], [np.inf, 2, 10 * np.abs(x).max(), np.abs(x).max()]),
                           maxfev=20000)
    except RuntimeError as exc:
        raise ConvergenceError(f"cw g2 antibunching fit did not converge: {exc}") from exc
    err = np.sqrt(np.diag(cov))
    return CwG2Fit(float(p[1]), float(err[1]), float(p[2]), float(p[0]), float(p[3]))
