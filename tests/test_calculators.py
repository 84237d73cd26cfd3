"""Calculator presets and relaxation on real calculators (tiny systems)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from surfchem.build import bulk, ion_pair
from surfchem.calculators import PRESETS, get_calculator, preset_parameters
from surfchem.core.slabgeom import slab_layers
from surfchem.errors import InputError
from surfchem.relax import fixed_indices, relax, relax_bulk_lattice, single_point


def test_registry_and_parameters():
    assert {"chgnet-d3", "gfn1", "gfn2", "gpaw-pbe-d3-lcao", "gpaw-pbe-pw"} <= set(PRESETS)
    p = preset_parameters("gfn1", max_iterations=300)
    assert p["preset"] == "gfn1" and p["mixer_damping"] == 0.1 and p["max_iterations"] == 300
    with pytest.raises(InputError, match="unknown calculator preset 'mace'"):
        get_calculator("mace")
    with pytest.raises(InputError, match="preset name or an ASE calculator"):
        get_calculator(42)


def test_gpaw_pw_bulk_cscl_real_dft(tmp_path):
    """A real (small) GPAW PBE plane-wave calculation: CsBr, 2 atoms, 250 eV."""
    at = bulk("CsBr")
    txt = tmp_path / "gpaw.txt"
    e = single_point(at, "gpaw-pbe-pw", ecut_eV=250.0, kpt_density_A=1.5, txt=str(txt))
    # PBE energy of CsBr vs. GPAW's PAW references: finite, negative (bound), a few eV per pair
    assert np.isfinite(e) and -12.0 < e < -2.0
    assert "Free energy" in txt.read_text() or "Extrapolated" in txt.read_text()
    # D3(BJ) adds a small negative dispersion energy (same structure, same settings)
    e_d3 = single_point(at, "gpaw-pbe-d3-pw", ecut_eV=250.0, kpt_density_A=1.5, txt=None)
    assert -1.0 < e_d3 - e < 0.0


def test_gfn2_ion_pair_and_ml_agree_on_sign():
    pair = ion_pair("MA")
    pair.pbc = False
    e = single_point(pair, "gfn2")
    assert np.isfinite(e) and e < -100  # xTB total energies are large and negative (eV)
    # bringing Br- closer than the hydrogen-bond distance costs energy (repulsion)
    squeezed = pair.copy()
    squeezed.positions[-1, 2] += 1.2
    assert single_point(squeezed, "gfn2") > e


def test_bulk_lattice_fit_chgnet(chgnet_d3):
    lat = relax_bulk_lattice("CsPbBr3", chgnet_d3)
    assert 5.75 < lat.a0_A < 6.05 and 5 < lat.bulk_modulus_GPa < 60
    # a0 is a minimum: the energy grows both ways
    e = []
    for a in (lat.a0_A * 0.98, lat.a0_A, lat.a0_A * 1.02):
        b = bulk("CsPbBr3", a=a)
        b.calc = chgnet_d3
        e.append(b.get_potential_energy())
    assert e[1] < e[0] and e[1] < e[2]


def test_bulk_reference_allows_octahedral_tilts(chgnet_d3):
    """The cubic CsPbBr3 cell is a saddle of the tilts: a rattled 2x2x2 cell at the same a0 relaxes
    lower (measured, CHGNet+D3 at 5.949 Å: 0.09-0.10 eV per formula unit); CsCl-type
    CsBr has no such mode (gain < 1 meV)."""
    from surfchem.relax import bulk_tilt_minimum

    tilt = bulk_tilt_minimum("CsPbBr3", 5.949, chgnet_d3, starts=1)
    assert tilt.tilt_gain_eV < -0.05
    assert len(tilt.atoms) == 40 and tilt.energy_per_fu_eV == min(tilt.start_energies_per_fu_eV)
    # the tilted cell is a minimum of its own: re-relaxing does not move it
    again = relax(tilt.atoms, chgnet_d3, fmax=0.02, steps=50)
    assert abs(again.energy_eV / 8 - tilt.energy_per_fu_eV) < 5e-3
    salt = bulk_tilt_minimum("CsBr", 4.321, chgnet_d3, starts=1)
    assert abs(salt.tilt_gain_eV) < 1e-3


def test_relax_restart_from_trajectory(tmp_path, chgnet_d3, ma_in_box):
    mol = ma_in_box
    mol.rattle(0.05, seed=3)
    traj = tmp_path / "ma.traj"
    first = relax(mol, chgnet_d3, fmax=0.02, steps=3, trajectory=traj)
    assert not first.converged and first.n_steps == 3
    second = relax(mol, chgnet_d3, fmax=0.02, steps=200, trajectory=traj)
    assert second.restarted_from_step == 4  # 3 steps + the initial frame were kept
    assert second.converged and second.fmax_eV_A < 0.02
    assert second.energy_eV <= first.energy_eV + 1e-6
    # resumed = uninterrupted: the optimiser state is replayed from the frames, so the path and
    # the minimum are those of one run (a fresh Hessian ended 2.9 meV away on a slab before)
    whole = relax(mol, chgnet_d3, fmax=0.02, steps=200, trajectory=tmp_path / "whole.traj")
    assert whole.n_steps == second.n_steps + 3
    assert abs(whole.energy_eV - second.energy_eV) < 1e-6
    assert np.abs(whole.atoms.positions - second.atoms.positions).max() < 1e-6


def test_layers_and_constraints():
    from surfchem.build import decorate, slab

    s = decorate(slab(), "MA", [0])
    layers = slab_layers(s)
    assert len(layers) == 5
    centre = fixed_indices(s, "center", 1)
    assert len(centre) == 8  # the middle CsBr layer: 4 Cs + 4 Br
    assert len(fixed_indices(s, "bottom", 2)) == 8 + 12
    with pytest.raises(InputError):
        fixed_indices(s, "center", 9)
    with pytest.raises(InputError):
        relax(s, "chgnet", optimizer="Newton")


@pytest.mark.parametrize("preset", ["sevennet", "sevennet-d3"])
def test_sevennet_presets_work_offline(preset):
    """The SevenNet-0 weights ship in the sevenn wheel: a fresh install evaluates CsBr without a
    download, and the D3 variant adds a (negative) dispersion energy."""
    atoms = bulk("CsBr", a=4.3)
    e = single_point(atoms, preset)
    assert np.isfinite(e) and -10.0 < e / len(atoms) < -1.0  # eV/atom of an ionic solid
    if preset == "sevennet-d3":
        assert e < single_point(atoms, "sevennet")


# -- the offline ML presets added for issue 18 (weights ship in the chgnet / sevenn wheels) ------
#: new base preset -> the D3(BJ) damping parameters its -d3 twin must use
NEW_ML = {"chgnet-r2scan": "r2scan", "sevennet-mf-pbe": "PBE", "sevennet-mf-r2scan": "r2scan",
          "sevennet-l3i5": "PBE"}
_ENERGIES: dict[str, float] = {}  # preset -> energy of bulk CsPbBr3 (filled by the tests below)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails loudly (a download would be one)."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[1:] or kwargs}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _bulk_energy(preset: str) -> tuple[float, np.ndarray]:
    atoms = bulk("CsPbBr3")  # 5 atoms, cubic: forces vanish by symmetry
    atoms.calc = get_calculator(preset)
    e, f = atoms.get_potential_energy(), atoms.get_forces()
    _ENERGIES[preset] = e
    return e, f


@pytest.mark.parametrize("preset", list(NEW_ML))
def test_new_ml_presets_load_offline(preset, no_network):
    """Each new preset and its -d3 twin build with the network blocked and give a finite energy
    and finite forces; the twin adds exactly the D3(BJ) energy with its own damping parameters
    (r2SCAN ones for the r2SCAN models)."""
    from dftd3.ase import DFTD3

    e, f = _bulk_energy(preset)
    assert np.isfinite(e) and f.shape == (5, 3) and np.isfinite(f).all()
    assert np.abs(f).max() < 1e-3  # cubic perovskite: symmetric, no net force on any atom
    e_d3, f_d3 = _bulk_energy(f"{preset}-d3")
    assert np.isfinite(e_d3) and np.isfinite(f_d3).all()
    assert preset_parameters(f"{preset}-d3").get("d3_method", "PBE") == NEW_ML[preset]
    atoms = bulk("CsPbBr3")
    atoms.calc = DFTD3(method=NEW_ML[preset], damping="d3bj")
    assert e_d3 - e == pytest.approx(atoms.get_potential_energy(), abs=1e-4)  # CHGNet: float32
    assert e_d3 < e


def test_new_ml_presets_are_distinct(no_network):
    """Every ML model gives its own energy (no preset silently falls back to another model)."""
    for p in ["chgnet", "sevennet", *NEW_ML]:
        if p not in _ENERGIES:
            _bulk_energy(p)
    e = [_ENERGIES[p] for p in ["chgnet", "sevennet", *NEW_ML]]
    gaps = np.abs(np.subtract.outer(e, e))[np.triu_indices(len(e), 1)]
    assert gaps.min() > 1e-3, dict(zip(["chgnet", "sevennet", *NEW_ML], e, strict=True))


@pytest.mark.parametrize("preset,package", [("sevennet-mf-r2scan", "sevenn"),
                                            ("chgnet-r2scan-d3", "chgnet")])
def test_missing_ml_package_is_a_one_line_calculator_error(preset, package):
    """In an interpreter where the package cannot be imported, the preset raises a one-line
    CalculatorError naming the package (and how to install it)."""
    import subprocess
    import sys

    code = (f"import sys; sys.modules[{package!r}] = None\n"
            "from surfchem.calculators import get_calculator\n"
            "from surfchem.errors import CalculatorError\n"
            f"try:\n    get_calculator({preset!r})\n"
            "except CalculatorError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    msg = out.stdout.strip()
    assert f"'{package}' package" in msg and "pip install" in msg and "\n" not in msg


def test_chgnet_skips_the_stress_pass_unless_asked():
    """Forces without the d E / d strain backward pass, and the same numbers as CHGNet's own
    ``"efsm"`` calculation; the stress is still there when it is asked for."""
    from chgnet.model.dynamics import CHGNetCalculator

    atoms = bulk("CsPbBr3", a=5.95).repeat((2, 1, 1))
    atoms.rattle(0.05, seed=3)
    ml = get_calculator("chgnet")
    atoms.calc = ml
    with warnings.catch_warnings():  # and without chgnet's tensor-to-scalar UserWarning in the
        warnings.simplefilter("error")  # user's output (the main job printed it in every worker)
        forces = atoms.get_forces()
    assert "stress" not in ml.results  # task "ef": one backward pass
    reference = CHGNetCalculator(model=ml.model, use_device="cpu")
    reference.calculate(atoms.copy(), ["forces"])  # task "efsm"
    assert "stress" in reference.results
    assert atoms.get_potential_energy() == pytest.approx(reference.results["energy"], abs=1e-6)
    np.testing.assert_allclose(forces, reference.results["forces"], atol=1e-6)
    same = atoms.copy()
    same.calc = reference
    np.testing.assert_allclose(atoms.get_stress(), same.get_stress(), atol=1e-8)
