"""Rank agreement between computed descriptors and measured ON fractions, and candidate ranking.

Spearman's rho is :func:`scipy.stats.spearmanr`. With the handful of ligands a screen can afford
its p-value from the t approximation is meaningless, so we also give the exact permutation
p-value (all n! orderings, two-sided, n <= 8) and a plain-language caveat. With n points rho takes
only a few values (n = 3: -1, -0.5, 0.5, 1) and a perfect rho = +-1 happens by chance with
probability 2/n! (1/3 for n = 3).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from surfchem.errors import InputError
from surfchem.link.descriptors import DESCRIPTORS

#: expected sign of rho under the paper's claim (lower gamma at full coverage -> higher ON)
EXPECTED_SIGN = {"gamma_N8_J_m2": -1, "gamma_min_J_m2": -1, "gamma_nmax_J_m2": -1,
                 "dG_N8_eV": -1, "dG_mean_gt4_eV": -1, "lateral_eV": -1, "TS_conf_eV": -1,
                 "TS_conf_rotor_eV": -1, "tail_heavy_atoms": -1, "rotors": -1,
                 "n_gamma_min": +1, "stacking_energy_eV": -1}


#: which way a measured quantity is better: +1 higher (ON fraction, k_ON), -1 lower
GOOD_DIRECTION = {"on_fraction": 1, "k_on": 1, "mandel_q": -1, "k_off": -1, "g2_0": -1}


@dataclass
class Correlation:
    """Spearman correlation of one descriptor with a measured column.

    Attributes
    ----------
    descriptor, target : str
    n : int
        Measured ligands with both values.
    rho : float
        Spearman rho (NaN below 3 points).
    p_scipy : float
        scipy's p.
    p_exact : float or None
        Exact permutation p (:func:`exact_spearman_p`).
    ligands : list of str
    expected_sign : int or None
        Sign expected if the descriptor explains the target.
    caveat : str
        The small-sample statement.
    """
    descriptor: str
    target: str
    n: int
    rho: float
    p_scipy: float
    p_exact: float | None
    ligands: list[str]
    expected_sign: int | None
    caveat: str

    def as_dict(self) -> dict:
        """The fields as a plain dict.

        Returns
        -------
        dict
        """
        return asdict(self)


def exact_spearman_p(x, y, max_n: int = 8) -> float | None:
    """Two-sided exact permutation p of Spearman's rho.

    The share of the n! orderings of ``y`` with |rho| >= |rho_obs|; ties by average ranks (as
    scipy). With three points even a perfect rank agreement has p = 1/3.

    Parameters
    ----------
    x, y : array_like
        Paired values.
    max_n : int, default 8
        Largest n enumerated (8! = 40320 orderings).

    Returns
    -------
    float or None
        None when n > ``max_n`` or rho is undefined.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    if n < 2 or n > max_n:
        return None
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return None
    obs = abs(np.corrcoef(rx, ry)[0, 1])
    count = total = 0
    for perm in itertools.permutations(ry):
        r = abs(np.corrcoef(rx, perm)[0, 1])
        count += r >= obs - 1e-12
        total += 1
    return count / total


def caveat_text(n: int, rho: float, p_exact: float | None) -> str:
    """The plain statement printed next to every rho.

    Parameters
    ----------
    n : int
        Ligands with both a measurement and the descriptor.
    rho : float
        Spearman's rank correlation (NaN when not computable).
    p_exact : float or None
        Exact permutation p-value of abs(rho).

    Returns
    -------
    str
    """
    if n < 3:
        return (f"only {n} ligand(s) with both a measurement and this descriptor: no rank "
                "correlation can be computed; this says nothing about the trend")
    chance = 2 / math.factorial(n)
    s = (f"rho from only n = {n} ligands. With {n} points rho can take few values and a perfect "
         f"rank agreement (|rho| = 1) happens by chance with probability {chance:.2g}")
    if p_exact is not None and np.isfinite(rho):
        s += f"; the exact permutation p for |rho| >= {abs(rho):.2f} is {p_exact:.2g}"
    s += (". Treat it as a consistency check with the measurements, not as evidence that the "
          "descriptor predicts blinking.")
    return s


