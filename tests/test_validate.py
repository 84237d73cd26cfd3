"""Validation suite: recipes, parity table and CLI on real calculators (small systems)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from surfchem.errors import InputError
from surfchem.validate import Evaluator, resolve_calculator, run_validation, surface_gamma
from surfchem.validate.engine import gamma_supercell
from surfchem.validate.suite import expand_calculators, reference_for

os.environ.setdefault("OMP_NUM_THREADS", "1")


def test_names_twins_and_references():
    assert resolve_calculator("GPAW-LCAO") == "gpaw-pbe-lcao"
    assert expand_calculators(["chgnet-d3", "gpaw-lcao"]) == ["chgnet-d3", "gpaw-pbe-lcao",
                                                              "gpaw-pbe-d3-lcao"]
    avail = ["gpaw-pbe-pw", "gpaw-pbe-d3-pw", "gpaw-pbe-lcao", "gpaw-pbe-d3-lcao"]
    assert reference_for("bulk", "chgnet", avail) == "gpaw-pbe-pw"
    assert reference_for("slab", "chgnet-d3", avail) == "gpaw-pbe-d3-lcao"
    assert reference_for("slab", "gfn1", avail) == "gpaw-pbe-d3-lcao"  # xTB carries dispersion
    with pytest.raises(InputError, match="unknown calculator preset 'mace'"):
        resolve_calculator("mace")
    with pytest.raises(InputError, match="profile"):
        run_validation(["chgnet"], "huge", None)


def test_gamma_supercell_for_xtb():
    from surfchem.build import bulk, slab

    sc, n = gamma_supercell(bulk("CsBr"))
    assert n == 27 and min(sc.cell.lengths()) >= 11.0
    s = slab("CsPbBr3", size=(1, 1), layers=3, vacuum=10.0)
    sc, n = gamma_supercell(s)
    assert n == 4 and len(sc) == 4 * len(s)  # in-plane only: z is already long


def test_surface_gamma_chgnet(tmp_path):
    """A cleaved, unrelaxed CsBr-terminated surface costs energy; gamma = excess / 2A."""
    ev = Evaluator(tmp_path)
    g3 = surface_gamma("CsPbBr3", 3, "chgnet-d3", ev)
    g5 = surface_gamma("CsPbBr3", 5, "chgnet-d3", ev)
    for g in (g3, g5):
        assert 0 < g.gamma_meV_A2 < 60
        assert g.energy_eV == pytest.approx(2 * g.area_A2 * g.gamma_meV_A2 / 1000)
    assert g5.n_atoms == 12 and g3.n_atoms == 7
    # the bulk references are shared (cached) between the two layer counts
    assert sum(r.cached for r in ev.records) >= 4


@pytest.fixture(scope="module")
def bulk_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("val")
    res = run_validation(["chgnet-d3", "gpaw-pw"], "quick", out, parts=("bulk",),
                         materials=("CsBr", "CsPbBr3"))
    return out, res


def test_bulk_parity_table_mae_equals_numpy(bulk_run):
    out, res = bulk_run
    bulk = pd.read_csv(out / "bulk.csv")
    parity = pd.read_csv(out / "parity.csv")
    summary = pd.read_csv(out / "summary.csv")
    assert set(bulk["calculator"]) == {"chgnet-d3", "gpaw-pbe-pw", "gpaw-pbe-d3-pw"}
    # chgnet-d3 is compared with GPAW PBE+D3 (both dispersion-corrected)
    p = parity[parity["calculator"] == "chgnet-d3"]
    assert set(p["reference"]) == {"gpaw-pbe-d3-pw"} and len(p) == 2
    ref = bulk[bulk["calculator"] == "gpaw-pbe-d3-pw"].set_index("material")["a0_A"]
    mine = bulk[bulk["calculator"] == "chgnet-d3"].set_index("material")["a0_A"]
    err = (mine - ref).to_numpy()
    row = summary[(summary["calculator"] == "chgnet-d3") & (summary["quantity"] == "a0_A")].iloc[0]
    assert row["mae"] == pytest.approx(np.mean(np.abs(err)), abs=1e-6)
    assert row["max_abs_error"] == pytest.approx(np.max(np.abs(err)), abs=1e-6)
    # every a0 is within 5 % of experiment; PBE (no D3) above PBE+D3
    assert (np.abs(bulk["a0_A"] / bulk["a0_expt_A"] - 1) < 0.05).all()
    pbe = bulk[bulk["calculator"] == "gpaw-pbe-pw"].set_index("material")["a0_A"]
    assert (pbe > ref).all()


def test_cli_quick_json_is_cached(bulk_run, capsys):
    from surfchem.cli.main import main

    out, _ = bulk_run
    rc = main(["validate", "--calculators", "chgnet-d3,gpaw-pw", "--quick", "--parts", "bulk",
               "--materials", "CsBr,CsPbBr3", "--out", str(out), "--json"])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    rows = {(r["system"], r["calculator"]): r for r in data["rows"]}
    assert set(rows) == {(f"bulk:{m}", c) for m in ("CsBr", "CsPbBr3")
                         for c in ("chgnet-d3", "gpaw-pbe-pw", "gpaw-pbe-d3-pw")}
    assert all(np.isfinite(r["energy_eV"]) and 4.0 < r["a0_A"] < 6.3 for r in rows.values())
    assert data["wall_s"] < 60  # everything came from the cache
    assert (out / "validation.png").exists()  # the CLI draws the figure (the suite only computes)


def test_cli_bad_name_exits_2(capsys):
    from surfchem.cli.main import main

    assert main(["validate", "--calculators", "mace", "--out", "/tmp/never"]) == 2
    assert "unknown calculator preset 'mace'" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_profile_full(tmp_path):
    """The whole quick profile with GPAW LCAO (about 10-15 min on 2 busy cores)."""
    res = run_validation(["chgnet-d3", "gfn1", "gpaw-lcao"], "quick", tmp_path)
    assert not [r for r in res.surface + res.binding if r.get("error")]
    g = {(r["layers"], r["calculator"]): r["gamma_meV_A2"] for r in res.surface}
    assert g[(3, "gpaw-pbe-lcao")] > 0
    s = {r["calculator"]: r for r in res.summary if r["quantity"] == "all_energies"}
    assert np.isfinite(s["chgnet-d3"]["mae_eV"])


def test_cluster_spec_loads_and_renders(tmp_path, capsys):
    from surfchem.cli.main import main
    from surfchem.validate.spec import load_spec

    spec = load_spec("calculations/validation_cluster.toml")
    assert spec["profile"] == "cluster" and "gpaw-pw" in spec["calculators"]
    assert spec["gpaw"]["gpaw-pbe-lcao"]["basis"] == "dzp"
    assert main(["validate", "--spec", "calculations/validation_cluster.toml", "--sbatch"]) == 0
    script = capsys.readouterr().out
    assert "srun -n 128 gpaw python -m surfchem validate --spec" in script
    bad = tmp_path / "bad.toml"
    bad.write_text('profile = "cluster"\ncalculators = ["chgnet"]\nkpoints = 3\n')
    with pytest.raises(InputError, match="kpoints: unknown key .*surfchem.validate.spec"):
        load_spec(bad)
    bad.write_text('profile = "nope"\ncalculators = ["mace"]\n')
    with pytest.raises(InputError) as err:
        load_spec(bad)
    assert "profile: profile must be one of" in str(err.value) and "mace" in str(err.value)
    bad.write_text('calculators = []\n')
    with pytest.raises(InputError, match="calculators"):
        load_spec(bad)


def test_ion_pair_is_neutral_for_the_calculators():
    """The L+ Br- pair is neutral (ion_pair sets info['charge'] = 0), and the validation never
    passes a builder's info['charge'] to a calculator."""
    from surfchem.build import ion_pair
    from surfchem.validate.engine import CHARGE_KEY
    from surfchem.validate.recipes import molecule_box

    pair = ion_pair("MA", box=12.0)
    assert pair.info.get("charge") == 0
    boxed = molecule_box(pair)
    assert "charge" not in boxed.info and not boxed.pbc.any()
    ev = Evaluator(None)
    params = ev.params("gfn2")
    plain = boxed.copy()
    plain.info.clear()
    assert ev._hash(boxed, params) == ev._hash(plain, params)
    plain.info[CHARGE_KEY] = 1.0
    assert ev._hash(boxed, params) != ev._hash(plain, params)


