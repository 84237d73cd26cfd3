"""Photon-by-photon change-point detection and intensity-level grouping.

Method of Watkins & Yang, J. Phys. Chem. B 109, 617 (2005):

1. **Change points.** For ``N`` inter-photon intervals between photons ``t_0 .. t_N`` (total
   time ``T``), the log likelihood ratio of "rate changes after photon ``k``" against "one rate"
   is ``ln L_k = k ln(k / T_k) + (N - k) ln((N - k) / (T - T_k)) - N ln(N / T)`` with
   ``T_k = t_k - t_0`` (exponential waiting times). A change is accepted when
   ``max_k 2 ln L_k`` exceeds the critical value at false-positive probability ``alpha``; the
   data are split there and both sides are tested again (binary segmentation), then every change
   point is re-located between its final neighbours. A change point leaves at least
   ``edge_photons`` intervals on each side: one very short interval at a segment's edge (two
   photons from one laser pulse, a few ns apart, where the photon stream is not Poissonian) would
   otherwise pass as a significant change and become a one-photon "level". The critical value is the asymptotic
   extreme-value law of the maximal likelihood ratio for one changing parameter
   (Csörgő & Horváth, *Limit Theorems in Change-Point Analysis*, 1997, Thm 1.3.1), which
   Watkins & Yang cite; it is somewhat conservative for short segments (the tests measure the
   false-positive rate on a steady emitter).
2. **Levels.** Segments are grouped into ``q`` intensity levels by agglomerative clustering
   (merge the two rate-adjacent groups that lose the least Poisson log likelihood), refined by
   expectation maximisation of the mixture likelihood
   ``L = sum_i ln sum_j p_j I_j^{n_i} exp(-I_j T_i)``; ``q`` maximises
   ``BIC = 2 L - (2q - 1) ln n_cp`` (Watkins & Yang, eq. 12, without their q-independent term).

Memory is bounded: photons are buffered in windows of ``window_photons``; everything before the
last change point of a window is final, the rest is carried into the next window (a window with
no change point is cut in half; such cuts are not reported as change points). Times are int64
picoseconds inside, seconds at the API edge.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from surfchem.errors import InputError
from surfchem.experiment.decay import DecayAccumulator
from surfchem.experiment.ptu import PhotonChunk, channel_selector, select_channels

PS = 1e-12
_EPS_PS = 0.5  # half the finest time unit: keeps ln(k / T_k) finite for coincident tags


@dataclass(frozen=True)
class ChangePointOptions:
    """Settings of :class:`ChangePointAccumulator`.

    Attributes
    ----------
    alpha : float
        False-positive probability of each likelihood-ratio test (0 < alpha < 0.5).
    min_photons : int
        Segments with fewer intervals are not tested for further change points (>= 16, where
        the critical value is defined).
    edge_photons : int
        Fewest intervals between a change point and its segment's ends (1 .. min_photons / 2).
    window_photons : int
        Photons analysed at once; bounds the memory (~40 bytes per photon).
    max_levels : int
        Largest number of intensity levels considered by the BIC.
    channels : tuple of int or None
        Detector channels used (None: all).
    """

    alpha: float = 0.05
    min_photons: int = 20
    edge_photons: int = 3
    window_photons: int = 1 << 17
    max_levels: int = 6
    channels: tuple[int, ...] | None = None

    def validate(self) -> None:
        """Check the settings.

        Raises
        ------
        surfchem.errors.InputError
            Naming the bad setting and the accepted range.
        """
        if not 0 < self.alpha < 0.5:
            raise InputError(f"change-point alpha must be in (0, 0.5), got {self.alpha}")
        if self.min_photons < 16:
            raise InputError(f"min_photons must be >= 16, got {self.min_photons}")
        if not 1 <= self.edge_photons <= self.min_photons // 2:
            raise InputError(f"edge_photons must be in 1 .. min_photons / 2 = {self.min_photons // 2}, "
                             f"got {self.edge_photons}")
        if self.window_photons < 4 * self.min_photons:
            raise InputError(
                f"window_photons must be >= 4 * min_photons = {4 * self.min_photons}, "
                f"got {self.window_photons}"
            )
        if self.max_levels < 1:
            raise InputError(f"max_levels must be >= 1, got {self.max_levels}")


def critical_value(n_intervals: int, alpha: float) -> float:
    """Threshold on ``max_k 2 ln L_k`` for ``n_intervals`` intervals at false-positive ``alpha``.

    ``P(a Z - b <= x) -> exp(-2 exp(-x))`` for ``Z = max_k sqrt(2 ln L_k)``, with
    ``a = sqrt(2 ln ln N)`` and ``b = 2 ln ln N + ln ln ln N / 2 - ln Gamma(1/2)``.
    """
    if n_intervals < 16:
        raise InputError(f"critical value needs >= 16 intervals, got {n_intervals}")
    ll = np.log(np.log(n_intervals))
    a = np.sqrt(2.0 * ll)
    b = 2.0 * ll + 0.5 * np.log(ll) - 0.5 * np.log(np.pi)
    z = (b - np.log(-0.5 * np.log1p(-alpha))) / a
    return float(z * z)


def llr_profile(times_ps: np.ndarray) -> np.ndarray:
    """``2 ln L_k`` for a rate change after photon ``k = 1 .. N-1`` of photons ``t_0 .. t_N``.

    Parameters
    ----------
    times_ps : ndarray of int64
        Sorted photon times (ps) of one segment, ``N + 1 >= 3`` photons.
    """
    t = np.asarray(times_ps)
    n = t.size - 1
    total = float(t[-1] - t[0])
    if n < 2 or total <= 0:
        return np.zeros(max(n - 1, 0))
    tk = np.clip((t[1:-1] - t[0]).astype(np.float64), _EPS_PS, total - _EPS_PS)
    k = np.arange(1, n, dtype=np.float64)
    return 2.0 * (k * np.log(k / tk) + (n - k) * np.log((n - k) / (total - tk))
                  - n * np.log(n / total))


def _best_split(t: np.ndarray, a: int, b: int, opt: ChangePointOptions) -> int | None:
    """Photon index of a significant change in ``t[a..b]`` or None."""
    n = b - a
    if n < opt.min_photons:
        return None
    m = opt.edge_photons
    prof = llr_profile(t[a:b + 1])[m - 1 : n - m]  # change after photon k = m .. n - m
    j = int(np.argmax(prof))
    if prof[j] <= critical_value(n, opt.alpha):
        return None
    return a + j + m


def detect(times_ps: np.ndarray, opt: ChangePointOptions | None = None) -> np.ndarray:
    """Indices of change-point photons in sorted ``times_ps`` (binary segmentation + re-location).

    Photon ``i`` returned means the rate changes between the intervals before and after
    ``times_ps[i]``.
    """
    opt = opt or ChangePointOptions()
    t = np.asarray(times_ps, dtype=np.int64)
    if t.size < 3:
        return np.zeros(0, np.int64)
    found = []
    stack = [(0, t.size - 1)]
    while stack:
        a, b = stack.pop()
        k = _best_split(t, a, b, opt)
        if k is not None:
            found.append(k)
            stack += [(a, k), (k, b)]
    cps = sorted(found)
    refined: list[int] = []
    for i in range(len(cps)):  # re-locate each point between its (already final) neighbours
        lo = refined[-1] if refined else 0
        hi = cps[i + 1] if i + 1 < len(cps) else t.size - 1
        k = _best_split(t, lo, hi, opt)
        if k is not None:
            refined.append(k)
    return np.asarray(refined, dtype=np.int64)


@dataclass
class Segments:
    """Constant-rate segments (plain arrays, one entry per segment; times in ps)."""

    start_ps: np.ndarray
    end_ps: np.ndarray
    n_photons: np.ndarray  # intervals inside the segment (photons minus the closing one)
    micro_sum_ps: np.ndarray
    micro_n: np.ndarray
    changepoint_at_start: np.ndarray  # False for the first segment and for window cuts

    @property
    def duration_s(self) -> np.ndarray:
        """Duration of each segment, s."""
        return (self.end_ps - self.start_ps) * PS


class ChangePointAccumulator:
    """Streaming change-point detector: ``add(chunk)`` for every chunk, then ``segments()``."""

    def __init__(self, opt: ChangePointOptions | None = None) -> None:
        self.opt = opt or ChangePointOptions()
        self.opt.validate()
        self._lut = channel_selector(self.opt.channels)
        self._t = np.zeros(0, np.int64)
        self._m: np.ndarray | None = None
        self._rows: list[tuple[int, int, int, int, int, bool]] = []
        self._cp_next = False  # whether the carried photons start at a change point
        self.n_photons = 0

    def add(self, chunk: PhotonChunk) -> None:
        """Consume one chunk of photons (selected channels; windows are analysed as they fill)."""
        mask = select_channels(chunk.channels, self._lut)
        t = chunk.times_ps if mask is None else chunk.times_ps[mask]
        m = chunk.microtimes_ps
        if m is not None and mask is not None:
            m = m[mask]
        self.n_photons += int(t.size)
        self._t = np.concatenate([self._t, t])
        if m is not None:
            self._m = m.copy() if self._m is None else np.concatenate([self._m, m])
        while self._t.size >= self.opt.window_photons:
            self._process(final=False)

    def _emit(self, bounds: np.ndarray, is_cp: np.ndarray, t: np.ndarray, m: np.ndarray | None) -> None:
        for s, e, cp in zip(bounds[:-1], bounds[1:], is_cp, strict=True):
            if e <= s:
                continue
            if m is not None:
                seg = m[s:e]
                ok = seg >= 0
                msum, mn = int(seg[ok].sum()), int(ok.sum())
            else:
                msum, mn = 0, 0
            self._rows.append((int(t[s]), int(t[e]), int(e - s), msum, mn, bool(cp)))

    def _process(self, *, final: bool) -> None:
        w = self._t.size if final else self.opt.window_photons
        t = self._t[:w]
        m = None if self._m is None else self._m[:w]
        cps = detect(t, self.opt)
        if final:
            cut = w - 1
        elif cps.size and cps[-1] >= w // 4:
            cut = int(cps[-1])
        else:
            cut = w // 2
        inner = cps[cps < cut]
        bounds = np.concatenate([[0], inner, [cut]])
        is_cp = np.concatenate([[self._cp_next], np.ones(inner.size, bool)])
        self._emit(bounds, is_cp, t, m)
        self._cp_next = bool(cps.size and cut == cps[-1])
        self._t = self._t[cut:]
        if self._m is not None:
            self._m = self._m[cut:]

    def segments(self) -> Segments:
        """Finish (analyse the photons still buffered) and return all segments."""
        if self._t.size >= 2:
            self._process(final=True)  # leaves only the last photon buffered
        cols = list(zip(*self._rows, strict=True)) if self._rows else [[]] * 6
        return Segments(
            start_ps=np.asarray(cols[0], np.int64), end_ps=np.asarray(cols[1], np.int64),
            n_photons=np.asarray(cols[2], np.int64), micro_sum_ps=np.asarray(cols[3], np.int64),
            micro_n=np.asarray(cols[4], np.int64), changepoint_at_start=np.asarray(cols[5], bool),
        )


# --------------------------------------------------------------------------- level grouping


def _group_loglik(n: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Poisson-process log likelihood ``n ln(n / T) - n`` of groups (0 for empty groups)."""
    n = np.asarray(n, np.float64)
    t = np.asarray(t, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(n > 0, n * np.log(n / t) - n, 0.0)
    return out


def agglomerate(n: np.ndarray, t: np.ndarray, max_levels: int) -> dict[int, np.ndarray]:
    """Hierarchical grouping of segments by rate: ``{q: label per segment}`` for ``q <= max_levels``.

    Labels are 0 .. q-1 in order of increasing rate.
    """
    rate = n / t
    order = np.argsort(rate, kind="stable")
    gn, gt = n[order].astype(np.float64), t[order].astype(np.float64)
    start = np.arange(n.size)  # group g holds sorted segments start[g] .. start[g+1]-1
    out: dict[int, np.ndarray] = {}
    while True:
        q = gn.size
        if q <= max_levels:
            sorted_label = np.repeat(np.arange(q), np.diff(np.append(start, n.size)))
            lab = np.empty(n.size, np.int64)
            lab[order] = sorted_label
            out[q] = lab
        if q == 1:
            return out
        cost = _group_loglik(gn[:-1], gt[:-1]) + _group_loglik(gn[1:], gt[1:]) \
            - _group_loglik(gn[:-1] + gn[1:], gt[:-1] + gt[1:])
        i = int(np.argmin(cost))
        gn[i] += gn[i + 1]
        gt[i] += gt[i + 1]
        gn, gt, start = np.delete(gn, i + 1), np.delete(gt, i + 1), np.delete(start, i + 1)


def _em(n: np.ndarray, t: np.ndarray, labels: np.ndarray, q: int, n_iter: int = 200
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """EM of the rate mixture: (rates 1/s, weights, responsibilities, log likelihood)."""
    nf, tf = n.astype(np.float64), t.astype(np.float64)
    rates = np.array([nf[labels == j].sum() / tf[labels == j].sum() for j in range(q)])
    weights = np.bincount(labels, minlength=q) / labels.size
    loglik = -np.inf
    resp = np.zeros((n.size, q))
    for _ in range(n_iter):
        with np.errstate(divide="ignore"):
            logp = np.log(weights)[None, :] + nf[:, None] * np.log(rates)[None, :] \
                - rates[None, :] * tf[:, None]
        top = logp.max(axis=1, keepdims=True)
        norm = top[:, 0] + np.log(np.exp(logp - top).sum(axis=1))
        resp = np.exp(logp - norm[:, None])
        new = float(norm.sum())
        weights = resp.mean(axis=0)
        keep = weights > 0
        rates = np.where(keep, (resp * nf[:, None]).sum(0) / np.maximum((resp * tf[:, None]).sum(0), 1e-300),
                         rates)
        if abs(new - loglik) < 1e-9 * max(1.0, abs(new)):
            loglik = new
            break
        loglik = new
    return rates, weights, resp, loglik


@dataclass
class LevelFit:
    """Intensity levels of the segments (rates ascending)."""

    n_levels: int
    rates_cps: np.ndarray
    weights: np.ndarray
    labels: np.ndarray  # level of each segment
    bic: dict[int, float]


def group_levels(n_photons: np.ndarray, duration_s: np.ndarray, max_levels: int = 6) -> LevelFit:
    """Group segments into intensity levels (agglomeration + EM, number of levels by BIC).

    Parameters
    ----------
    n_photons : ndarray of int
        Photons (intervals) per segment.
    duration_s : ndarray of float
        Segment durations (s), > 0.
    max_levels : int
        Largest number of levels tried.
    """
    n = np.asarray(n_photons, np.int64)
    t = np.asarray(duration_s, np.float64)
    if n.size == 0:
        raise InputError("no segments to group into levels (no photons?)")
    if np.any(t <= 0):
        raise InputError("segment durations must be > 0 s")
    if n.size == 1:
        return LevelFit(1, n / t, np.ones(1), np.zeros(1, np.int64), {1: 0.0})
    penalty = np.log(max(n.size - 1, 1))  # ln n_cp
    best = None
    bic: dict[int, float] = {}
    for q, lab in sorted(agglomerate(n, t, max_levels).items()):
        rates, weights, resp, loglik = _em(n, t, lab, q)
        bic[q] = 2.0 * loglik - (2 * q - 1) * penalty
        if best is None or bic[q] > best[0]:
            best = (bic[q], q, rates, weights, resp)
    _, q, rates, weights, resp = best
    order = np.argsort(rates)
    rank = np.empty(q, np.int64)
    rank[order] = np.arange(q)
    return LevelFit(q, rates[order], weights[order], rank[resp.argmax(axis=1)], bic)


# ------------------------------------------------------------------------------- results


@dataclass
class ChangePointResult:
    """Change points, levels and dwell times (SI units in the names)."""

    n_photons: int
    change_points_s: np.ndarray  # every detected change point
    switching_times_s: np.ndarray  # change points where the grouped level changes
    level_rates_cps: np.ndarray
    level_time_s: np.ndarray
    level_photons: np.ndarray
    level_mean_microtime_ns: np.ndarray  # NaN without microtimes
    dwell_times_s: dict[int, np.ndarray]  # per level, first and last (censored) dwells removed
    bic: dict[int, float]
    segments: Segments = field(repr=False)
    segment_level: np.ndarray = field(repr=False)

    @property
    def n_levels(self) -> int:
        """Number of intensity levels found."""
        return int(self.level_rates_cps.size)

    def to_dict(self) -> dict:
        """JSON-ready summary (lists, floats; NaN as None)."""
        f = json_floats
        return {
            "n_photons": self.n_photons,
            "n_change_points": int(self.change_points_s.size),
            "n_levels": self.n_levels,
            "level_rates_cps": f(self.level_rates_cps),
            "level_time_s": f(self.level_time_s),
            "level_photons": [int(v) for v in self.level_photons],
            "level_mean_microtime_ns": f(self.level_mean_microtime_ns),
            "n_switches": int(self.switching_times_s.size),
            "level_time_fraction": f(self.level_time_s / max(float(self.level_time_s.sum()), 1e-300)),
            "mean_dwell_s": {str(k): (float(v.mean()) if v.size else None)
                             for k, v in self.dwell_times_s.items()},
            "median_dwell_s": {str(k): (float(np.median(v)) if v.size else None)
                               for k, v in self.dwell_times_s.items()},
            "n_dwells": {str(k): int(v.size) for k, v in self.dwell_times_s.items()},
            "bic": {str(k): float(v) for k, v in self.bic.items()},
        }


def json_floats(x) -> list[float | None]:
    """Floats of an array as a JSON-ready list (NaN and inf as None)."""
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(x, float)]


def summarize(segs: Segments, n_photons: int, max_levels: int = 6) -> ChangePointResult:
    """Group ``segs`` into levels and derive switching times and dwell times."""
    fit = group_levels(segs.n_photons, np.maximum(segs.duration_s, _EPS_PS * PS), max_levels)
    lab = fit.labels
    q = fit.n_levels
    dur = segs.duration_s
    level_time = np.bincount(lab, weights=dur, minlength=q)
    level_n = np.bincount(lab, weights=segs.n_photons, minlength=q).astype(np.int64)
    msum = np.bincount(lab, weights=segs.micro_sum_ps, minlength=q)
    mn = np.bincount(lab, weights=segs.micro_n, minlength=q)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_micro = np.where(mn > 0, msum / mn * 1e-3, np.nan)
    switch = np.flatnonzero(lab[1:] != lab[:-1]) + 1  # segment index where the level changes
    edges = np.concatenate([[0], switch, [lab.size]])
    dwell_level = lab[edges[:-1]]
    dwell_s = (segs.end_ps[edges[1:] - 1] - segs.start_ps[edges[:-1]]) * PS
    inner = slice(1, -1)  # first and last dwells are cut by the measurement
    dwells = {j: dwell_s[inner][dwell_level[inner] == j] for j in range(q)}
    return ChangePointResult(
        n_photons=n_photons,
        change_points_s=segs.start_ps[segs.changepoint_at_start] * PS,
        switching_times_s=segs.start_ps[switch] * PS,
        level_rates_cps=fit.rates_cps,
        level_time_s=level_time,
        level_photons=level_n,
        level_mean_microtime_ns=mean_micro,
        dwell_times_s=dwells,
        bic=fit.bic,
        segments=segs,
        segment_level=lab,
    )


def analyze_chunks(chunks, opt: ChangePointOptions | None = None) -> ChangePointResult:
    """Change points and levels of a chunk stream (e.g. from :func:`stream.open_stream`)."""
    acc = ChangePointAccumulator(opt)
    for chunk in chunks:
        acc.add(chunk)
    return summarize(acc.segments(), acc.n_photons, acc.opt.max_levels)


# ------------------------------------------------------------------- lifetimes of segments


def mean_delay_lifetime_ns(
    mean_delay_ps: np.ndarray,
    rate_cps: np.ndarray,
    t0_ps: float,
    *,
    period_ps: float | None = None,
    background_cps: float = 0.0,
    max_background: float = 0.9,
) -> np.ndarray:
    """First-moment lifetime (ns) of segments or levels, background removed.

    ``tau = (d - b P / 2) / (1 - b) - t0``: the mean delay ``d`` mixes the signal (mean ``t0 +
    tau`` for a decay much shorter than the period ``P``) with a background fraction
    ``b = background_cps / rate_cps`` spread uniformly over the period (mean ``P / 2``).

    Parameters
    ----------
    mean_delay_ps : ndarray
        Mean photon delay after the laser pulse (ps); NaN without microtimes.
    rate_cps : ndarray
        Count rate of each segment (counts/s, same channels as the background).
    t0_ps : float
        IRF position (ps), as fitted to the whole decay.
    period_ps : float, optional
        Laser period (ps); needed when ``background_cps > 0``.
    background_cps : float
        Background count rate (counts/s); 0 = no correction.
    max_background : float
        Entries with ``b`` above this (background-dominated) are NaN.
    """
    d = np.asarray(mean_delay_ps, np.float64)
    if background_cps <= 0:
        return (d - t0_ps) / 1e3
    if not period_ps:
        raise InputError("background-corrected mean-delay lifetimes need the laser period (period_ps)")
    with np.errstate(divide="ignore", invalid="ignore"):
        b = background_cps / np.asarray(rate_cps, np.float64)
        tau = ((d - b * period_ps / 2) / (1 - b) - t0_ps) / 1e3
    return np.where(b <= max_background, tau, np.nan)


def segment_decay_histograms(
    chunks, start_ps: np.ndarray, bin_ps: float, n_bins: int, channels: tuple[int, ...] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """``(segment index, decay histogram)`` of every segment, in time order, from a second pass.

    Parameters
    ----------
    chunks : iterable of PhotonChunk
        The photon stream again (microtimes folded into one period).
    start_ps : ndarray
        Segment start times (ps), from :func:`summarize`; segments tile time.
    bin_ps, n_bins : float, int
        Histogram bins (ps) over one period, as the whole-file decay.
    channels : tuple of int, optional
        Detector channels counted (None: all), as in the change-point pass.

    Notes
    -----
    Memory stays bounded: a segment is handed out (and dropped) once a chunk reaches a later
    one, so only the segments of the current chunk are held. A photon that arrives after its
    segment was handed out (T3 photons of one pulse are out of time order by < 1 period) is
    counted in the earliest segment still open.
    """
    open_accs: dict[int, DecayAccumulator] = {}
    first_open = 0
    for c in chunks:
        if len(c) == 0 or c.microtimes_ps is None:
            continue
        k = np.maximum(np.searchsorted(start_ps, c.times_ps, side="right") - 1, first_open)
        order = np.argsort(k, kind="stable")
        ks = k[order]
        cut = np.flatnonzero(np.diff(ks)) + 1
        for lo, hi in zip(np.r_[0, cut], np.r_[cut, ks.size], strict=True):
            idx = order[lo:hi]
            j = int(ks[lo])
            if j not in open_accs:
                open_accs[j] = DecayAccumulator(bin_ps, n_bins, channels)
            open_accs[j].add(PhotonChunk(c.times_ps[idx], c.channels[idx], c.microtimes_ps[idx],
                                         c.end_time_ps, int(idx.size)))
        first_open = int(ks[-1])
        for j in sorted(j for j in open_accs if j < first_open):
            yield j, open_accs.pop(j).hist
    for j in sorted(open_accs):
        yield j, open_accs.pop(j).hist
