"""Intensity trace, ON/OFF threshold, ON fraction, Mandel Q and the intensity histogram.

Definitions (science brief section 3; Mandel, Opt. Lett. 4, 205 (1979)):

* trace: photon counts ``n_j`` in consecutive bins ``[t0 + j w, t0 + (j+1) w)`` of width ``w``
  (default 10 ms), ``t0 = 0`` = start of the measurement. Only complete bins are kept: a final
  partial bin would bias the statistics.
* threshold (method ``"max_fraction"``, default): ``thr = fraction * n_max`` with the *robust
  maximum* ``n_max`` = the ``max_percentile`` (default 99.5th) percentile of the bin counts, not
  the single largest bin (one burst bin would otherwise set the threshold). The paper uses
  ``fraction = 0.5`` (raised from the usual ~0.2). Alternatives: ``"counts"`` (fixed counts per
  bin), ``"two_level"`` (2-means clustering of the bin counts: threshold halfway between the
  OFF and ON level means, iterated to convergence; a two-level model of the intensity
  distribution), ``"hmm"`` (two-level change-point segmentation: a two-state hidden Markov model
  with Poisson emissions, levels and switching probabilities initialised from the 2-means
  split and refined by Viterbi training, and the ON/OFF path decoded by Viterbi; unlike a
  threshold it uses the temporal order, so single shot-noise dips inside an ON period do not
  create spurious OFF events). See :func:`classify`.
* a bin is ON if ``n_j >= thr`` (and ``n_j >= 1``: an empty bin is never ON); ON fraction =
  ON bins / all bins.
* Mandel ``Q = (Var(n) - <n>) / <n>`` (population variance of the bin counts): 0 for Poisson
  light, > 0 for blinking/bunching, < 0 for sub-Poissonian light.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from surfchem.errors import InputError
from surfchem.experiment import _fastdecode
from surfchem.experiment.ptu import PhotonChunk, channel_selector, select_channels


def seconds_to_ps(x_s: float) -> int:
    """A time width in s as an integer number of ps.

    Parameters
    ----------
    x_s : float
        Width, s (> 0).

    Returns
    -------
    int
        Width, ps.

    Raises
    ------
    surfchem.errors.InputError
        A width that rounds to <= 0 ps.
    """
    ps = int(round(float(x_s) * 1e12))
    if ps <= 0:
        raise InputError(f"time width must be > 0 s, got {x_s} s")
    return ps


def bin_counts(
    times_ps: np.ndarray, bin_s: float = 0.01, duration_s: float | None = None
) -> np.ndarray:
    """Counts per complete bin of width ``bin_s`` from 0 to ``duration_s``.

    Parameters
    ----------
    times_ps : numpy.ndarray
        Photon arrival times, int64 ps.
    bin_s : float, default 0.01
        Bin width, s.
    duration_s : float, optional
        Trace length, s (default: the last photon time).

    Returns
    -------
    numpy.ndarray
        int64 counts, length floor(duration / bin).
    """
    t = np.asarray(times_ps, dtype=np.int64)
    w = seconds_to_ps(bin_s)
    dur_ps = int(round(duration_s * 1e12)) if duration_s is not None else (int(t[-1]) + 1 if t.size else 0)
    n = dur_ps // w
    idx = t // w
    idx = idx[(idx >= 0) & (idx < n)]
    return np.bincount(idx, minlength=n).astype(np.int64)


class TraceAccumulator:
    """Streaming binned trace (selected channels summed) with per-bin microtime sums for FLID.

    Bins grow as needed; ``result(end_time_ps)`` truncates to the complete bins.
    """

    def __init__(self, bin_s: float = 0.01, channels: tuple[int, ...] | None = None, *,
                 microtime_window_ps: tuple[int, int] | None = None, with_microtimes: bool = True,
                 dtype: type = np.int64, expected_duration_s: float | None = None) -> None:
        self.bin_ps = seconds_to_ps(bin_s)
        self.channels = None if channels is None else np.asarray(sorted(channels), dtype=np.int8)
        self._lut = channel_selector(self.channels)
        # preallocate when the duration is known (avoids the 2x peak of growth by doubling)
        n0 = 1024
        if expected_duration_s:
            n0 = max(n0, int(expected_duration_s * 1e12 // self.bin_ps) + 2)
        self.counts = np.zeros(n0, dtype=dtype)
        self.with_micro = with_microtimes
        n_m = n0 if with_microtimes else 0
        self.micro_sum = np.zeros(n_m, dtype=np.float64)
        self.micro_n = np.zeros(n_m, dtype=np.int64)
        self.window = microtime_window_ps
        self.has_micro = False

    def _grow(self, n: int) -> None:
        if n <= self.counts.size:
            return
        new = max(n, int(1.5 * self.counts.size))
        names = ("counts", "micro_sum", "micro_n") if self.with_micro else ("counts",)
        for name in names:
            old = getattr(self, name)
            arr = np.zeros(new, dtype=old.dtype)
            arr[: old.size] = old
            setattr(self, name, arr)

    def add(self, chunk: PhotonChunk) -> None:
        """Add one chunk of photons to the binned counts."""
        if len(chunk) == 0:
            return
        if _fastdecode.loaded():
            self._add_numba(chunk, _fastdecode)
            return
        t = chunk.times_ps
        sel = select_channels(chunk.channels, self._lut)
        if sel is not None:
            t = t[sel]
        if t.size == 0:
            return
        idx = t // self.bin_ps
        lo = int(idx[0])
        hi = int(idx[-1]) + 1
        self._grow(hi)
        self.counts[lo:hi] += np.bincount(idx - lo, minlength=hi - lo)
        if chunk.microtimes_ps is not None and self.with_micro:
            self.has_micro = True
            m = chunk.microtimes_ps if sel is None else chunk.microtimes_ps[sel]
            ok = m >= 0
            if self.window is not None:
                ok &= (m >= self.window[0]) & (m < self.window[1])
            ii = idx[ok] - lo
            self.micro_sum[lo:hi] += np.bincount(ii, weights=m[ok].astype(np.float64), minlength=hi - lo)
            self.micro_n[lo:hi] += np.bincount(ii, minlength=hi - lo)

    def _add_numba(self, chunk: PhotonChunk, fd) -> None:
        hi = int(chunk.times_ps[-1] // self.bin_ps) + 1
        self._grow(hi)
        has_micro = chunk.microtimes_ps is not None
        if has_micro and self.with_micro:
            self.has_micro = True
        micro = chunk.microtimes_ps if has_micro else chunk.times_ps
        wlo, whi = self.window if self.window is not None else (0, np.iinfo(np.int64).max)
        lut = self._lut if self._lut is not None else np.ones(256, bool)
        fd.trace_kernel()(chunk.times_ps, chunk.channels, micro, has_micro, lut, self._lut is not None,
                          self.bin_ps, self.counts, self.micro_sum, self.micro_n, self.with_micro,
                          int(wlo), int(whi))

    def n_complete_bins(self, end_time_ps: int) -> int:
        """Bins of ``bin_ps`` that end at or before ``end_time_ps`` (ps)."""
        return int(end_time_ps // self.bin_ps)

    def result(self, end_time_ps: int) -> np.ndarray:
        """Counts per complete bin up to ``end_time_ps`` (ps)."""
        n = self.n_complete_bins(end_time_ps)
        self._grow(n)
        return self.counts[:n]

    def mean_microtime_ps(self, end_time_ps: int) -> np.ndarray:
        """Mean microtime per complete bin (NaN where no photon had a microtime)."""
        n = self.n_complete_bins(end_time_ps)
        self._grow(n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.micro_sum[:n] / self.micro_n[:n]


def count_histogram(counts: np.ndarray, block: int = 1 << 20) -> np.ndarray:
    """``h[v]`` = number of bins holding ``v`` counts (built in blocks: no full-size copies).

    All trace statistics below are exact functions of this histogram, so a 12 h trace at 1 ms
    (4.3e7 bins) costs no float64 copies of the trace.
    """
    counts = np.asarray(counts)
    h = np.zeros(1, dtype=np.int64)
    for i in range(0, counts.size, block):
        b = np.bincount(counts[i : i + block])
        if b.size > h.size:
            b[: h.size] += h
            h = b.astype(np.int64)
        else:
            h[: b.size] += b
    if counts.size and int(counts.min()) < 0:
        raise InputError("trace counts must be non-negative")
    return h


def _hist_percentile(h: np.ndarray, q: float) -> float:
    """Percentile of the data behind ``h`` with numpy's default (linear) interpolation."""
    n = int(h.sum())
    if n == 0:
        return float("nan")
    pos = q / 100.0 * (n - 1)
    lo = int(np.floor(pos))
    cum = np.cumsum(h)
    v_lo = int(np.searchsorted(cum, lo + 1))
    v_hi = int(np.searchsorted(cum, min(lo + 2, n)))
    return float(v_lo + (pos - lo) * (v_hi - v_lo))