def test_here_profile_ligands_fit_its_cell():
    """The 'here' exchange ligands decorate the profile's 1x1 slab (DDA2: 29 atoms); the two-tailed
    DDA4 (dibutyldimethylammonium) reaches its own periodic image there and is not in the list."""
    from surfchem.build import decorate, slab
    from surfchem.validate.suite import PROFILES

    prof = PROFILES["here"]
    assert prof.ligands == ("IPA", "PEA", "DDA2")
    bare = slab("CsPbBr3", size=prof.binding_size, layers=prof.binding_layers, vacuum=prof.vacuum_A)
    assert len(decorate(bare, "DDA2", [0])) == 29
    for lig in prof.ligands:
        decorate(bare, lig, [0])
    with pytest.raises(InputError, match="its own periodic image"):
        decorate(bare, "DDA4", [0])


def test_evaluator_adds_the_presets_own_d3(tmp_path):
    """The validation's additive D3 uses each preset's damping parameters: r2SCAN ones for
    chgnet-r2scan-d3 (the same energy as the preset's SumCalculator), PBE ones for chgnet-d3."""
    from dftd3.ase import DFTD3

    from surfchem.build import bulk
    from surfchem.relax import single_point

    atoms = bulk("CsPbBr3")
    ev = Evaluator(tmp_path)
    base = ev.energy(atoms, "chgnet-r2scan").energy_eV
    with_d3 = ev.energy(atoms, "chgnet-r2scan-d3").energy_eV
    probe = atoms.copy()
    probe.calc = DFTD3(method="r2scan", damping="d3bj")
    assert with_d3 - base == pytest.approx(probe.get_potential_energy(), abs=1e-8)
    assert with_d3 == pytest.approx(single_point(atoms, "chgnet-r2scan-d3"), abs=1e-4)
    probe.calc = DFTD3(method="PBE", damping="d3bj")
    pbe_d3 = ev.energy(atoms, "chgnet-d3").energy_eV - ev.energy(atoms, "chgnet").energy_eV
    assert pbe_d3 == pytest.approx(probe.get_potential_energy(), abs=1e-8)
    assert abs(pbe_d3 - (with_d3 - base)) > 0.1  # the two parameter sets differ here


