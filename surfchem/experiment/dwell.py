"""ON/OFF dwell times from a thresholded trace and power-law exponents by maximum likelihood.

Dwell times are run lengths of consecutive ON (or OFF) bins times the bin width. The first and
last runs are censored by the start/end of the measurement and are dropped.

Power law ``P(t) ~ t^-k`` for ``t >= t_min``: because dwell times are whole numbers of bins
``x = t / w``, we fit the *discrete* power law of Clauset, Shalizi & Newman, SIAM Review 51,
661 (2009) (CSN), eq. (2.7)/(3.5):

    p(x) = x^-k / zeta(k, x_min),   log L(k) = -n log zeta(k, x_min) - k sum_i log x_i,

maximised numerically (``zeta`` = Hurwitz zeta). Standard error ``sigma_k = (k - 1)/sqrt(n)``
(CSN eq. 3.2, asymptotic). ``x_min`` is either given or chosen to minimise the Kolmogorov-Smirnov
distance between the empirical and fitted tail CDFs (CSN section 3.3), among candidates with at
least ``min_tail`` events. With a fixed ``t_min`` choose it at least one bin above the shortest
physical dwell: a thresholded trace resolves dwell times only to about +-1/2 bin, so the lowest
occupied bin is partly empty and biases ``k`` low (measured: -0.13 for k = 2.2 at t_min = 5
bins, < 0.05 at 6 bins). Comparisons (CSN section 5) against an exponential and a truncated
power law use the ``powerlaw`` package (Alstott et al., PLoS ONE 9, e85777 (2014)) log-likelihood
ratio ``R`` (> 0 favours the power law) and its p-value, on the continuous approximation of the
binned durations (x_min - 1/2; the package's discrete truncated fit needs mpmath and is ~100x
slower).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

from surfchem.errors import InputError


def run_lengths(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lengths and states of consecutive runs of a boolean array."""
    mask = np.asarray(mask, dtype=bool)
    if mask.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    change = np.flatnonzero(np.diff(mask.astype(np.int8))) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [mask.size]])
    return (ends - starts).astype(np.int64), mask[starts]


