"""PTU reader/writer: round trip against ptufile, overflow/chunk exactness, bad files."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from surfchem.errors import FileFormatError, InputError
from surfchem.experiment import ptu, simulate, stream
from surfchem.experiment.analyze import AnalysisOptions, analyze_file

ptufile = pytest.importorskip("ptufile")


def _decode_all(path, chunk):
    chunks = list(ptu.iter_ptu_chunks(path, chunk))
    t = np.concatenate([c.times_ps for c in chunks])
    ch = np.concatenate([c.channels for c in chunks])
    m = [c.microtimes_ps for c in chunks]
    m = None if m[0] is None else np.concatenate(m)
    return t, ch, m


@pytest.fixture(scope="module")
def t3_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("ptu") / "t3.ptu"
    truth = simulate.write_simulated_ptu(
        simulate.SimulationParams(duration_s=2.0, mode="t3", background_fraction=0.02, block_s=0.3, seed=3), p)
    return p, truth


@pytest.fixture(scope="module")
def t2_sync_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("ptu") / "t2s.ptu"
    truth = simulate.write_simulated_ptu(
        simulate.SimulationParams(duration_s=0.5, mode="t2", t2_sync_divider=2, block_s=0.2, seed=4), p)
    return p, truth


def test_t3_roundtrip_matches_ptufile(t3_file):
    path, truth = t3_file
    t, ch, m = _decode_all(path, 1 << 22)
    assert t.size == truth["n_photons"] > 10000
    with ptufile.PtuFile(path) as f:
        assert f.measurement_mode == 3
        assert int(f.record_type) == 0x01010304
        d = f.decode_records()
    ph = d[d["channel"] >= 0]
    period_ps = 500000
    np.testing.assert_array_equal(ph["channel"], ch)
    np.testing.assert_array_equal(ph["dtime"].astype(np.int64) * 16, m)
    np.testing.assert_array_equal(ph["time"].astype(np.int64) * period_ps + ph["dtime"].astype(np.int64) * 16, t)


def test_t2_roundtrip_matches_ptufile_with_syncs_removed(t2_sync_file):
    path, truth = t2_sync_file
    t, ch, m = _decode_all(path, 1 << 22)
    chunks = list(ptu.iter_ptu_chunks(path, 1 << 22))
    syncs = np.concatenate([c.sync_times_ps for c in chunks])
    assert syncs.size == 500_000  # 0.5 s at 2 MHz, divider 2
    with ptufile.PtuFile(path) as f:
        d = f.decode_records()
    ph = d[d["channel"] >= 0]
    # ptufile mixes syncs into channel 0: remove them by time
    is_sync = (ph["channel"] == 0) & np.isin(ph["time"].astype(np.int64), syncs)
    ph = ph[~is_sync]
    np.testing.assert_array_equal(ph["time"].astype(np.int64), t)
    np.testing.assert_array_equal(ph["channel"], ch)
    # microtime = delay after the last recorded sync, within two periods (divider 2)
    ok = m >= 0
    assert ok.mean() > 0.99 and m[ok].max() < 2 * 500000


@pytest.mark.parametrize("chunk", [1, 7, 4096, 99991])
def test_decoding_independent_of_chunk_size(t3_file, t2_sync_file, chunk):
    for path, _ in (t3_file, t2_sync_file):
        if chunk == 1 and path == t2_sync_file[0]:
            continue  # 10^6 single-record chunks: slow, covered by chunk=7
        ref = _decode_all(path, 1 << 22)
        got = _decode_all(path, chunk if chunk > 1 else 1)
        for a, b in zip(ref, got, strict=True):
            np.testing.assert_array_equal(a, b)


def test_overflow_multi_wrap_gaps_t2_and_t3(tmp_path):
    # photons separated by many overflow periods (v2 multi-count overflow records)
    t = np.array([5, 10, 3 * ptu.HH_T2_WRAP_V2 + 7, 3 * ptu.HH_T2_WRAP_V2 + 8, 10**13 + 1], np.int64)
    ch = np.array([0, 1, 0, 1, 0], np.int8)
    rec = ptu.encode_hh_t2(t, ch)
    p = tmp_path / "gap.ptu"
    ptu.write_ptu(p, rec, mode="t2", global_resolution_s=1e-12, resolution_s=1e-12, sync_rate_hz=0)
    for chunk in (1, 2, 3, 100):
        got, gch, _ = _decode_all(p, chunk)
        np.testing.assert_array_equal(got, t)
        np.testing.assert_array_equal(gch, ch)
    with ptufile.PtuFile(p) as f:
        d = f.decode_records()
    np.testing.assert_array_equal(d[d["channel"] >= 0]["time"].astype(np.int64), t)
    # full 25-bit overflow counts (PicoQuant spec) decode exactly with our reader
    rec = ptu.encode_hh_t2(t, ch, max_overflow_per_record=ptu.HH_T2_WRAP_V2 - 1)
    assert rec.size == t.size + 2  # one overflow record per gap
    ptu.write_ptu(p, rec, mode="t2", global_resolution_s=1e-12, resolution_s=1e-12, sync_rate_hz=0)
    for chunk in (1, 100):
        np.testing.assert_array_equal(_decode_all(p, chunk)[0], t)

    nsync = np.array([0, 1023, 1024, 5000, 10**7], np.int64)
    rec = ptu.encode_hh_t3(nsync, np.array([1, 2, 3, 4, 5]), np.array([0, 1, 0, 1, 0]))
    p3 = tmp_path / "gap3.ptu"
    ptu.write_ptu(p3, rec, mode="t3", global_resolution_s=1 / 2e6, resolution_s=16e-12, sync_rate_hz=2e6)
    for chunk in (1, 2, 100):
        got, _, m = _decode_all(p3, chunk)
        np.testing.assert_array_equal(got, nsync * 500000 + m)
    with ptufile.PtuFile(p3) as f:
        d = f.decode_records()
    np.testing.assert_array_equal(d[d["channel"] >= 0]["time"].astype(np.int64), nsync)


def test_hydraharp_v1_and_picoharp_records(tmp_path):
    # HydraHarp v1 T3: every overflow record adds exactly 1024 syncs
    recs = np.array([
        (0 << 31) | (1 << 25) | (100 << 10) | 5,     # photon ch1, nsync 5
        (1 << 31) | (0x3F << 25),                    # overflow
        (1 << 31) | (0x3F << 25),                    # overflow
        (0 << 31) | (0 << 25) | (7 << 10) | 3,       # photon ch0, nsync 2048+3
        (1 << 31) | (2 << 25) | 9,                   # marker (dropped)
    ], dtype=np.uint32)
    p = tmp_path / "hh1.ptu"
    ptu.write_ptu(p, recs, mode="t3", global_resolution_s=1e-6, resolution_s=1e-9, sync_rate_hz=1e6,
                  record_type=0x00010304)
    t, ch, m = _decode_all(p, 2)
    np.testing.assert_array_equal(ch, [1, 0])
    np.testing.assert_array_equal(m, [100_000, 7_000])
    np.testing.assert_array_equal(t, [5 * 10**6 + 100_000, (2048 + 3) * 10**6 + 7_000])
    with ptufile.PtuFile(p) as f:
        d = f.decode_records()
    np.testing.assert_array_equal(d[d["channel"] >= 0]["time"], [5, 2051])
    # PicoHarp T3: channel 1..4 -> 0..3, channel 15 dtime 0 = overflow of 65536
    recs = np.array([
        (1 << 28) | (10 << 16) | 7,
        (15 << 28) | 0,
        (2 << 28) | (20 << 16) | 9,
    ], dtype=np.uint32)
    p = tmp_path / "ph3.ptu"
    ptu.write_ptu(p, recs, mode="t3", global_resolution_s=1e-7, resolution_s=4e-12, sync_rate_hz=1e7,
                  record_type=0x00010303)
    t, ch, m = _decode_all(p, 1)
    np.testing.assert_array_equal(ch, [0, 1])
    np.testing.assert_array_equal(t, [7 * 100_000 + 40, (65536 + 9) * 100_000 + 80])
    with ptufile.PtuFile(p) as f:
        d = f.decode_records()
    ph = d[d["channel"] >= 0]
    np.testing.assert_array_equal(ph["time"], [7, 65545])
    np.testing.assert_array_equal(ph["channel"], [0, 1])


# ------------------------------------------------------------------------------- bad input


def test_wrong_magic(tmp_path):
    p = tmp_path / "x.ptu"
    p.write_bytes(b"NOTAPTU!" + b"\0" * 100)
    with pytest.raises(FileFormatError, match="magic"):
        ptu.read_header(p)
    with pytest.raises(FileFormatError, match="unknown photon file"):
        stream.open_stream(p)


def test_truncated_header_and_records(t3_file, tmp_path):
    src = t3_file[0].read_bytes()
    p = tmp_path / "trunc_header.ptu"
    p.write_bytes(src[:200])
    with pytest.raises(FileFormatError, match="truncated"):
        ptu.read_header(p)
    hdr = ptu.read_header(t3_file[0])
    p2 = tmp_path / "trunc_records.ptu"
    p2.write_bytes(src[: hdr.data_offset + 4 * 1000 + 2])
    with pytest.raises(FileFormatError, match="declares .* records, file holds 1000"):
        ptu.read_header(p2)
    h2 = ptu.read_header(p2, allow_truncated=True)
    assert h2.n_records == 1000


def test_unsupported_record_type(tmp_path):
    p = tmp_path / "u.ptu"
    ptu.write_ptu(p, np.zeros(4, np.uint32), mode="t3", global_resolution_s=1e-7, resolution_s=1e-12,
                  sync_rate_hz=1e7, record_type=0x00010999)
    with pytest.raises(FileFormatError, match="unsupported TTTR record type 0x00010999"):
        ptu.read_header(p)


def test_zero_photons_documented_empty_result(tmp_path):
    # only overflow records: a valid file without photons
    p = tmp_path / "empty.ptu"
    ptu.write_ptu(p, np.full(3, 0xFE000001, np.uint32), mode="t2", global_resolution_s=1e-12,
                  resolution_s=1e-12, sync_rate_hz=0)
    r = analyze_file(p)
    assert r.n_photons == 0 and r.n_records == 3
    assert r.on_fraction is None and r.g2_0 is None and r.lifetime_ns is None
    assert any("no photon" in w for w in r.warnings)
    p0 = tmp_path / "norecords.ptu"
    ptu.write_ptu(p0, np.zeros(0, np.uint32), mode="t3", global_resolution_s=5e-7, resolution_s=16e-12,
                  sync_rate_hz=2e6)
    assert analyze_file(p0).n_photons == 0


def test_empty_and_missing_channels(tmp_path):
    params = simulate.SimulationParams(duration_s=1.0, mode="t3", blinking="none", seed=5)
    t, ch, _ = simulate.simulate_photons(params)
    period = 500000
    nsync = t // period
    keep = ch == 0  # detector 1 never clicks
    p = tmp_path / "onech.ptu"
    ptu.write_ptu(p, ptu.encode_hh_t3(nsync[keep], (t[keep] - nsync[keep] * period) // 16, ch[keep]),
                  mode="t3", global_resolution_s=5e-7, resolution_s=16e-12, sync_rate_hz=2e6)
    r = analyze_file(p)
    assert r.g2_0_raw is None and r.g2_0 is None
    assert any("channel(s) [1] have no photons" in w for w in r.warnings)
    assert r.on_fraction is not None and r.lifetime_ns is not None
    with pytest.raises(InputError, match=r"channels \[2, 3\] have no photons; channels with photons: \[0\]"):
        analyze_file(p, AnalysisOptions(channels=(2, 3)))


def test_header_tags_parsed(t3_file):
    hdr = ptu.read_header(t3_file[0])
    assert hdr.mode == "t3" and hdr.record_format.name == "HydraHarp2T3"
    assert hdr.tags["Measurement_SubMode"] == 0
    assert hdr.tags["TTResult_NumberOfRecords"] == hdr.n_records
    assert abs(hdr.global_resolution_s - 5e-7) < 1e-18
    raw = t3_file[0].read_bytes()[:16]
    assert raw[:8] == ptu.MAGIC and struct.unpack("8s", raw[8:])[0].startswith(b"1.0")


def test_t2_v1_and_picoharp_t2_records(tmp_path):
    # HydraHarp v1 T2: overflow adds 33 552 000 per record; sync = special with channel 0
    recs = np.array([
        (1 << 31) | (0 << 25) | 100,                 # sync at 100
        (0 << 31) | (1 << 25) | 150,                 # photon ch1
        (1 << 31) | (0x3F << 25) | 5,                # overflow (v1: count ignored, +1 wrap)
        (0 << 31) | (0 << 25) | 7,                   # photon ch0 at wrap + 7
    ], dtype=np.uint32)
    p = tmp_path / "hh1t2.ptu"
    ptu.write_ptu(p, recs, mode="t2", global_resolution_s=1e-12, resolution_s=1e-12, sync_rate_hz=0,
                  record_type=0x00010204)
    t, ch, m = _decode_all(p, 1)
    np.testing.assert_array_equal(t, [150, ptu.HH_T2_WRAP_V1 + 7])
    np.testing.assert_array_equal(m, [50, ptu.HH_T2_WRAP_V1 + 7 - 100])
    with ptufile.PtuFile(p) as f:
        d = f.decode_records()
    assert ptu.HH_T2_WRAP_V1 + 7 in d["time"].astype(np.int64)
    # PicoHarp T2: 4 ps units, channel 15 with markers 0 is an overflow of 210 698 240
    recs = np.array([(1 << 28) | 10, (15 << 28) | 0, (0 << 28) | 3], dtype=np.uint32)
    p = tmp_path / "pht2.ptu"
    ptu.write_ptu(p, recs, mode="t2", global_resolution_s=4e-12, resolution_s=4e-12, sync_rate_hz=0,
                  record_type=0x00010203)
    t, ch, _ = _decode_all(p, 2)
    np.testing.assert_array_equal(t, [40, (ptu.PH_T2_WRAP + 3) * 4])
    np.testing.assert_array_equal(ch, [1, 0])
    with ptufile.PtuFile(p) as f:
        d = f.decode_records()
    ph = d[d["channel"] >= 0]
    np.testing.assert_array_equal(ph["time"].astype(np.int64) * 4, t)


def test_t2_sync_period_from_records_when_header_lacks_rate(tmp_path):
    t = np.concatenate([np.arange(0, 10**7, 200_000), [1234, 401_000]])
    ch = np.concatenate([np.full(50, -1), [0, 1]]).astype(np.int8)
    o = np.argsort(t, kind="stable")
    p = tmp_path / "norate.ptu"
    ptu.write_ptu(p, ptu.encode_hh_t2(t[o], ch[o]), mode="t2", global_resolution_s=1e-12,
                  resolution_s=1e-12, sync_rate_hz=0)
    info, chunks = stream.open_stream(p)
    assert info.sync_period_ps == 200_000
    c = next(chunks)
    np.testing.assert_array_equal(c.microtimes_ps, [1234, 1000])


def test_numba_decoder_identical_to_numpy(t3_file, t2_sync_file, tmp_path):
    pytest.importorskip("numba")
    t = np.array([5, 10, 3 * ptu.HH_T2_WRAP_V2 + 7, 10**13 + 1], np.int64)
    gap = tmp_path / "gap.ptu"
    ptu.write_ptu(gap, ptu.encode_hh_t2(t, np.array([0, 1, -1, 0], np.int8)), mode="t2",
                  global_resolution_s=1e-12, resolution_s=1e-12, sync_rate_hz=0)
    for path, chunks in ((t3_file[0], (3, 10007)), (t2_sync_file[0], (10007, 1 << 20)), (gap, (1, 3))):
        for chunk in chunks:
            a = list(ptu.iter_ptu_chunks(path, chunk, use_numba=False))
            b = list(ptu.iter_ptu_chunks(path, chunk, use_numba=True))
            assert len(a) == len(b)
            for x, y in zip(a, b, strict=True):
                np.testing.assert_array_equal(x.times_ps, y.times_ps)
                np.testing.assert_array_equal(x.channels, y.channels)
                assert (x.microtimes_ps is None) == (y.microtimes_ps is None)
                if x.microtimes_ps is not None:
                    np.testing.assert_array_equal(x.microtimes_ps, y.microtimes_ps)
                if x.sync_times_ps is not None:
                    np.testing.assert_array_equal(x.sync_times_ps, y.sync_times_ps)
                assert x.end_time_ps == y.end_time_ps


def test_photon_hdf5_conversion_roundtrip_t2_with_syncs(t2_sync_file, tmp_path):
    from surfchem.experiment import photonhdf5

    h5 = tmp_path / "t2s.h5"
    photonhdf5.convert_to_photon_hdf5(t2_sync_file[0], h5, chunk_records=77777)
    t, ch, m = _decode_all(t2_sync_file[0], 1 << 20)
    info, chunks = stream.open_stream(h5, 50000)
    assert info.source == "photon-hdf5" and info.sync_period_ps == pytest.approx(500000)
    got = list(chunks)
    np.testing.assert_array_equal(np.concatenate([c.times_ps for c in got]), t)
    np.testing.assert_array_equal(np.concatenate([c.channels for c in got]), ch)
    np.testing.assert_array_equal(np.concatenate([c.microtimes_ps for c in got]), m)


def test_hdf5_that_is_not_photon_hdf5(tmp_path):
    import h5py

    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as fh:
        fh["x"] = np.arange(3)
    with pytest.raises(FileFormatError, match="not Photon-HDF5"):
        stream.open_stream(p)