def robust_max(counts: np.ndarray, percentile: float = 99.5) -> float:
    """The robust maximum of a trace: the ``percentile``-th percentile of the bin counts."""
    return _hist_percentile(count_histogram(counts), percentile)


@dataclass
class Threshold:
    """ON/OFF threshold of a binned intensity trace.

    Attributes
    ----------
    value_counts : float
        Threshold, counts per bin (ON: counts >= threshold).
    method : str
        ``"max_fraction"``, ``"counts"``, ``"two_level"`` or ``"hmm"``.
    robust_max_counts : float
        A high percentile of the trace, counts per bin.
    on_level_counts, off_level_counts : float or None
        Level means of the two-level methods, counts per bin.
    """
    value_counts: float
    method: str
    robust_max_counts: float
    on_level_counts: float | None = None
    off_level_counts: float | None = None


def threshold(
    counts: np.ndarray,
    method: str = "max_fraction",
    *,
    fraction: float = 0.5,
    max_percentile: float = 99.5,
    counts_value: float | None = None,
    hist: np.ndarray | None = None,
) -> Threshold:
    """ON/OFF threshold of a binned trace (methods in the module docstring).

    Parameters
    ----------
    counts : numpy.ndarray
        Counts per bin.
    method : {"max_fraction", "counts", "two_level", "hmm"}, default "max_fraction"
        ``max_fraction``: ``fraction`` of the robust maximum (the paper's rule, 50 %);
        ``counts``: a fixed ``counts_value``; ``two_level`` / ``hmm``: between two fitted levels.
    fraction : float, default 0.5
        Fraction of the robust maximum, in (0, 1].
    max_percentile : float, default 99.5
        Percentile of the counts taken as the robust maximum.
    counts_value : float, optional
        Threshold in counts per bin (method ``counts``).
    hist : numpy.ndarray, optional
        Precomputed histogram of the counts (speeds up long traces).

    Returns
    -------
    Threshold
        Threshold and robust maximum in counts per bin.

    Raises
    ------
    surfchem.errors.InputError
        Unknown method or bad ``fraction`` / ``counts_value``.
    """
    h = count_histogram(counts) if hist is None else hist
    v = np.arange(h.size, dtype=np.float64)
    rmax = _hist_percentile(h, max_percentile)
    if method == "max_fraction":
        if not 0 < fraction <= 1:
            raise InputError(f"threshold fraction must be in (0, 1], got {fraction}")
        return Threshold(fraction * rmax, method, rmax)
    if method == "counts":
        if counts_value is None or counts_value < 0:
            raise InputError("threshold method 'counts' needs counts_value >= 0 (counts per bin)")
        return Threshold(float(counts_value), method, rmax)
    if method == "two_level":
        if h.sum() == 0:
            return Threshold(float("nan"), method, rmax)
        thr = 0.5 * (_hist_percentile(h, 5) + _hist_percentile(h, 95))
        m_on = m_off = None
        for _ in range(200):
            on = v >= thr
            n_on, n_off = h[on].sum(), h[~on].sum()
            if n_on == 0 or n_off == 0:
                break
            m_on = float((h[on] * v[on]).sum() / n_on)
            m_off = float((h[~on] * v[~on]).sum() / n_off)
            new = 0.5 * (m_on + m_off)
            if abs(new - thr) < 1e-9:
                break
            thr = new
        return Threshold(thr, method, rmax, m_on, m_off)
    raise InputError(
        f"unknown threshold method {method!r}; use 'max_fraction', 'counts', 'two_level' or 'hmm'"
    )