def test_counterpoise_bsse_of_an_ion_pair(tmp_path):
    """Boys-Bernardi counterpoise on a real GPAW LCAO ion pair (MA+ Br-, coarse grid): each
    fragment is lowered by its partner's ghost basis, so the BSSE is negative and small; the four
    single points are cached; plane waves and ML potentials are refused with the reason."""
    from surfchem.build import ion_pair
    from surfchem.validate.counterpoise import fragment_bsse, lcao_preset
    from surfchem.validate.recipes import molecule_box

    pair = molecule_box(ion_pair("MA", box=12.0), vacuum=4.0)
    cation = [i for i, s in enumerate(pair.get_chemical_symbols()) if s != "Br"]
    ev = Evaluator(tmp_path, overrides={"gpaw-pbe-lcao": {"h_A": 0.3, "basis": "dzp"}},
                   gpw_mode=None)
    bsse, wall = fragment_bsse(pair, cation, (1.0, -1.0), "gpaw-pbe-d3-lcao", ev, "MA-HBr")
    assert wall > 0
    assert -0.5 < bsse < -1e-3
    ghosts = [r for r in ev.records if r.system.endswith("+ghost")]
    alone = [r for r in ev.records if not r.system.endswith("+ghost")]
    assert len(ghosts) == len(alone) == 2
    for g, a in zip(ghosts, alone, strict=True):
        assert g.energy_eV < a.energy_eV  # more basis functions, lower variational energy
    assert fragment_bsse(pair, cation, (1.0, -1.0), "gpaw-pbe-lcao", ev, "MA-HBr") == (bsse, 0.0)
    for bad in ("gpaw-pbe-d3-pw", "chgnet-d3"):
        with pytest.raises(InputError, match="LCAO preset"):
            lcao_preset(bad)
    with pytest.raises(InputError, match="proper subset"):
        fragment_bsse(pair, [], (1.0, -1.0), "gpaw-pbe-lcao", ev)


def test_counterpoise_fragments_of_an_exchange():
    """The exchange's fragments: every ligand atom (two ligands here) against the slab, and the
    cation against the halide that ion_pair() puts last; a pair without it is refused."""
    from surfchem.build import decorate, ion_pair, slab
    from surfchem.validate.counterpoise import exchange_fragments
    from surfchem.validate.recipes import BindingSystems, molecule_box

    bare = slab("CsPbBr3", size=(2, 2), layers=3)
    dec = decorate(bare, "MA", [0, 1])
    pair = molecule_box(ion_pair("MA", box=12.0))
    systems = BindingSystems("MA", bare, dec, pair, bare, "2x2x3@0,1", "chgnet-d3", n_ligands=2)
    lig, cation, n = exchange_fragments(systems)
    assert n == 2 and len(lig) == 16 and set(dec[lig].get_chemical_symbols()) == {"C", "N", "H"}
    assert len(cation) == len(pair) - 1 and "Br" not in pair[cation].get_chemical_symbols()
    reordered = pair[[len(pair) - 1, *range(len(pair) - 1)]]
    with pytest.raises(InputError, match="should end with its halide"):
        exchange_fragments(BindingSystems("MA", bare, dec, reordered, bare, "x", "chgnet-d3"))
