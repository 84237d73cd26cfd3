"""Excitation density <N> = sigma * j for pulsed excitation of a single dot.

* Photon fluence per pulse ``j = I / (f h nu)`` (photons cm^-2), with ``I`` the average power
  density (W cm^-2), ``f`` the repetition rate and ``h nu = h c / lambda``. The energy fluence
  is ``I / f`` (J cm^-2); the paper: 27.4 W cm^-2 at 2 MHz = 13.7 uJ cm^-2.
* Power density from power and spot: top-hat ``I = P / (pi (d/2)^2)`` (default, what "power
  density" with a beam diameter usually means in single-dot papers) or the Gaussian peak
  ``I0 = 2 P / (pi w^2)`` with ``w = d / 2`` the 1/e^2 radius.
* Absorption cross-section model: far above the band edge the intrinsic absorption coefficient
  ``mu_i`` of CsPbBr3 nanocrystals is size independent (Maes et al., J. Phys. Chem. Lett. 9,
  3093 (2018)), so ``sigma(L) = mu_i V`` with ``V = L^3`` (cube of edge L). Default
  ``mu_i(405 nm) = 1.0e5 cm^-1``: an assumed round value of the order that work reports for
  high photon energies; the exact 405 nm value was not available to us (treat it as the model's
  one parameter; pass another one if you have a measured value).
* Check against the paper (Methods): 4.3 nm dot, 27.4 W cm^-2, 2 MHz, 405 nm -> <N> = 0.2. The
  model gives sigma = 7.95e-15 cm^2, j = 2.79e13 cm^-2 and <N> = 0.222 (11 % above the paper's
  0.2; the paper's numbers imply sigma = 7.2e-15 cm^2, i.e. mu_i = 0.90e5 cm^-1). See
  :func:`paper_check`.
* Poisson statistics: P(n >= 1) = 1 - exp(-<N>) excited per pulse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from surfchem.errors import InputError

H = 6.62607015e-34  # J s
C = 299792458.0  # m/s
MU_I_405_CM = 1.0e5  # cm^-1, see module docstring


def photon_energy_J(wavelength_nm: float) -> float:
    """Photon energy h c / lambda.

    Parameters
    ----------
    wavelength_nm : float
        Wavelength, nm (> 0).

    Returns
    -------
    float
        Energy, J.

    Raises
    ------
    surfchem.errors.InputError
        A non-positive wavelength.
    """
    if wavelength_nm <= 0:
        raise InputError(f"wavelength must be > 0 nm, got {wavelength_nm}")
    return H * C / (wavelength_nm * 1e-9)


def power_density_from_power(power_W: float, spot_diameter_nm: float, profile: str = "tophat") -> float:
    """Average power density from power and spot diameter (module docstring)."""
    if power_W < 0 or spot_diameter_nm <= 0:
        raise InputError("power must be >= 0 W and spot diameter > 0 nm")
    r_cm = spot_diameter_nm * 1e-7 / 2
    if profile == "tophat":
        return power_W / (np.pi * r_cm**2)
    if profile == "gaussian_peak":
        return 2 * power_W / (np.pi * r_cm**2)
    raise InputError(f"profile must be 'tophat' or 'gaussian_peak', got {profile!r}")


def photon_fluence_per_pulse(power_density_W_cm2: float, rep_rate_hz: float, wavelength_nm: float) -> float:
    """``j = I / (f h nu)`` in photons cm^-2 per pulse."""
    if rep_rate_hz <= 0:
        raise InputError(f"repetition rate must be > 0 Hz, got {rep_rate_hz}")
    return power_density_W_cm2 / rep_rate_hz / photon_energy_J(wavelength_nm)


def cross_section_cm2(size_nm: float, mu_i_cm: float = MU_I_405_CM) -> float:
    """``sigma = mu_i L^3`` (cm^2) for a cube of edge ``size_nm``."""
    if size_nm <= 0:
        raise InputError(f"size must be > 0 nm, got {size_nm}")
    return mu_i_cm * (size_nm * 1e-7) ** 3


@dataclass
class Excitation:
    """Excitation of a dot by one laser pulse: <N> = sigma j.

    Attributes
    ----------
    power_density_W_cm2 : float
        Average power density, W/cm².
    energy_fluence_uJ_cm2 : float
        Energy per pulse per area, µJ/cm².
    photon_fluence_cm2 : float
        Photons per pulse per area j, cm⁻².
    cross_section_cm2 : float
        Absorption cross-section sigma, cm².
    mean_excitons : float
        <N> = sigma j, excitons per pulse.
    p_excited : float
        Probability of at least one exciton, 1 - exp(-<N>) (Poisson).
    """
    power_density_W_cm2: float
    energy_fluence_uJ_cm2: float
    photon_fluence_cm2: float
    cross_section_cm2: float
    mean_excitons: float
    p_excited: float


def excitation_density(
    size_nm: float,
    *,
    rep_rate_hz: float,
    wavelength_nm: float = 405.0,
    power_density_W_cm2: float | None = None,
    power_W: float | None = None,
    spot_diameter_nm: float | None = None,
    profile: str = "tophat",
    mu_i_cm: float = MU_I_405_CM,
) -> Excitation:
    """Mean excitons per pulse <N> = sigma j, from a power density or from power and spot diameter.

    Parameters
    ----------
    size_nm : float
        Edge length L of the (cubic) dot, nm; sigma = mu_i L³.
    rep_rate_hz : float
        Laser repetition rate f, Hz.
    wavelength_nm : float, default 405.0
        Excitation wavelength, nm.
    power_density_W_cm2 : float, optional
        Average power density I, W/cm² (or give ``power_W`` and ``spot_diameter_nm``).
    power_W : float, optional
        Average power, W.
    spot_diameter_nm : float, optional
        Spot diameter, nm.
    profile : {"tophat", "gaussian_peak"}, default "tophat"
        Power density from power and spot: P / (pi (d/2)²), or the Gaussian peak 2P / (pi w²).
    mu_i_cm : float, default 1.0e5
        Intrinsic absorption coefficient of CsPbBr3 at the excitation wavelength, cm⁻¹ (an
        assumed value, module docstring).

    Returns
    -------
    Excitation
        Power density (W/cm²), fluences (µJ/cm², photons/cm²), sigma (cm²), <N>, P(n >= 1).

    Raises
    ------
    surfchem.errors.InputError
        Missing or non-positive inputs.
    """
    if power_density_W_cm2 is None:
        if power_W is None or spot_diameter_nm is None:
            raise InputError("give power_density_W_cm2, or power_W and spot_diameter_nm")
        power_density_W_cm2 = power_density_from_power(power_W, spot_diameter_nm, profile)
    j = photon_fluence_per_pulse(power_density_W_cm2, rep_rate_hz, wavelength_nm)
    sig = cross_section_cm2(size_nm, mu_i_cm)
    n = sig * j
    return Excitation(power_density_W_cm2, power_density_W_cm2 / rep_rate_hz * 1e6, j, sig, n, 1 - np.exp(-n))



def paper_check() -> dict:
    """The paper's Methods example vs this model (see module docstring)."""
    ex = excitation_density(4.3, rep_rate_hz=2e6, wavelength_nm=405.0, power_density_W_cm2=27.4)
    implied_sigma = 0.2 / ex.photon_fluence_cm2
    return {
        "paper_mean_excitons": 0.2,
        "model_mean_excitons": ex.mean_excitons,
        "energy_fluence_uJ_cm2": ex.energy_fluence_uJ_cm2,
        "model_cross_section_cm2": ex.cross_section_cm2,
        "implied_cross_section_cm2": implied_sigma,
        "implied_mu_i_cm": implied_sigma / (4.3e-7) ** 3,
    }