def on_mask(counts: np.ndarray, thr: float) -> np.ndarray:
    """ON bins: ``n >= thr`` and ``n >= 1`` (an empty bin is never ON, even if ``thr = 0``)."""
    return np.asarray(counts) >= max(thr, 1e-12)


def on_fraction(counts: np.ndarray, thr: float, *, hist: np.ndarray | None = None) -> float:
    """Fraction of bins with counts >= ``thr``.

    Parameters
    ----------
    counts : numpy.ndarray
        Counts per bin.
    thr : float
        Threshold, counts per bin.
    hist : numpy.ndarray, optional
        Precomputed histogram of the counts (speeds up long traces).

    Returns
    -------
    float
        0..1 (NaN for an empty trace).
    """
    h = count_histogram(counts) if hist is None else hist
    n = h.sum()
    if n == 0:
        return float("nan")
    first = max(int(np.ceil(thr)), 1)  # an empty bin is never ON
    return float(h[first:].sum() / n)


def mandel_q(counts: np.ndarray, *, hist: np.ndarray | None = None) -> float:
    """Mandel Q = (Var(n) - <n>) / <n> of the bin counts n.

    0 for Poisson light, > 0 for bunched (blinking) emission, < 0 for sub-Poissonian light.

    Parameters
    ----------
    counts : numpy.ndarray
        Counts per bin.
    hist : numpy.ndarray, optional
        Precomputed histogram of the counts (speeds up long traces).

    Returns
    -------
    float
        Dimensionless (NaN if <n> = 0).
    """
    h = (count_histogram(counts) if hist is None else hist).astype(np.float64)
    n = h.sum()
    if n == 0:
        return float("nan")
    v = np.arange(h.size, dtype=np.float64)
    m = float((h * v).sum() / n)
    if m <= 0:
        return float("nan")
    var = float((h * (v - m) ** 2).sum() / n)
    return (var - m) / m