def spearman(x, y) -> tuple[float, float]:
    """scipy's Spearman rho and its p.

    Parameters
    ----------
    x, y : array_like
        Paired values.

    Returns
    -------
    rho : float
        NaN with fewer than 3 points or a constant column.
    p : float
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan
    r = stats.spearmanr(x, y)
    return float(r.statistic), float(r.pvalue)


def correlations(joined: pd.DataFrame, target: str = "on_fraction",
                 descriptors: list[str] | None = None) -> pd.DataFrame:
    """Spearman rho of ``target`` against each descriptor over the measured ligands having both.

    Parameters
    ----------
    joined : pandas.DataFrame
        ``JoinResult.table``.
    target : str, default "on_fraction"
        Measured column.
    descriptors : list of str, optional
        Descriptor columns (default: every column of :data:`DESCRIPTORS` present).

    Returns
    -------
    pandas.DataFrame
        One row per descriptor: ``descriptor``, ``target``, ``n``, ``rho``, ``p_scipy``,
        ``p_exact``, ``ligands``, ``expected_sign``, ``caveat``.

    Raises
    ------
    surfchem.errors.InputError
        ``target`` or a descriptor not in ``joined``.
    """
    if target not in joined.columns:
        raise InputError(f"joined table has no {target!r} column; measured columns are "
                         f"{[c for c in ('on_fraction', 'mandel_q', 'k_on', 'k_off', 'g2_0') if c in joined]}")
    cols = descriptors or [c for c in DESCRIPTORS if c in joined.columns]
    meas = joined[joined["measured"]] if "measured" in joined else joined
    out = []
    for c in cols:
        if c not in joined.columns:
            raise InputError(f"descriptor {c!r} not in the joined table; choose from "
                             f"{[d for d in DESCRIPTORS if d in joined.columns]}")
        sub = meas[[c, target, "ligand"]].dropna()
        sub = sub[np.isfinite(sub[c].astype(float)) & np.isfinite(sub[target].astype(float))]
        rho, p = spearman(sub[c], sub[target])
        pex = exact_spearman_p(sub[c], sub[target]) if np.isfinite(rho) else None
        out.append(Correlation(c, target, len(sub), rho, p, pex, list(sub["ligand"]),
                               EXPECTED_SIGN.get(c), caveat_text(len(sub), rho, pex)).as_dict())
    return pd.DataFrame(out)


def best_descriptor(corr: pd.DataFrame) -> str | None:
    """Descriptor with the largest |rho| (ties: more points, then the order of DESCRIPTORS).

    Parameters
    ----------
    corr : pandas.DataFrame
        Output of :func:`correlations`.

    Returns
    -------
    str or None
        None when no descriptor has a finite rho (fewer than 3 measured ligands).
    """
    ok = corr[np.isfinite(corr["rho"].astype(float))].copy()
    if ok.empty:
        return None
    order = {d: i for i, d in enumerate(DESCRIPTORS)}
    ok["_abs"] = ok["rho"].abs().round(12)
    ok["_ord"] = ok["descriptor"].map(order).fillna(len(order))
    ok = ok.sort_values(["_abs", "n", "_ord"], ascending=[False, False, True])
    return str(ok["descriptor"].iloc[0])


def rank_candidates(joined: pd.DataFrame, corr: pd.DataFrame, descriptor: str | None = None,
                    target: str = "on_fraction") -> tuple[pd.DataFrame, str]:
    """Untested ligands ordered from most to least promising by ``descriptor``.

    The direction follows the sign of rho on the measured ligands and whether a high target is
    good (:data:`GOOD_DIRECTION`): for the ON fraction with rho < 0 a lower descriptor ranks first;
    for Mandel Q with rho < 0 a higher one does. Each candidate is placed between the measured
    ligands whose descriptor brackets it.

    Parameters
    ----------
    joined : pandas.DataFrame
        ``JoinResult.table``.
    corr : pandas.DataFrame
        Output of :func:`correlations`.
    descriptor : str, optional
        Ranking descriptor (default :func:`best_descriptor`).
    target : str, default "on_fraction"
        Measured column.

    Returns
    -------
    table : pandas.DataFrame
        Candidates in rank order.
    statement : str
        The ranking in words, with how few points it rests on.
    """
    descriptor = descriptor or best_descriptor(corr)
    cand = joined[~joined["measured"]] if "measured" in joined else joined.iloc[0:0]
    if descriptor is None:
        n = int(corr["n"].max()) if len(corr) else 0
        return (cand.assign(rank=np.nan)[["ligand"] + (["rank"])],
                f"no ranking: only {n} measured ligand(s) share a descriptor with the results; "
                "a rank correlation needs at least 3")
    row = corr[corr["descriptor"] == descriptor]
    if row.empty:
        raise InputError(f"descriptor {descriptor!r} has no correlation row; choose from {list(corr['descriptor'])}")
    row = row.iloc[0]
    rho, n = float(row["rho"]), int(row["n"])
    if not np.isfinite(rho) or rho == 0:
        return (cand.assign(rank=np.nan)[["ligand", "rank"]],
                f"no ranking by {descriptor}: rho is undefined or 0 on n = {n} measured ligands")
    # a higher score = a better predicted target (more ON time; less Q, k_OFF, g2(0))
    sign = (-1 if rho < 0 else 1) * GOOD_DIRECTION.get(target, 1)
    meas = joined[joined["measured"]][["ligand", descriptor, target]].dropna()
    c = cand[["ligand", descriptor]].copy()
    c = c[np.isfinite(c[descriptor].astype(float))]
    c["score"] = sign * c[descriptor].astype(float)
    c = c.sort_values("score", ascending=False).reset_index(drop=True)
    c["rank"] = np.arange(1, len(c) + 1)

    def fv(x: float) -> str:
        return f"{x:.0%}" if target == "on_fraction" else f"{x:.3g}"

    def bracket(v: float) -> str:
        same = meas[np.isclose(meas[descriptor].astype(float), v)]
        if len(same):
            return "same value as " + ", ".join(f"{r['ligand']} (measured {fv(r[target])})" for _, r in same.iterrows())
        below = meas[sign * meas[descriptor] < sign * v].sort_values(descriptor, key=lambda s: sign * s)
        above = meas[sign * meas[descriptor] >= sign * v].sort_values(descriptor, key=lambda s: sign * s)
        lo = f"{below['ligand'].iloc[-1]} (measured {fv(below[target].iloc[-1])})" if len(below) else None
        hi = f"{above['ligand'].iloc[0]} (measured {fv(above[target].iloc[0])})" if len(above) else None
        if lo and hi:
            return f"between {lo} and {hi}"  # in descriptor order
        if lo:
            return f"beyond every measured ligand on the favourable side (nearest: {lo})"
        return f"beyond every measured ligand on the unfavourable side (nearest: {hi})"

    c["descriptor_vs_measured"] = [bracket(v) for v in c[descriptor].astype(float)]
    c = c[["rank", "ligand", descriptor, "descriptor_vs_measured"]]
    direction = "lower" if sign < 0 else "higher"
    good = "higher" if GOOD_DIRECTION.get(target, 1) > 0 else "lower"
    text = (f"Untested candidates ranked by {descriptor} ({direction} is better, because on the "
            f"measured ligands rho({descriptor}, {target}) = {rho:+.2f} and a {good} {target} is "
            f"better). This ranking rests on only n = {n} measured "
            f"ligands ({', '.join(row['ligands'])}); {row['caveat']}")
    return c, text


def claim_statement(corr: pd.DataFrame) -> str:
    """The paper's claim (science brief, section 4) checked on these data, in one sentence.

    Parameters
    ----------
    corr : pandas.DataFrame
        The correlation table (``descriptor``, ``target``, ``rho``, ``n``, ``p_exact``).

    Returns
    -------
    str
    """
    claim = ("The paper's claim: a lower surface free energy at full coverage goes with a higher ON "
             "fraction, i.e. rho(gamma_N8_J_m2, on_fraction) < 0.")
    row = corr[(corr["descriptor"] == "gamma_N8_J_m2") & (corr["target"] == "on_fraction")]
    if row.empty:
        return claim + " Not testable here: gamma at N = 8 was not computed for the measured ligands."
    r = row.iloc[0]
    if not np.isfinite(r["rho"]):
        return claim + f" Not testable here: only {int(r['n'])} measured ligand(s) have gamma(N=8)."
    verdict = "consistent with" if r["rho"] < 0 else "not consistent with"
    pex = f", exact p = {r['p_exact']:.2g}" if r["p_exact"] is not None and np.isfinite(r["p_exact"]) else ""
    return (claim + f" Here rho = {r['rho']:+.2f} over n = {int(r['n'])} ligands "
            f"({', '.join(r['ligands'])}{pex}): {verdict} the claim, with the small-sample caveat above.")