def dwell_times(on: np.ndarray, bin_s: float, *, drop_censored: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """ON and OFF dwell times from an ON mask of the binned trace.

    Parameters
    ----------
    on : numpy.ndarray
        bool per bin (counts >= threshold).
    bin_s : float
        Bin width, s.
    drop_censored : bool, default True
        Drop the first and last runs (cut by the start and end of the measurement).

    Returns
    -------
    on_s : numpy.ndarray
        ON dwell times, s.
    off_s : numpy.ndarray
        OFF dwell times, s.
    """
    lengths, states = run_lengths(on)
    if drop_censored and lengths.size >= 2:
        lengths, states = lengths[1:-1], states[1:-1]
    elif drop_censored:
        lengths, states = lengths[:0], states[:0]
    return lengths[states] * bin_s, lengths[~states] * bin_s


@dataclass
class PowerLawFit:
    """Power-law fit P(t) ~ t^-k of dwell times (discrete maximum likelihood, Clauset, Shalizi & Newman 2009).

    Attributes
    ----------
    k : float
        Exponent.
    k_err : float
        Its standard error.
    t_min_s : float
        Lower cut of the fitted tail, s (Kolmogorov-Smirnov choice unless given).
    n_tail : int
        Dwell times >= ``t_min_s``.
    n_total : int
        All dwell times.
    ks_distance : float
        Kolmogorov-Smirnov distance of the fit.
    comparisons : dict
        Likelihood-ratio comparisons with exponential and truncated power-law models.
    """
    k: float
    k_err: float
    t_min_s: float
    n_tail: int
    n_total: int
    ks_distance: float
    comparisons: dict = field(default_factory=dict)


def _discrete_mle(x: np.ndarray, xmin: int) -> float:
    lx = np.log(x).sum()
    n = x.size

    def nll(k: float) -> float:
        return n * np.log(special.zeta(k, xmin)) + k * lx

    # CSN eq. 3.7 approximation as the starting bracket
    k0 = 1.0 + n / np.sum(np.log(x / (xmin - 0.5)))
    res = optimize.minimize_scalar(nll, bounds=(1.0001, max(6.0, 2 * k0)), method="bounded",
                                   options={"xatol": 1e-6})
    return float(res.x)


def _ks(x: np.ndarray, xmin: int, k: float) -> float:
    xs = np.sort(x)
    n = xs.size
    uniq, idx_last = np.unique(xs, return_index=False, return_counts=True)
    emp = np.cumsum(idx_last) / n  # empirical CDF at each unique value
    model = 1.0 - special.zeta(k, uniq + 1) / special.zeta(k, xmin)
    return float(np.max(np.abs(emp - model)))


def fit_power_law(
    durations_s: np.ndarray,
    unit_s: float,
    *,
    t_min_s: float | None = None,
    min_tail: int = 50,
    max_candidates: int = 40,
    compare: bool = True,
) -> PowerLawFit:
    """Discrete power-law maximum-likelihood fit P(t) ~ t^-k of dwell times (module docstring).

    Clauset, Shalizi & Newman, SIAM Rev. 51, 661 (2009): t_min by the Kolmogorov-Smirnov criterion
    unless given; optional likelihood-ratio comparison with exponential and truncated power laws.

    Parameters
    ----------
    durations_s : numpy.ndarray
        Dwell times, s.
    unit_s : float
        Time resolution (bin width), s.
    t_min_s : float, optional
        Fixed lower cut-off, s.
    min_tail : int, default 50
        Fewest events at or above t_min.
    max_candidates : int, default 40
        t_min candidates tried.
    compare : bool, default True
        Run the model comparisons.

    Returns
    -------
    PowerLawFit
        Exponent k with its error, t_min (s), KS distance.

    Raises
    ------
    surfchem.errors.InputError
        Fewer than ``min_tail`` events.
    """
    d = np.asarray(durations_s, dtype=np.float64)
    x = np.rint(d / unit_s).astype(np.int64)
    x = x[x >= 1]
    if x.size < min_tail:
        raise InputError(
            f"power-law fit needs at least {min_tail} dwell events, got {x.size}; "
            "use a longer measurement or a shorter bin"
        )
    if t_min_s is not None:
        cands = [max(1, int(round(t_min_s / unit_s)))]
    else:
        u = np.unique(x)
        counts_ge = x.size - np.searchsorted(np.sort(x), u)
        u = u[counts_ge >= min_tail]
        if u.size > max_candidates:
            u = np.unique(np.rint(np.geomspace(u[0], u[-1], max_candidates)).astype(np.int64))
        cands = u.tolist()
    best = None
    for xmin in cands:
        tail = x[x >= xmin]
        if tail.size < min_tail and t_min_s is None:
            continue
        if tail.size < 2:
            raise InputError(f"no dwell events above t_min = {xmin * unit_s} s")
        k = _discrete_mle(tail, xmin)
        D = _ks(tail, xmin, k)
        if best is None or D < best[0]:
            best = (D, xmin, k, tail.size)
    if best is None:
        raise InputError("power-law fit: no valid t_min candidate")
    D, xmin, k, n = best
    fit = PowerLawFit(float(k), float((k - 1) / np.sqrt(n)), xmin * unit_s, int(n), int(x.size), D)
    if compare:
        fit.comparisons = compare_distributions(x, xmin)
    return fit


def compare_distributions(x: np.ndarray, xmin: int) -> dict:
    """Log-likelihood ratio tests (powerlaw package): power law vs exponential / truncated PL."""
    try:
        import warnings

        import powerlaw
    except ImportError:  # pragma: no cover - powerlaw is a dependency
        return {}
    out = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            # continuous approximation (x in bins, x_min shifted by 1/2 as in CSN eq. 3.7): the
            # package's discrete truncated power law goes through mpmath (~5 s per fit)
            f = powerlaw.Fit(np.asarray(x, dtype=float), xmin=float(xmin) - 0.5, discrete=False,
                             verbose=False)
            for other in ("exponential", "truncated_power_law"):
                R, p = f.distribution_compare("power_law", other, normalized_ratio=True)
                out[other] = {"loglik_ratio": float(R), "p_value": float(p)}
            out["truncated_power_law"]["cutoff_lambda_per_unit"] = float(f.truncated_power_law.Lambda)
        except Exception as exc:  # noqa: BLE001 - report, don't crash the analysis
            out["error"] = f"{type(exc).__name__}: {exc}"
    return out
