"""Photon-HDF5 against phconvert, the format's reference library (issue 17).

surfchem -> Photon-HDF5 -> phconvert load (validated) gives the same photons; phconvert-written
files give surfchem the same photons and the same analysis numbers as the original PTU file.
"""

from __future__ import annotations

import numpy as np
import pytest

from surfchem.experiment import photonhdf5, ptu, simulate, stream
from surfchem.experiment.analyze import analyze_file

phc_hdf5 = pytest.importorskip("phconvert.hdf5", reason="phconvert not installed")

NUMBERS = ("n_photons", "duration_s", "on_fraction", "mandel_q", "k_on", "k_off", "g2_0_raw",
           "background_fraction", "lifetime_ns")


def _photons(path):
    chunks = list(stream.open_stream(path, 1 << 16)[1])
    t = np.concatenate([c.times_ps for c in chunks])
    c = np.concatenate([c.channels for c in chunks])
    m = None if chunks[0].microtimes_ps is None else np.concatenate([c.microtimes_ps for c in chunks])
    return t, c, m


def _phconvert_photons(path):
    """Photons as phconvert sees them after validating the file (times and nanotimes in ps)."""
    h5 = phc_hdf5.load_photon_hdf5(str(path), warnings=False)  # raises Invalid_PhotonHDF5 on any spec violation
    try:
        pd = h5.root.photon_data
        t = pd.timestamps.read().astype(np.int64) * round(pd.timestamps_specs.timestamps_unit.read() * 1e12)
        nano = None
        if "nanotimes" in pd:
            unit = pd.nanotimes_specs.tcspc_unit.read() * 1e12
            raw = pd.nanotimes.read().astype(np.int64)
            nano = np.where(raw >= 0, np.rint(raw * unit), -1).astype(np.int64)
        return t, pd.detectors.read().astype(np.int64), nano, h5.root.identity.creator.read().decode()
    finally:
        h5.close()


@pytest.fixture(scope="module")
def t3_ptu(tmp_path_factory):
    p = tmp_path_factory.mktemp("phdf5") / "dot.ptu"
    simulate.write_simulated_ptu(simulate.SimulationParams(
        duration_s=3.0, mode="t3", on_fraction=0.6, cycle_s=0.3, count_rate_on_cps=40e3,
        background_fraction=0.02, seed=22), p)  # (seed 21 at 4 s: the lifetime fit needs 20k evaluations)
    return p, analyze_file(p).to_dict()


def test_converted_t3_file_passes_phconvert_and_keeps_photons_and_numbers(t3_ptu, tmp_path):
    t3_ptu, a = t3_ptu
    h5 = tmp_path / "dot.h5"
    out = photonhdf5.convert_to_photon_hdf5(t3_ptu, h5, chunk_records=50_000)
    assert out["validated"]
    t, c, m = _photons(t3_ptu)
    pt, pc, pm, creator = _phconvert_photons(h5)
    assert creator.startswith("surfchem")
    np.testing.assert_array_equal(pt, t)
    np.testing.assert_array_equal(pc, c)
    np.testing.assert_array_equal(pm, m)
    b = analyze_file(h5).to_dict()
    assert {k: b[k] for k in NUMBERS} == {k: a[k] for k in NUMBERS}


def test_written_t2_files_pass_phconvert(tmp_path):
    # T2 with recorded syncs: int64 ps delays, -1 before the first sync
    p = tmp_path / "t2s.ptu"
    simulate.write_simulated_ptu(simulate.SimulationParams(
        duration_s=0.5, mode="t2", t2_sync_divider=2, block_s=0.2, seed=4), p)
    h5 = tmp_path / "t2s.h5"
    photonhdf5.convert_to_photon_hdf5(p, h5)
    t, c, m = _photons(p)
    pt, pc, pm, _ = _phconvert_photons(h5)
    np.testing.assert_array_equal(pt, t)
    np.testing.assert_array_equal(pc, c)
    np.testing.assert_array_equal(pm, m)
    # cw T2 from arrays, three detectors, no nanotimes
    rng = np.random.default_rng(3)
    t = np.sort(rng.integers(0, 10**12, 5000)).astype(np.int64)
    c = rng.integers(0, 3, t.size)
    cw = photonhdf5.write_photon_hdf5(tmp_path / "cw.h5", t, c)
    pt, pc, pm, _ = _phconvert_photons(cw)
    np.testing.assert_array_equal(pt, t)
    np.testing.assert_array_equal(pc, c)
    assert pm is None
    info, _ = stream.open_stream(cw)
    assert info.sync_period_ps is None and round(info.acquisition_time_s * 1e12) >= t[-1]


def test_phconvert_written_file_reads_like_the_ptu(t3_ptu, tmp_path):
    """phconvert's own PTU loader and writer (sync-based timestamps + nanotimes) -> surfchem."""
    from phconvert import loader

    t3_ptu, a = t3_ptu
    data, _ = loader.loadfile_ptu(str(t3_ptu))
    ids = data["setup"]["detectors"]["id"]
    specs = data["photon_data"]["measurement_specs"]
    specs["measurement_type"] = "generic"
    specs["detectors_specs"] = {f"split_ch{i + 1}": np.array([d]) for i, d in enumerate(ids)}
    specs["laser_repetition_rate"] = float(specs["laser_repetition_rate"][0])
    data["setup"].update(num_spectral_ch=1, num_polarization_ch=1, num_split_ch=len(ids),
                         modulated_excitation=False, excitation_cw=[False], excitation_alternated=[False])
    data["setup"]["detectors"].pop("label")
    data["identity"] = {"author": "test", "author_affiliation": "test"}
    data["description"] = "phconvert conversion of a simulated PTU"
    data.pop("user")
    h5 = tmp_path / "phc.h5"
    phc_hdf5.save_photon_hdf5(data, h5_fname=str(h5), overwrite=True, warnings=False)
    info, _ = stream.open_stream(h5)
    hdr = ptu.read_header(t3_ptu)
    assert info.sync_period_ps == pytest.approx(hdr.global_resolution_s * 1e12)
    for got, want in zip(_photons(h5), _photons(t3_ptu), strict=True):
        np.testing.assert_array_equal(got, want)
    b = analyze_file(h5).to_dict()
    assert {k: b[k] for k in NUMBERS} == {k: a[k] for k in NUMBERS}
