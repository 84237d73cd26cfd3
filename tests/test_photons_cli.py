"""`surfchem photons` CLI contract: JSON keys, exit codes, simulate truth file, batch, plots."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from surfchem.cli.main import main
from surfchem.cli.photons import JSON_KEYS, parse_channels, parse_duration
from surfchem.errors import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def sim_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    out = d / "dot.ptu"
    rc = main(["photons", "simulate", "--mode", "t3", "--duration", "4", "--on-fraction", "0.9",
               "--g2-0", "0.02", "--out", str(out)])
    assert rc == 0
    return out


def test_simulate_writes_file_and_truth(sim_file):
    truth = json.loads(sim_file.with_name("dot.truth.json").read_text())
    assert truth["mode"] == "t3" and truth["duration_s"] == 4
    assert truth["n_photons"] > 1000 and 0 <= truth["background_fraction"] < 0.05
    assert truth["n_records"] > truth["n_photons"]  # overflow records


def test_analyze_json_keys_and_values(sim_file, capsys, tmp_path):
    rc = main(["photons", "analyze", str(sim_file), "--bin", "10ms", "--threshold", "0.5",
               "--channels", "0,1", "--json", "--plot", str(tmp_path / "figs")])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    for k in JSON_KEYS:
        assert k in out
    truth = json.loads(sim_file.with_name("dot.truth.json").read_text())
    assert out["n_photons"] == truth["n_photons"]
    assert out["duration_s"] == pytest.approx(4.0)
    assert abs(out["on_fraction"] - truth["on_fraction"]) < 0.02
    assert out["lifetime_ns"] == pytest.approx(8.0, rel=0.05)
    assert out["k_on"] is None  # too few dwell events in 4 s: null, with a warning
    assert any("k_on" in w for w in out["warnings"])
    names = sorted(os.path.basename(f) for f in out["figures"])
    assert names == ["decay.png", "flid.png", "g2.png", "trace.png"]
    for f in out["figures"]:
        assert os.path.getsize(f) > 1000


def test_analyze_t2_without_syncs_nulls(tmp_path, capsys):
    f = tmp_path / "cw.ptu"
    assert main(["photons", "simulate", "--mode", "t2", "--rep-rate", "0", "--duration", "2",
                 "--blinking", "none", "--out", str(f)]) == 0
    capsys.readouterr()
    assert main(["photons", "analyze", str(f), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lifetime_ns"] is None and out["g2_0"] is None and out["background_fraction"] is None
    assert out["n_photons"] > 0 and out["mandel_q"] is not None


@pytest.mark.parametrize("args,msg", [
    (["--bin", "ten"], "cannot read time"),
    (["--channels", "0"], "--channels"),
    (["--threshold", "1.5"], "--threshold"),
])
def test_bad_arguments_exit_2_one_line(sim_file, capsys, args, msg):
    rc = main(["photons", "analyze", str(sim_file), *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("surfchem: error:") and msg in err and err.count("\n") == 1


def test_bad_files_exit_2_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.ptu"
    bad.write_bytes(b"PQTTTR\0\0" + b"1.0.00\0\0" + b"\0" * 10)
    for path, msg in ((bad, "truncated"), (tmp_path / "missing.ptu", "does not exist")):
        rc = main(["photons", "analyze", str(path), "--json"])
        err = capsys.readouterr().err
        assert rc == 2 and msg in err and err.count("\n") == 1


def test_batch_skips_bad_file(sim_file, tmp_path, capsys):
    d = tmp_path / "batch"
    d.mkdir()
    for i in range(2):
        (d / f"good{i}.ptu").write_bytes(sim_file.read_bytes())
    (d / "broken.ptu").write_bytes(b"garbage!" * 10)
    out = tmp_path / "table.csv"
    rc = main(["photons", "batch", str(d), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "skipped" in err and "broken.ptu" in err and "analysed 2 of 3" in err
    rows = list(csv.DictReader(out.open()))
    assert [r["file"] for r in rows] == ["good0.ptu", "good1.ptu"]
    assert set(JSON_KEYS) <= set(rows[0])
    assert float(rows[0]["on_fraction"]) == float(rows[1]["on_fraction"])


def test_parsers():
    assert parse_duration("10ms") == pytest.approx(0.01)
    assert parse_duration("0.5") == 0.5
    assert parse_duration("250us") == pytest.approx(2.5e-4)
    assert parse_channels("2,3") == (2, 3)
    with pytest.raises(InputError):
        parse_duration("-1ms")
    with pytest.raises(InputError):
        parse_channels("1,1")


def test_experiment_imports_without_heavy_packages():
    code = ("import sys, surfchem.experiment.analyze, surfchem.experiment.spectra, "
            "surfchem.experiment.excitation, surfchem.cli.photons, surfchem.plot.photons;"
            "bad = [m for m in ('torch', 'gpaw', 'rdkit') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def test_analyze_with_measured_irf_file(sim_file, tmp_path, capsys):
    irf = tmp_path / "irf.ptu"
    assert main(["photons", "simulate", "--mode", "t3", "--duration", "1", "--blinking", "none",
                 "--lifetime-ns", "0.001", "--background-fraction", "0", "--seed", "5", "--out", str(irf)]) == 0
    capsys.readouterr()
    assert main(["photons", "analyze", str(sim_file), "--irf", str(irf), "--json", "--full"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lifetime_ns"] == pytest.approx(8.0, rel=0.03)
    assert out["irf_sigma_ns"] is None  # not a model parameter with a measured IRF


def test_analyze_hmm_threshold_method(sim_file, capsys):
    assert main(["photons", "analyze", str(sim_file), "--threshold-method", "hmm", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    truth = json.loads(sim_file.with_name("dot.truth.json").read_text())
    assert abs(out["on_fraction"] - truth["on_fraction"]) < 0.02


def test_convert_to_photon_hdf5_same_analysis(sim_file, tmp_path, capsys):
    h5 = tmp_path / "dot.h5"
    assert main(["photons", "convert", str(sim_file), str(h5)]) == 0
    conv = json.loads(capsys.readouterr().out)
    assert conv["n_photons"] > 0
    from surfchem.experiment.analyze import analyze_file

    a, b = analyze_file(sim_file), analyze_file(h5)
    assert a.n_photons == b.n_photons == conv["n_photons"]
    for k in ("on_fraction", "mandel_q", "g2_0_raw", "background_fraction", "lifetime_ns"):
        assert getattr(a, k) == getattr(b, k), k


def test_spectrum_and_excitation_commands(tmp_path, capsys):
    import numpy as np

    from surfchem.experiment import spectra

    lam = np.linspace(440, 540, 400)
    E = spectra.HC_EV_NM / lam
    y = spectra.split_voigt(E, 2.55, 1000.0, 0.02, 0.01, 0.012, 0.005, 10.0) * spectra.HC_EV_NM / lam**2
    f = tmp_path / "spec.csv"
    np.savetxt(f, np.column_stack([lam, y]), delimiter=",", header="wavelength_nm,counts")
    assert main(["photons", "spectrum", str(f)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["peak_eV"] == pytest.approx(2.55, abs=2e-3)
    assert out["hwhm_low_meV"] > out["hwhm_high_meV"]
    assert out["size_nm"] == pytest.approx(spectra.CSPBBR3_SIZING.size_nm(out["peak_eV"]))
    assert main(["photons", "excitation", "--size-nm", "4.3", "--rep-rate", "2e6", "--power-density", "27.4"]) == 0
    ex = json.loads(capsys.readouterr().out)
    assert ex["energy_fluence_uJ_cm2"] == pytest.approx(13.7)
    assert ex["mean_excitons"] == pytest.approx(0.2, rel=0.15)
    assert main(["photons", "excitation", "--size-nm", "4.3", "--rep-rate", "2e6"]) == 2
    assert "power_density" in capsys.readouterr().err


def test_counts_method_without_value_fails_fast(sim_file, capsys):
    rc = main(["photons", "analyze", str(sim_file), "--threshold-method", "counts"])
    err = capsys.readouterr().err
    assert rc == 2 and "threshold_counts" in err and err.count("\n") == 1