def _viterbi_py(counts, log_e_off, log_e_on, lt):
    n = counts.size
    back = np.zeros((n, 2), dtype=np.int8)
    d0, d1 = log_e_off[0], log_e_on[0]
    for i in range(1, n):
        a0 = d0 + lt[0, 0]
        b0 = d1 + lt[1, 0]
        a1 = d0 + lt[0, 1]
        b1 = d1 + lt[1, 1]
        back[i, 0] = 0 if a0 >= b0 else 1
        back[i, 1] = 0 if a1 >= b1 else 1
        d0 = max(a0, b0) + log_e_off[i]
        d1 = max(a1, b1) + log_e_on[i]
    path = np.empty(n, dtype=np.int8)
    path[-1] = 0 if d0 >= d1 else 1
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


_VITERBI_NB = None


def _viterbi(counts, log_e_off, log_e_on, lt) -> np.ndarray:
    global _VITERBI_NB
    if counts.size > 200_000 and (_fastdecode.loaded() or _fastdecode.enabled(10**9)):
        if _VITERBI_NB is None:
            from numba import njit

            _VITERBI_NB = njit(cache=True)(_viterbi_py)
        return _VITERBI_NB(counts, log_e_off, log_e_on, lt)
    return _viterbi_py(counts, log_e_off, log_e_on, lt)


