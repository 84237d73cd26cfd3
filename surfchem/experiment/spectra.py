"""Single-dot PL spectra: split (two-sided) Voigt fit and size from the PL peak energy.

Line shape (paper, Fig. 6c/d: "two Voigt functions with a common peak position"): the low-energy
side ``E < E0`` follows Voigt profile 1 and the high-energy side ``E >= E0`` Voigt profile 2, both
scaled to the same peak height ``A`` at the shared position ``E0``:

    I(E) = A V(E - E0; sigma_lo, gamma_lo) / V(0; sigma_lo, gamma_lo) + c     (E < E0)
    I(E) = A V(E - E0; sigma_hi, gamma_hi) / V(0; sigma_hi, gamma_hi) + c     (E >= E0)

(``V`` = ``scipy.special.voigt_profile``: Gaussian std ``sigma`` convolved with a Lorentzian of
half width ``gamma``). A symmetric *sum* of two Voigts sharing ``E0`` cannot describe the
asymmetric spectra the paper shows, so we read "HWHM of the low- and high-energy sides" as the
half widths of this piecewise profile. Reported HWHMs are exact (root of ``V(x) = V(0)/2``).

Sizing curve (edge length ``L`` from the PL peak energy), default: weak-confinement effective-mass
form ``E(L) = E_bulk + C / L^2`` with ``C = 3 hbar^2 pi^2 / (2 M)`` (exciton centre-of-mass
quantisation in a cube with infinite walls; Efros & Rosen, Annu. Rev. Mater. Sci. 30, 475
(2000)), ``M = m_e + m_h = 0.29 m0`` (CsPbBr3 masses 0.15 and 0.14 m0 from Protesescu et al.,
Nano Lett. 15, 3692 (2015)) so ``C = 3.89 eV nm^2``, and ``E_bulk = 2.36 eV`` (room-temperature
PL of weakly confined CsPbBr3 nanocrystals, ~525 nm). NOTE: the paper sizes its dots with the
empirical sizing curves of its ref. 6 (Akkerman et al., Science 377, 1406 (2022)); their
coefficients were not available to us, so this default is a physically motivated stand-in, not
the paper's curve. Use :meth:`SizingCurve.fit` with published (E, L) calibration points to
reproduce a specific empirical curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from surfchem.errors import ConvergenceError, InputError

HC_EV_NM = 1239.841984  # h c in eV nm


def voigt_hwhm(sigma: float, gamma: float) -> float:
    """Exact half width at half maximum of a Voigt profile (same units as sigma, gamma)."""
    if sigma <= 0 and gamma <= 0:
        return 0.0
    v0 = special.voigt_profile(0.0, sigma, gamma)
    f = lambda x: special.voigt_profile(x, sigma, gamma) - 0.5 * v0  # noqa: E731
    hi = 2.0 * (1.2 * sigma + gamma) + 1e-12
    while f(hi) > 0:
        hi *= 2
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-12 * hi))


def split_voigt(E: np.ndarray, E0: float, A: float, s_lo: float, g_lo: float, s_hi: float, g_hi: float,
                c: float = 0.0) -> np.ndarray:
    """Split Voigt line: different Voigt widths below and above the peak, each normalised to 1 at E0.

    Parameters
    ----------
    E : numpy.ndarray
        Photon energies, eV.
    E0 : float
        Peak energy, eV.
    A : float
        Peak height (counts).
    s_lo, g_lo : float
        Gaussian sigma and Lorentzian gamma of the low-energy side, eV.
    s_hi, g_hi : float
        The same for the high-energy side, eV.
    c : float, default 0.0
        Constant offset (counts).

    Returns
    -------
    numpy.ndarray
        Counts at ``E``.
    """
    E = np.asarray(E, float)
    x = E - E0
    lo = special.voigt_profile(x, s_lo, g_lo) / special.voigt_profile(0.0, s_lo, g_lo)
    hi = special.voigt_profile(x, s_hi, g_hi) / special.voigt_profile(0.0, s_hi, g_hi)
    return A * np.where(x < 0, lo, hi) + c


@dataclass
class SpectrumFit:
    """Split-Voigt fit of a single-dot PL spectrum.

    Attributes
    ----------
    peak_eV, peak_nm : float
        Peak position, eV and nm.
    hwhm_low_meV, hwhm_high_meV : float
        Exact half widths at half maximum below and above the peak, meV.
    amplitude : float
        Peak height (counts).
    offset : float
        Constant background (counts).
    sigma_low_meV, gamma_low_meV, sigma_high_meV, gamma_high_meV : float
        Gaussian and Lorentzian widths of the two sides, meV.
    size_nm : float or None
        Edge length from the sizing curve, nm (with a :class:`SizingCurve`).
    """
    peak_eV: float
    peak_nm: float
    hwhm_low_meV: float
    hwhm_high_meV: float
    amplitude: float
    offset: float
    sigma_low_meV: float
    gamma_low_meV: float
    sigma_high_meV: float
    gamma_high_meV: float
    size_nm: float | None = None


def fit_spectrum(energy_eV: np.ndarray, intensity: np.ndarray, *, sizing: SizingCurve | None = None) -> SpectrumFit:
    """Fit the split-Voigt profile (module docstring) to a PL spectrum on an energy axis (eV).

    Use :func:`wavelength_to_energy` first for spectra on a wavelength axis (it applies the
    Jacobian ``I(E) = I(lambda) lambda^2 / (h c)``).
    """
    E = np.asarray(energy_eV, float)
    y = np.asarray(intensity, float)
    if E.shape != y.shape or E.size < 10:
        raise InputError("spectrum needs matching energy and intensity arrays with >= 10 points")
    o = np.argsort(E)
    E, y = E[o], y[o]
    c0 = float(np.percentile(y, 5))
    i0 = int(np.argmax(y))
    A0 = float(y[i0] - c0)
    half = y - c0 >= A0 / 2
    idx = np.flatnonzero(half)
    w_lo = max(E[i0] - E[idx[0]], 1e-3)
    w_hi = max(E[idx[-1]] - E[i0], 1e-3)
    p0 = [E[i0], A0, w_lo / 2, w_lo / 2, w_hi / 2, w_hi / 2, c0]
    span = E[-1] - E[0]
    lb = [E[0], 0, 1e-6, 1e-6, 1e-6, 1e-6, -np.inf]
    ub = [E[-1], np.inf, span, span, span, span, np.inf]
    try:
        p, _ = optimize.curve_fit(split_voigt, E, y, p0=p0, bounds=(lb, ub), maxfev=20000)
    except RuntimeError as exc:
        raise ConvergenceError(f"split-Voigt spectrum fit did not converge: {exc}") from exc
    E0, A, sl, gl, sh, gh, c = (float(v) for v in p)
    fit = SpectrumFit(
        peak_eV=E0, peak_nm=HC_EV_NM / E0,
        hwhm_low_meV=1e3 * voigt_hwhm(sl, gl), hwhm_high_meV=1e3 * voigt_hwhm(sh, gh),
        amplitude=A, offset=c, sigma_low_meV=1e3 * sl, gamma_low_meV=1e3 * gl,
        sigma_high_meV=1e3 * sh, gamma_high_meV=1e3 * gh,
    )
    if sizing is not None:
        fit.size_nm = sizing.size_nm(E0)
    return fit


def wavelength_to_energy(wavelength_nm: np.ndarray, intensity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert a spectrum from wavelength (nm) to energy (eV) with the Jacobian lambda^2/(hc)."""
    lam = np.asarray(wavelength_nm, float)
    if np.any(lam <= 0):
        raise InputError("wavelengths must be > 0 nm")
    E = HC_EV_NM / lam
    return E, np.asarray(intensity, float) * lam**2 / HC_EV_NM


