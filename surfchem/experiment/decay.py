"""PL decay histogram, background floor, lifetime by IRF reconvolution (Poisson MLE), FLID.

Decay histogram: counts of photon microtimes (T3 ``dtime * resolution``; T2 ``t - t_last_sync``)
in bins of width ``w`` over one laser period ``P``.

Model (periodic excitation, mono-exponential decay, IRF):

    m_i = A * integral_{bin i} sum_{k>=-1} f(t + k P) dt + b,

with ``f`` the exponentially modified Gaussian density (IRF = Gaussian of centre ``t0`` and
width ``sigma``, decay time ``tau``):

    F(t) = Phi((t-t0)/sigma) - exp(sigma^2/(2 tau^2) - (t-t0)/tau) Phi((t-t0)/sigma - sigma/tau)

is its CDF, integrated exactly over each bin. With a measured IRF (a histogram on the same bins)
the model is ``A * (IRF shifted by s) (*) periodic exponential + b`` (circular convolution by
FFT, which is exact for periodic excitation). Parameters are found by minimising the Poisson
deviance ``2 sum [m - n + n log(n/m)]`` (maximum likelihood for counts; Bajzer et al., Eur.
Biophys. J. 20, 247 (1991); Maus et al., Anal. Chem. 73, 2078 (2001)), with uncertainties from
the inverse Hessian of the negative log-likelihood.

Background fraction (for the g2 correction): the flat floor per bin times the number of bins,
divided by the total counts. The floor is the mean of the bins ahead of the rise (more than
``5 sigma + 3 bins`` before the IRF centre ``t0``, or before the first bin at half maximum) together with the bins more than 10 lifetimes after the
peak (when the lifetime is known), if there are at least 20 such bins, else the fitted ``b``.

FLID: 2D histogram of (counts per trace bin, mean delay per bin - t0) (a first-moment lifetime
per bin; Galland et al., Nature 479, 203 (2011) use the same intensity-lifetime map). FDID: the
same with the decay rate ``1 / lifetime`` (Galland et al.'s fluorescence-decay-rate map, where
radiative scaling shows as a line through the origin). Both take optional weights (change-point
segments are weighted by their length in trace bins).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from surfchem.errors import ConvergenceError, InputError
from surfchem.experiment import _fastdecode
from surfchem.experiment.ptu import PhotonChunk, channel_selector, select_channels


class DecayAccumulator:
    """Streaming microtime histogram of the selected channels."""

    def __init__(self, bin_ps: float, n_bins: int, channels: tuple[int, ...] | None = None) -> None:
        if bin_ps <= 0 or n_bins < 1:
            raise InputError(f"decay histogram needs bin_ps > 0 and n_bins >= 1 ({bin_ps=}, {n_bins=})")
        # 16e-12 s * 1e12 = 16.000000000000004: snap to the integer grid (exact integer division)
        self.bin_ps = float(round(bin_ps)) if abs(bin_ps - round(bin_ps)) < 1e-6 else float(bin_ps)
        self.n_bins = int(n_bins)
        self.channels = None if channels is None else np.asarray(sorted(channels), dtype=np.int8)
        self._lut = channel_selector(self.channels)
        self.hist = np.zeros(self.n_bins, dtype=np.int64)
        self.n_without = 0

    def add(self, chunk: PhotonChunk) -> None:
        """Add the microtimes (ps) of one chunk to the decay histogram."""
        if len(chunk) == 0 or chunk.microtimes_ps is None:
            return
        if _fastdecode.loaded() and self.bin_ps == int(self.bin_ps):
            lut = self._lut if self._lut is not None else np.ones(256, bool)
            self.n_without += int(_fastdecode.decay_kernel()(
                chunk.microtimes_ps, chunk.channels, lut, self._lut is not None, int(self.bin_ps), self.hist))
            return
        m = chunk.microtimes_ps
        sel = select_channels(chunk.channels, self._lut)
        if sel is not None:
            m = m[sel]
        idx = (m // self.bin_ps).astype(np.int64) if self.bin_ps != int(self.bin_ps) else m // int(self.bin_ps)
        ok = (m >= 0) & (idx < self.n_bins)
        self.n_without += int((~ok).sum())
        self.hist += np.bincount(idx[ok], minlength=self.n_bins)[: self.n_bins]


def decay_histogram(microtimes_ps: np.ndarray, bin_ps: float, period_ps: float) -> np.ndarray:
    """Histogram of microtimes in ``[0, period)`` with bins of ``bin_ps``."""
    n = int(np.ceil(period_ps / bin_ps))
    acc = DecayAccumulator(bin_ps, n)
    m = np.asarray(microtimes_ps, np.int64)
    acc.add(PhotonChunk(m, np.zeros(m.size, np.int8), m, 0, m.size))
    return acc.hist


def _log_exgauss_sf_term(t: np.ndarray, t0: float, sigma: float, tau: float) -> np.ndarray:
    """exp(sigma^2/(2 tau^2) - (t-t0)/tau) * Phi((t-t0)/sigma - sigma/tau), evaluated stably."""
    z = (t - t0) / sigma - sigma / tau
    return np.exp(sigma * sigma / (2 * tau * tau) - (t - t0) / tau + special.log_ndtr(z))


def exgauss_cdf(t: np.ndarray, t0: float, sigma: float, tau: float) -> np.ndarray:
    """Cumulative distribution of a Gaussian IRF convolved with an exponential decay (ex-Gaussian).

    Parameters
    ----------
    t : numpy.ndarray
        Times (same unit as ``t0``, ``sigma``, ``tau``).
    t0 : float
        IRF centre.
    sigma : float
        IRF standard deviation.
    tau : float
        Lifetime.

    Returns
    -------
    numpy.ndarray
        P(T <= t), evaluated stably for sigma << tau.
    """
    return special.ndtr((t - t0) / sigma) - _log_exgauss_sf_term(t, t0, sigma, tau)


def periodic_decay_model(edges: np.ndarray, period: float, t0: float, sigma: float, tau: float) -> np.ndarray:
    """Probability per bin (bin edges in ps) of the periodic IRF (x) exponential, summed over pulses."""
    n_prev = int(np.ceil(12 * tau / period)) + 1
    p = np.zeros(edges.size - 1)
    for k in range(-1, n_prev + 1):
        c = exgauss_cdf(edges + k * period, t0, sigma, tau)
        p += np.diff(c)
    return p


@dataclass
class LifetimeFit:
    """Mono-exponential lifetime with Gaussian IRF reconvolution (Poisson maximum likelihood).

    Attributes
    ----------
    lifetime_ns, lifetime_err_ns : float
        Lifetime and its standard error, ns.
    t0_ns : float
        IRF position, ns.
    irf_sigma_ns : float
        IRF standard deviation, ns.
    amplitude_counts : float
        Decay counts.
    background_per_bin : float
        Flat background, counts per bin.
    reduced_deviance : float
        Poisson deviance per degree of freedom (about 1 for a good fit).
    n_counts : int
        Photons in the fitted histogram.
    """
    lifetime_ns: float
    lifetime_err_ns: float
    t0_ns: float
    irf_sigma_ns: float
    amplitude_counts: float
    background_per_bin: float
    reduced_deviance: float
    n_counts: int


def _initial(hist: np.ndarray, bin_ps: float) -> tuple[float, float, float, float]:
    n = hist.astype(float)
    ipk = int(np.argmax(n))
    floor = float(np.median(n[n <= np.percentile(n, 20)])) if n.size > 10 else 0.0
    t0 = (ipk + 0.5) * bin_ps
    after = n[ipk:] - floor
    after = np.clip(after, 0, None)
    tt = (np.arange(after.size) + 0.5) * bin_ps
    tau = float((after * tt).sum() / max(after.sum(), 1.0)) if after.sum() > 0 else 10 * bin_ps
    return t0, max(tau, 2 * bin_ps), floor, max(float(n.sum() - floor * n.size), 1.0)


def fit_lifetime(
    hist: np.ndarray,
    bin_ps: float,
    period_ps: float | None = None,
    *,
    irf: np.ndarray | None = None,
    fit_window_ps: tuple[float, float] | None = None,
) -> LifetimeFit:
    """Mono-exponential lifetime by IRF reconvolution, Poisson maximum likelihood (module docstring).

    Parameters
    ----------
    hist : numpy.ndarray
        Decay histogram (counts per bin of the delay after the sync).
    bin_ps : float
        Bin width, ps.
    period_ps : float, optional
        Laser period, ps (earlier pulses' tails are summed in; default: the histogram span).
    irf : numpy.ndarray, optional
        Measured IRF on the same bins (default: a fitted Gaussian).
    fit_window_ps : tuple of float, optional
        (start, end) of the fitted delays, ps.

    Returns
    -------
    LifetimeFit
        Lifetime and IRF parameters in ns.
    """
    n = np.asarray(hist, dtype=np.float64)
    if n.sum() < 50:
        raise InputError(f"lifetime fit needs at least 50 photons in the decay histogram, got {int(n.sum())}")
    nb = n.size
    period = float(period_ps) if period_ps else nb * bin_ps
    t0i, taui, bi, Ai = _initial(n, bin_ps)
    edges = np.arange(nb + 1) * bin_ps
    if irf is None:
        # merge bins away from the rise (exact: the model integrates its CDF over any bin)
        n, edges = _merge_bins(n, edges, t0i, bin_ps)
    widths = np.diff(edges)
    sel = np.ones(n.size, bool)
    if fit_window_ps is not None:
        sel = (edges[:-1] >= fit_window_ps[0]) & (edges[1:] <= fit_window_ps[1])
    irf_f = None
    if irf is not None:
        irf = np.asarray(irf, float)
        if irf.shape != n.shape or irf.sum() <= 0:
            raise InputError("measured IRF must be a non-empty histogram on the same bins as the decay")
        irf_f = np.fft.rfft(irf / irf.sum())
        freqs = np.fft.rfftfreq(nb, d=bin_ps)

    def model(theta: np.ndarray) -> np.ndarray:
        ltau, t0, lsig, lA, lb = theta
        tau = np.exp(ltau)
        if irf_f is None:
            p = periodic_decay_model(edges, period, t0, np.exp(lsig), tau)
        else:
            # periodic exponential per bin, circularly convolved with the shifted IRF
            a = np.exp(-edges / tau)
            e = (a[:-1] - a[1:]) / (1.0 - np.exp(-period / tau))
            p = np.fft.irfft(np.fft.rfft(e) * irf_f * np.exp(-2j * np.pi * freqs * t0), nb)
            p = np.clip(p, 0, None)
        return np.exp(lA) * p + np.exp(lb) * widths / bin_ps

    def nll(theta: np.ndarray) -> float:
        m = model(theta)[sel]
        if not np.all(np.isfinite(m)) or np.any(m <= 0):
            return 1e300
        return float(np.sum(m - n[sel] * np.log(m)))

    sig0 = np.log(max(2 * bin_ps, 30.0))
    t0_start = t0i - 1.5 * np.exp(sig0) if irf is None else 0.0
    theta0 = np.array([np.log(taui), t0_start, sig0, np.log(Ai), np.log(max(bi, 1e-3))])
    res = optimize.minimize(nll, theta0, method="Nelder-Mead",
                            options={"maxiter": 20000, "maxfev": 20000, "xatol": 1e-7, "fatol": 1e-9})
    res = optimize.minimize(nll, res.x, method="Nelder-Mead",
                            options={"maxiter": 20000, "maxfev": 20000, "xatol": 1e-8, "fatol": 1e-10})
    if not np.isfinite(res.fun) or res.fun >= 1e299:
        raise ConvergenceError("lifetime fit failed: the model never matched the histogram; check the period/bins")
    th = res.x
    H = _hessian(nll, th, np.array([1e-3, 1.0, 1e-2, 1e-3, 1e-2]))
    try:
        cov = np.linalg.inv(H)
        tau_err = float(np.exp(th[0]) * np.sqrt(max(cov[0, 0], 0.0)))
    except np.linalg.LinAlgError:
        tau_err = float("nan")
    m = model(th)[sel]
    ns = n[sel]
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = 2 * np.sum(m - ns + np.where(ns > 0, ns * np.log(ns / m), 0.0))
    dof = max(int(sel.sum()) - 5, 1)
    return LifetimeFit(
        lifetime_ns=float(np.exp(th[0]) / 1e3),
        lifetime_err_ns=tau_err / 1e3,
        t0_ns=float(th[1] / 1e3),
        irf_sigma_ns=float(np.exp(th[2]) / 1e3) if irf is None else float("nan"),
        amplitude_counts=float(np.exp(th[3])),
        background_per_bin=float(np.exp(th[4])),
        reduced_deviance=float(dev / dof),
        n_counts=int(n.sum()),
    )


@dataclass
class FixedIrfFit:
    """Lifetime of a short stretch of photons with the IRF and background held fixed (ns)."""

    lifetime_ns: float
    lifetime_err_ns: float
    n_counts: int


def fit_lifetime_fixed_irf(
    hist: np.ndarray,
    bin_ps: float,
    period_ps: float,
    *,
    t0_ps: float,
    sigma_ps: float,
    background_per_bin: float = 0.0,
    min_counts: int = 100,
) -> FixedIrfFit:
    """One-parameter Poisson maximum-likelihood lifetime with the IRF and background fixed.

    For change-point segments (or any stretch too short for the free 5-parameter
    :func:`fit_lifetime`): the IRF centre ``t0_ps`` and width ``sigma_ps`` come from the fit of
    the whole decay, the flat background (counts per native bin) from the whole-decay floor
    scaled to the stretch's duration. The amplitude is ``N - background`` (the Poisson MLE keeps
    the total), so only ``tau`` is fitted; bins away from the rise are merged as in
    :func:`fit_lifetime`. The error is from the curvature of the log-likelihood.

    Parameters
    ----------
    hist : ndarray
        Microtime histogram over one period (bins of ``bin_ps`` ps).
    period_ps : float
        Laser period (ps).
    min_counts : int
        Fewer counts raise :class:`InputError`.
    """
    n = np.asarray(hist, np.float64)
    total = float(n.sum())
    if total < min_counts:
        raise InputError(f"fixed-IRF lifetime fit needs at least {min_counts} counts, got {int(total)}")
    edges = np.arange(n.size + 1) * bin_ps
    n, edges = _merge_bins(n, edges, t0_ps, bin_ps)
    bg = background_per_bin * np.diff(edges) / bin_ps
    amp = max(total - float(bg.sum()), 1.0)

    def nll(ltau: float) -> float:
        m = amp * periodic_decay_model(edges, period_ps, t0_ps, sigma_ps, np.exp(ltau)) + bg
        m = np.maximum(m, 1e-300)
        return float(np.sum(m - n * np.log(m)))

    lo, hi = np.log(max(bin_ps, 1.0)), np.log(period_ps / 3)
    res = optimize.minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-5})
    h = 1e-3
    curv = (nll(res.x + h) - 2 * nll(res.x) + nll(res.x - h)) / h**2  # d2 NLL / d(ln tau)2
    tau = float(np.exp(res.x))
    err = tau / np.sqrt(curv) if curv > 0 else float("nan")
    return FixedIrfFit(tau / 1e3, err / 1e3, int(total))


def _merge_bins(n: np.ndarray, edges: np.ndarray, t_peak: float, bin_ps: float,
                growth: float = 0.02, fine_ps: float = 1500.0) -> tuple[np.ndarray, np.ndarray]:
    """Keep native bins within ``fine_ps`` of the peak, merge the rest into geometrically growing
    bins after it and ~50 equal bins before it (counts summed, edges kept exact)."""
    nb = n.size
    i_lo = max(int((t_peak - fine_ps) // bin_ps), 0)
    i_hi = min(int((t_peak + fine_ps) // bin_ps) + 1, nb)
    cut = [0]
    if i_lo > 0:
        step = max(i_lo // 50, 1)
        cut.extend(range(step, i_lo, step))
        cut.append(i_lo)
    cut.extend(range(i_lo + 1, i_hi + 1))
    w = 1.0
    i = i_hi
    while i < nb:
        w *= 1.0 + growth
        i = min(nb, i + max(1, int(w)))
        cut.append(i)
    cut = np.unique(np.asarray(cut, dtype=np.int64))
    csum = np.concatenate([[0.0], np.cumsum(n)])
    return np.diff(csum[cut]), edges[cut]


def _hessian(f, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    k = x.size
    H = np.zeros((k, k))
    f0 = f(x)
    for i in range(k):
        for j in range(i, k):
            ei = np.zeros(k)
            ej = np.zeros(k)
            ei[i] = h[i]
            ej[j] = h[j]
            if i == j:
                v = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
            else:
                v = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])
            H[i, j] = H[j, i] = v
    return H


def background_fraction(
    hist: np.ndarray, bin_ps: float, *, lifetime_ps: float | None = None, irf_sigma_ps: float = 100.0,
    fit_background_per_bin: float | None = None, t0_ps: float | None = None,
) -> float:
    """Background-to-total ratio from the flat floor of the decay histogram (module docstring).

    Parameters
    ----------
    hist : numpy.ndarray
        Decay histogram.
    bin_ps : float
        Bin width, ps.
    lifetime_ps : float, optional
        Fitted lifetime, ps (locates the floor before the rise).
    irf_sigma_ps : float, default 100.0
        IRF width, ps.
    fit_background_per_bin : float, optional
        A fitted flat background, counts per bin (used instead of the floor estimate).
    t0_ps : float, optional
        IRF position, ps.

    Returns
    -------
    float
        0..1.
    """
    n = np.asarray(hist, dtype=np.float64)
    tot = n.sum()
    if tot <= 0:
        return float("nan")
    if t0_ps is not None:
        irise = int(t0_ps // bin_ps)
    else:  # first bin reaching half of the (lightly smoothed) maximum
        sm = np.convolve(n, np.ones(5) / 5, mode="same")
        irise = int(np.flatnonzero(sm >= 0.5 * sm.max())[0])
    margin = int(np.ceil((5 * irf_sigma_ps) / bin_ps)) + 3
    floor_bins = np.zeros(n.size, bool)
    floor_bins[: max(irise - margin, 0)] = True
    if lifetime_ps is not None:
        floor_bins[irise + margin + int(np.ceil(10 * lifetime_ps / bin_ps)) :] = True
    if floor_bins.sum() >= 20:
        floor = n[floor_bins].mean()
    elif fit_background_per_bin is not None:
        floor = fit_background_per_bin
    else:
        return float("nan")
    return float(min(max(floor * n.size / tot, 0.0), 1.0))


@dataclass
class Flid:
    """Fluorescence-lifetime-intensity distribution.

    Attributes
    ----------
    intensity_edges : numpy.ndarray
        Bin edges, counts per time bin.
    lifetime_edges_ns : numpy.ndarray
        Bin edges, ns.
    hist : numpy.ndarray
        Shape (n_intensity, n_lifetime): occurrences.
    """
    intensity_edges: np.ndarray  # counts per bin
    lifetime_edges_ns: np.ndarray
    hist: np.ndarray  # shape (n_intensity, n_lifetime)


@dataclass
class Fdid:
    """Fluorescence-decay-rate-intensity distribution (Galland et al., Nature 479, 203 (2011)).

    Attributes
    ----------
    intensity_edges : numpy.ndarray
        Bin edges, counts per time bin.
    rate_edges_per_ns : numpy.ndarray
        Bin edges of the decay rate 1/lifetime, ns⁻¹.
    hist : numpy.ndarray
        Shape (n_intensity, n_rate): occurrences.
    """
    intensity_edges: np.ndarray  # counts per bin
    rate_edges_per_ns: np.ndarray  # decay rate 1 / lifetime
    hist: np.ndarray  # shape (n_intensity, n_rate)


def _hist2d(x: np.ndarray, y: np.ndarray, x_max: float, y_max: float, n_x: int, n_y: int,
            weights: np.ndarray | None = None) -> np.ndarray:
    """Flat ``n_x * n_y`` histogram of points on the grid ``[0, x_max) x [0, y_max)``.

    Direct bin indices + ``bincount``: no ``histogram2d`` temporaries; points outside are dropped.
    """
    i = np.floor(x / x_max * n_x).astype(np.int64)
    j = np.floor(y / y_max * n_y).astype(np.int64)
    keep = (i >= 0) & (i < n_x) & (j >= 0) & (j < n_y)
    w = None if weights is None else np.asarray(weights, np.float64)[keep]
    return np.bincount(i[keep] * n_y + j[keep], weights=w, minlength=n_x * n_y).astype(np.float64)


def _axis_max(values: np.ndarray, given: float | None) -> float:
    """Upper edge of an axis: ``given``, else 1.5 x the 99.5th percentile of (a sample of) values."""
    if given is not None:
        return float(given)
    sample = values[:: max(1, values.size // 200_000)]
    return max(float(np.percentile(sample, 99.5)) * 1.5, 1e-3)


def flid(counts: np.ndarray, mean_delay_ps: np.ndarray, t0_ps: float, *, n_int: int = 50,
         n_life: int = 50, life_max_ns: float | None = None, weights: np.ndarray | None = None,
         block: int = 1 << 20) -> Flid:
    """Fluorescence-lifetime-intensity distribution from counts and mean delays.

    Parameters
    ----------
    counts : ndarray
        Counts per trace bin (or a segment's rate times the bin width).
    mean_delay_ps : ndarray
        Mean photon delay after the pulse (ps) of each bin; NaN = no photons.
    t0_ps : float
        IRF position (ps): the first-moment lifetime is ``mean_delay - t0``.
    weights : ndarray, optional
        Weight of each entry (default 1 per bin; change-point segments use their length in bins).

    Notes
    -----
    Built block-wise so a 12 h trace (4e6 bins) needs no full-size temporaries.
    """
    counts = np.asarray(counts)
    md = np.asarray(mean_delay_ps)
    valid = np.isfinite(md) & (counts > 0)
    if not valid.any():
        return Flid(np.zeros(0), np.zeros(0), np.zeros((0, 0)))
    cmax = float(counts[valid].max())
    lmax = _axis_max((md[valid] - t0_ps) / 1e3, life_max_ns)
    H = np.zeros(n_int * n_life)
    for a in range(0, counts.size, block):
        v = valid[a : a + block]
        w = None if weights is None else np.asarray(weights)[a : a + block][v]
        H += _hist2d(counts[a : a + block][v].astype(np.float64), (md[a : a + block][v] - t0_ps) / 1e3,
                     cmax + 1, lmax, n_int, n_life, w)
    return Flid(np.linspace(0, cmax + 1, n_int + 1), np.linspace(0, lmax, n_life + 1),
                H.reshape(n_int, n_life))


def fdid(counts: np.ndarray, lifetime_ns: np.ndarray, *, n_int: int = 50, n_rate: int = 50,
         rate_max_per_ns: float | None = None, weights: np.ndarray | None = None) -> Fdid:
    """Fluorescence-decay-rate-intensity distribution (Galland et al., Nature 479, 203 (2011)).

    Parameters
    ----------
    counts : ndarray
        Intensity of each entry (counts per trace bin).
    lifetime_ns : ndarray
        Lifetime of each entry (ns); entries with non-positive or NaN lifetimes are dropped.
    weights : ndarray, optional
        Weight of each entry (default 1).
    """
    counts = np.asarray(counts, np.float64)
    life = np.asarray(lifetime_ns, np.float64)
    valid = np.isfinite(life) & (life > 0) & (counts > 0)
    if not valid.any():
        return Fdid(np.zeros(0), np.zeros(0), np.zeros((0, 0)))
    rate = 1.0 / life[valid]
    cmax = float(counts[valid].max())
    rmax = _axis_max(rate, rate_max_per_ns)
    w = None if weights is None else np.asarray(weights)[valid]
    H = _hist2d(counts[valid], rate, cmax + 1, rmax, n_int, n_rate, w)
    return Fdid(np.linspace(0, cmax + 1, n_int + 1), np.linspace(0, rmax, n_rate + 1),
                H.reshape(n_int, n_rate))