def hmm_segmentation(counts: np.ndarray, *, n_iter: int = 5) -> tuple[np.ndarray, float, float]:
    """Two-state Poisson HMM (Viterbi training): ``(on_mask, off_level, on_level)`` in counts/bin."""
    from scipy.special import gammaln

    c = np.asarray(counts, dtype=np.int64)
    if c.size < 2:
        return c >= 1, float("nan"), float("nan")
    thr = threshold(c, "two_level")
    state = c >= max(thr.value_counts, 1e-12)
    lg = gammaln(c + 1.0)
    for _ in range(n_iter):
        if state.all() or (~state).all():
            break
        lam_on = max(float(c[state].mean()), 1e-3)
        lam_off = max(float(c[~state].mean()), 1e-3)
        lengths, states = _runs(state)
        # switching probabilities from the mean run lengths
        p_on_off = 1.0 / max(lengths[states].mean(), 1.0)
        p_off_on = 1.0 / max(lengths[~states].mean(), 1.0)
        lt = np.log(np.array([[1 - p_off_on, p_off_on], [p_on_off, 1 - p_on_off]]))
        e_off = c * np.log(lam_off) - lam_off - lg
        e_on = c * np.log(lam_on) - lam_on - lg
        new = _viterbi(c.astype(np.float64), e_off, e_on, lt).astype(bool)
        if np.array_equal(new, state):
            break
        state = new
    on_level = float(c[state].mean()) if state.any() else float("nan")
    off_level = float(c[~state].mean()) if (~state).any() else float("nan")
    return state, off_level, on_level


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    change = np.flatnonzero(np.diff(mask.astype(np.int8))) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [mask.size]])
    return ends - starts, mask[starts]


def classify(
    counts: np.ndarray,
    method: str = "max_fraction",
    *,
    fraction: float = 0.5,
    max_percentile: float = 99.5,
    counts_value: float | None = None,
) -> tuple[np.ndarray, Threshold]:
    """ON mask and threshold description for any method (``"hmm"`` included).

    For ``"hmm"`` the reported ``value_counts`` is the midpoint of the two fitted levels (for
    plots); the mask comes from the Viterbi path, not from that value.
    """
    if method == "hmm":
        mask, off, on = hmm_segmentation(counts)
        rmax = robust_max(counts, max_percentile)
        return mask, Threshold(0.5 * (off + on) if np.isfinite(off + on) else float("nan"), method, rmax, on, off)
    thr = threshold(counts, method, fraction=fraction, max_percentile=max_percentile, counts_value=counts_value)
    return on_mask(counts, thr.value_counts), thr


def rebin(counts: np.ndarray, factor: int) -> np.ndarray:
    """Sum consecutive groups of ``factor`` bins (incomplete last group dropped)."""
    if factor < 1:
        raise InputError(f"rebin factor must be >= 1, got {factor}")
    if factor == 1:
        return counts
    n = counts.size // factor
    return counts[: n * factor].reshape(n, factor).sum(axis=1, dtype=counts.dtype)


@dataclass
class BinScanRow:
    """ON fraction and Mandel Q at one bin width.

    Attributes
    ----------
    bin_s : float
        Bin width, s.
    on_fraction : float
        0..1.
    mandel_q : float
        Var/mean - 1 of the binned counts.
    mean_counts : float
        Mean counts per bin.
    """
    bin_s: float
    on_fraction: float
    mandel_q: float
    mean_counts: float


def bin_width_scan(
    fine_counts: np.ndarray,
    fine_bin_s: float,
    factors: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100),
    *,
    fraction: float = 0.5,
    max_percentile: float = 99.5,
) -> list[BinScanRow]:
    """ON fraction and Mandel Q versus bin width (the paper's stability check, SI Fig. 15).

    The threshold is recomputed at each bin width with the same rule.

    Parameters
    ----------
    fine_counts : numpy.ndarray
        Counts per bin of the finest trace.
    fine_bin_s : float
        Its bin width, s.
    factors : tuple of int, default (1, 2, 5, 10, 20, 50, 100)
        Bin widths as multiples of ``fine_bin_s``.
    fraction : float, default 0.5
        Threshold as a fraction of the robust maximum.
    max_percentile : float, default 99.5
        Percentile taken as the robust maximum.

    Returns
    -------
    list of BinScanRow
    """
    rows = []
    for f in factors:
        c = rebin(np.asarray(fine_counts), f)
        if c.size < 2:
            continue
        h = count_histogram(c)
        thr = threshold(c, "max_fraction", fraction=fraction, max_percentile=max_percentile, hist=h)
        mean = float((h * np.arange(h.size)).sum() / h.sum())
        rows.append(BinScanRow(f * fine_bin_s, on_fraction(c, thr.value_counts, hist=h), mandel_q(c, hist=h), mean))
        del c
    return rows


def intensity_histogram(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of bin counts with unit-width bins: ``(count_values, number_of_bins)``."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    h = np.bincount(counts)
    return np.arange(h.size), h
