"""Spectra (split Voigt, sizing curve) and excitation density <N>."""

from __future__ import annotations

import numpy as np
import pytest

from surfchem.errors import InputError
from surfchem.experiment import excitation, spectra


def test_voigt_hwhm_limits():
    assert spectra.voigt_hwhm(0.01, 1e-12) == pytest.approx(0.01 * np.sqrt(2 * np.log(2)), rel=1e-5)
    assert spectra.voigt_hwhm(1e-12, 0.02) == pytest.approx(0.02, rel=1e-5)
    # Olivero-Longbothum approximation (accurate to ~0.02 %) for a mixed profile
    fg, fl = 2 * 0.01 * np.sqrt(2 * np.log(2)), 2 * 0.01
    approx = 0.5346 * fl + np.sqrt(0.2166 * fl**2 + fg**2)
    assert 2 * spectra.voigt_hwhm(0.01, 0.01) == pytest.approx(approx, rel=1e-3)


def test_split_voigt_fit_recovers_asymmetric_widths():
    rng = np.random.default_rng(1)
    E = np.linspace(2.35, 2.75, 500)
    true = dict(E0=2.52, A=500.0, s_lo=0.018, g_lo=0.012, s_hi=0.010, g_hi=0.004, c=5.0)
    y = rng.poisson(spectra.split_voigt(E, *true.values())).astype(float)
    fit = spectra.fit_spectrum(E, y, sizing=spectra.CSPBBR3_SIZING)
    assert fit.peak_eV == pytest.approx(2.52, abs=1e-3)
    assert fit.hwhm_low_meV == pytest.approx(1e3 * spectra.voigt_hwhm(0.018, 0.012), rel=0.05)
    assert fit.hwhm_high_meV == pytest.approx(1e3 * spectra.voigt_hwhm(0.010, 0.004), rel=0.05)
    assert fit.hwhm_low_meV > fit.hwhm_high_meV
    assert fit.size_nm == pytest.approx(spectra.CSPBBR3_SIZING.size_nm(fit.peak_eV))


def test_wavelength_axis_conversion_conserves_area():
    lam = np.linspace(450, 550, 2001)
    inten = np.exp(-0.5 * ((lam - 500) / 5) ** 2)
    E, IE = spectra.wavelength_to_energy(lam, inten)
    assert abs(np.trapezoid(IE[::-1], E[::-1]) - np.trapezoid(inten, lam)) / np.trapezoid(inten, lam) < 1e-3


def test_sizing_curve_inverse_and_fit():
    c = spectra.CSPBBR3_SIZING
    for L in (3.6, 4.3, 9.0, 14.0):
        assert c.size_nm(float(c.energy_eV(L))) == pytest.approx(L)
    # smaller dots emit bluer light, monotonically
    e = c.energy_eV(np.array([3.6, 5.0, 9.0, 14.0]))
    assert np.all(np.diff(e) < 0)
    with pytest.raises(InputError, match="not quantum confined"):
        c.size_nm(2.30)
    fitted = spectra.SizingCurve.fit(c.energy_eV([4.0, 6.0, 10.0]), [4.0, 6.0, 10.0], source="self-check")
    assert fitted.c_eV_nm2 == pytest.approx(c.c_eV_nm2) and fitted.e_bulk_eV == pytest.approx(c.e_bulk_eV)


def test_excitation_density_against_paper():
    chk = excitation.paper_check()
    # 27.4 W/cm^2 at 2 MHz is 13.7 uJ/cm^2 (paper, Methods)
    assert chk["energy_fluence_uJ_cm2"] == pytest.approx(13.7)
    # the cross-section model reproduces <N> = 0.2 for the 4.3 nm dot within 15 %
    assert chk["model_mean_excitons"] == pytest.approx(0.2, rel=0.15)


def test_excitation_from_power_and_spot():
    # 475 nm spot (paper): the power that gives 27.4 W/cm^2 (top hat)
    area = np.pi * (475e-7 / 2) ** 2
    ex = excitation.excitation_density(4.3, rep_rate_hz=2e6, power_W=27.4 * area, spot_diameter_nm=475)
    assert ex.power_density_W_cm2 == pytest.approx(27.4)
    assert ex.p_excited == pytest.approx(1 - np.exp(-ex.mean_excitons))
    # sigma scales with volume
    assert excitation.cross_section_cm2(8.6) / excitation.cross_section_cm2(4.3) == pytest.approx(8.0)
    with pytest.raises(InputError):
        excitation.excitation_density(4.3, rep_rate_hz=2e6)