@dataclass
class SizingCurve:
    """``E_peak(L) = e_bulk_eV + c_eV_nm2 / L^2``; inverted for the edge length L (nm)."""

    e_bulk_eV: float = 2.36
    c_eV_nm2: float = 3.89
    source: str = "weak-confinement EMA, Efros & Rosen 2000 with Protesescu 2015 masses (not the paper's curve)"

    def energy_eV(self, size_nm: float | np.ndarray) -> np.ndarray:
        """PL peak energy of a dot of edge length ``size_nm``: E = E_bulk + C / L², eV.

        Parameters
        ----------
        size_nm : float or numpy.ndarray
            Edge length L, nm (> 0).

        Returns
        -------
        numpy.ndarray
            Energy, eV.

        Raises
        ------
        surfchem.errors.InputError
            A non-positive size.
        """
        L = np.asarray(size_nm, float)
        if np.any(L <= 0):
            raise InputError("size must be > 0 nm")
        return self.e_bulk_eV + self.c_eV_nm2 / L**2

    def size_nm(self, peak_eV: float) -> float:
        """Edge length of a dot from its PL peak, L = sqrt(C / (E - E_bulk)), nm.

        Parameters
        ----------
        peak_eV : float
            PL peak, eV.

        Returns
        -------
        float
            nm.

        Raises
        ------
        surfchem.errors.InputError
            A peak at or below the bulk limit (not quantum confined).
        """
        d = float(peak_eV) - self.e_bulk_eV
        if d <= 0:
            raise InputError(
                f"PL peak {peak_eV:.4f} eV is at or below the bulk limit {self.e_bulk_eV} eV of the "
                "sizing curve: the dot is not quantum confined (size undefined)"
            )
        return float(np.sqrt(self.c_eV_nm2 / d))

    @classmethod
    def fit(cls, peaks_eV: np.ndarray, sizes_nm: np.ndarray, source: str) -> SizingCurve:
        """Least-squares fit of the same functional form to calibration points (cite ``source``)."""
        E = np.asarray(peaks_eV, float)
        L = np.asarray(sizes_nm, float)
        if E.size < 2 or E.shape != L.shape:
            raise InputError("sizing-curve fit needs >= 2 matching (energy, size) points")
        X = np.column_stack([np.ones_like(L), 1.0 / L**2])
        (eb, c), *_ = np.linalg.lstsq(X, E, rcond=None)
        return cls(float(eb), float(c), source)


CSPBBR3_SIZING = SizingCurve()
