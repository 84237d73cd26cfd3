"""Legacy PicoQuant files (.pt3, .pt2, .ht3, .ht2): headers and records built by hand here.

The headers are packed field by field from PicoQuant's demo-reader layout (not from
``surfchem.experiment.legacy``'s tables); photon times, channels, overflows and markers are
known exactly. Independent readers (phconvert for .pt3 and HydraHarp 1.0 .ht3, tttrlib for .ht3)
are compared where they install.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from _legacy_files import assert_one_line_file_errors, hydraharp_header, picoharp_header, write

from surfchem.cli.main import main
from surfchem.experiment import legacy, ptu, simulate, stream


def hh(special: int, channel: int, payload: int) -> int:
    return (special << 31) | (channel << 25) | payload


def hh_t3(channel: int, dtime: int, nsync: int) -> int:
    return hh(0, channel, (dtime << 10) | nsync)


def ph_t3(channel: int, dtime: int, nsync: int) -> int:
    return (channel << 28) | (dtime << 16) | nsync


def decode(path, chunk: int = 1 << 20):
    info, chunks = stream.open_stream(path, chunk)
    chunks = list(chunks)
    t = np.concatenate([c.times_ps for c in chunks])
    ch = np.concatenate([c.channels for c in chunks])
    m = None if chunks[0].microtimes_ps is None else np.concatenate([c.microtimes_ps for c in chunks])
    return info, t, ch, m


# HydraHarp T3: overflow with count 3 (v2: +3 wraps, v1: +1), marker, overflow with count 0 (= 1)
HH_T3_RECORDS = [
    hh_t3(0, 100, 5),
    hh(1, 63, 3),
    hh_t3(1, 7, 10),
    hh(1, 2, 20),            # marker 2: dropped, no effect on time
    hh(1, 63, 0),
    hh_t3(2, 32767, 1023),
]
HH_T3_NSYNC = {"1.0": [5, 1024 + 10, 2 * 1024 + 1023], "2.0": [5, 3 * 1024 + 10, 4 * 1024 + 1023]}

# HydraHarp T2: sync at 50, photon, overflow count 2, photon, marker, overflow count 0, photon
HH_T2_RECORDS = [
    hh(1, 0, 50),
    hh(0, 0, 100),
    hh(1, 63, 2),
    hh(0, 1, 5),
    hh(1, 3, 9),
    hh(1, 63, 0),
    hh(0, 0, 33_551_999),
]
HH_T2_TIMES = {
    "1.0": [100, 33_552_000 + 5, 2 * 33_552_000 + 33_551_999],  # v1: every overflow = 33 552 000
    "2.0": [100, 2 * 2**25 + 5, 3 * 2**25 + 33_551_999],          # v2: count x 2^25
}


@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("chunk", [1, 2, 5, 1000])
def test_ht3_records_exact(tmp_path, version, chunk):
    p = write(tmp_path / "x.ht3", hydraharp_header(3, len(HH_T3_RECORDS), version.encode()), HH_T3_RECORDS)
    info, t, ch, m = decode(p, chunk)
    assert (info.source, info.mode) == ("ht3", "t3")
    assert info.record_type == ("HydraHarpT3" if version == "1.0" else "HydraHarp2T3")
    assert info.sync_period_ps == pytest.approx(100_000) and info.microtime_bin_ps == pytest.approx(4.0)
    assert info.acquisition_time_s == pytest.approx(1.0)
    np.testing.assert_array_equal(ch, [0, 1, 2])
    np.testing.assert_array_equal(m, [400, 28, 32767 * 4])
    np.testing.assert_array_equal(t, np.array(HH_T3_NSYNC[version]) * 100_000 + m)


@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_ht2_records_exact_and_overflow_period_per_version(tmp_path, version, chunk):
    p = write(tmp_path / "x.ht2", hydraharp_header(2, len(HH_T2_RECORDS), version.encode()), HH_T2_RECORDS)
    info, t, ch, m = decode(p, chunk)
    assert (info.source, info.mode, info.microtime_bin_ps) == ("ht2", "t2", None)
    assert info.record_type == ("HydraHarpT2" if version == "1.0" else "HydraHarp2T2")
    np.testing.assert_array_equal(t, HH_T2_TIMES[version])
    np.testing.assert_array_equal(ch, [0, 1, 0])
    np.testing.assert_array_equal(m, np.array(HH_T2_TIMES[version]) - 50)  # delay after the sync


def test_ht2_time_unit_is_base_resolution(tmp_path):
    p = write(tmp_path / "x.ht2", hydraharp_header(2, 7, b"2.0", base_res_ps=8.0), HH_T2_RECORDS)
    _, t, _, _ = decode(p)
    np.testing.assert_array_equal(t, np.array(HH_T2_TIMES["2.0"]) * 8)


PH_T3_RECORDS = [
    ph_t3(1, 10, 100),
    ph_t3(15, 0, 7),          # overflow (markers = 0): +65536 syncs, nsync field ignored
    ph_t3(15, 2, 5),          # marker 2: dropped
    ph_t3(4, 4095, 65535),
    ph_t3(15, 0, 0),
    ph_t3(15, 0, 0),
    ph_t3(2, 0, 0),
]


@pytest.mark.parametrize("chunk", [1, 2, 1000])
def test_pt3_records_exact(tmp_path, chunk):
    p = write(tmp_path / "x.pt3", picoharp_header(3, len(PH_T3_RECORDS), res_ns=0.004), PH_T3_RECORDS)
    info, t, ch, m = decode(p, chunk)
    assert (info.source, info.mode, info.record_type) == ("pt3", "t3", "PicoHarpT3")
    assert info.sync_period_ps == pytest.approx(50_000)
    np.testing.assert_array_equal(ch, [0, 3, 1])  # routing channels 1..4 -> 0-based
    np.testing.assert_array_equal(m, [40, 4095 * 4, 0])
    nsync = np.array([100, 65536 + 65535, 3 * 65536])
    np.testing.assert_array_equal(t, nsync * 50_000 + m)


def test_pt2_records_exact(tmp_path):
    recs = [
        (0 << 28) | 1000,
        (15 << 28) | (5 << 4),           # overflow: low 4 bits 0 (+210 698 240 tags)
        (15 << 28) | (77 << 4) | 3,      # markers 3: dropped
        (1 << 28) | 5,
        (15 << 28),
        (3 << 28) | 210_698_239,
    ]
    p = write(tmp_path / "x.pt2", picoharp_header(2, len(recs)), recs)
    for chunk in (1, 4, 100):
        info, t, ch, m = decode(p, chunk)
        assert (info.source, info.mode, info.record_type, m) == ("pt2", "t2", "PicoHarpT2", None)
        np.testing.assert_array_equal(ch, [0, 1, 3])
        np.testing.assert_array_equal(t, np.array([1000, 210_698_240 + 5, 2 * 210_698_240 + 210_698_239]) * 4)


def test_imaging_header_is_skipped(tmp_path):
    p = write(tmp_path / "img.pt3", picoharp_header(3, len(PH_T3_RECORDS), img=11), PH_T3_RECORDS)
    hdr = legacy.read_header(p)
    assert hdr.data_offset == 728 + 44 and hdr.n_records == len(PH_T3_RECORDS)
    np.testing.assert_array_equal(decode(p)[2], [0, 3, 1])
    p = write(tmp_path / "img.ht3", hydraharp_header(3, 6, b"2.0", n_chan=8, img=3), HH_T3_RECORDS)
    assert legacy.read_header(p).data_offset == 880 + 12  # 880 = 8-channel header (tttrlib's guess)
    np.testing.assert_array_equal(decode(p)[2], [0, 1, 2])


def test_dispatch_by_content_not_extension(tmp_path):
    p = write(tmp_path / "misnamed.ptu", hydraharp_header(3, 6, b"2.0"), HH_T3_RECORDS)
    assert decode(p)[0].source == "ht3"


# ------------------------------------------------------------------------------- bad files


def test_bad_legacy_files_one_line_errors(tmp_path):
    good = hydraharp_header(3, 6, b"2.0")
    cases = {
        "short.ht3": (good[:500], "header truncated"),
        "records.ht3": (good + np.array(HH_T3_RECORDS[:4], "<u4").tobytes(), "declares 6 records, file holds 4"),
        "v3.ht3": (hydraharp_header(3, 0, b"3.0"), "expected 1.0 or 2.0"),
        "v1.pt3": (picoharp_header(3, 0, version=b"1.0"), "only 2.0"),
        "hist.ht3": (hydraharp_header(0, 0, b"2.0"), "expected 2 (T2) or 3 (T3)"),
        "nosync.pt3": (picoharp_header(3, 0, sync_rate=0), "CntRate0=0"),
        "th200.t3r": (b"TimeHarp 200\0\0\0\0" + b"\0" * 900, "TimeHarp 200"),
        "junk.pt3": (b"PicoHarp 301\0\0\0\0" + b"\0" * 900, "unknown photon file"),
    }
    assert_one_line_file_errors(tmp_path, cases)
    hdr = legacy.read_header(tmp_path / "records.ht3", allow_truncated=True)
    assert (hdr.n_records, hdr.truncated) == (4, True)


def test_cli_unknown_file_exit_2(tmp_path, capsys):
    p = tmp_path / "x.ht3"
    p.write_bytes(b"HydraHarp\0\0\0\0\0\0\0" + b"2.0\0\0\0" + b"\0" * 40)
    assert main(["photons", "analyze", str(p), "--json"]) == 2
    err = capsys.readouterr().err
    assert "header truncated" in err and err.count("\n") == 1


# ------------------------------------------------------------ simulated files through the CLI


def _insert_overflows(counter: np.ndarray, events: np.ndarray, wrap: int, overflow_record: int) -> np.ndarray:
    """Record stream with one (v1-style, count-free) overflow record per wrap of ``counter``."""
    k = np.diff(counter // wrap, prepend=0)
    pos = np.arange(counter.size) + np.cumsum(k)
    out = np.full(counter.size + int(k.sum()), overflow_record, dtype=np.uint32)
    out[pos] = events
    return out


@pytest.fixture(scope="module")
def sim_t3(tmp_path_factory):
    """A simulated T3 PTU file (128 ps bins, so dtime fits PicoHarp's 12 bits) and its photons."""
    p = tmp_path_factory.mktemp("legacy") / "sim.ptu"
    simulate.write_simulated_ptu(simulate.SimulationParams(
        duration_s=2.0, mode="t3", resolution_ps=128, cycle_s=0.2, seed=11), p)
    _, t, ch, m = decode(p)
    return p, (t - m) // 500_000, m // 128, ch


@pytest.fixture(scope="module")
def sim_t2(tmp_path_factory):
    """A simulated T2 PTU file with recorded syncs (2 MHz, divider 4) and its merged events."""
    p = tmp_path_factory.mktemp("legacy") / "sim2.ptu"
    simulate.write_simulated_ptu(simulate.SimulationParams(
        duration_s=0.3, mode="t2", t2_sync_divider=4, block_s=0.1, seed=12), p)
    chunks = list(ptu.iter_ptu_chunks(p))
    t = np.concatenate([c.times_ps for c in chunks] + [c.sync_times_ps for c in chunks])
    ch = np.concatenate([c.channels.astype(np.int64) for c in chunks]
                        + [np.full(c.sync_times_ps.size, -1) for c in chunks])
    order = np.argsort(t, kind="stable")
    return p, t[order], ch[order]


def _analyze(path, capsys) -> dict:
    assert main(["photons", "analyze", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for k in ("path", "record_type"):
        out.pop(k, None)
    return out


def _same_analysis(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], float):
            assert b[k] == pytest.approx(a[k], rel=1e-6, abs=1e-12), k
        else:
            assert a[k] == b[k], k


def test_cli_ht3_v2_same_records_same_analysis(sim_t3, tmp_path, capsys):
    p, *_ = sim_t3
    hdr = ptu.read_header(p)
    raw = np.fromfile(p, dtype="<u4", offset=hdr.data_offset)
    h = write(tmp_path / "sim.ht3", hydraharp_header(3, raw.size, b"2.0", sync_rate=2_000_000,
                                                        res_ps=128.0, tacq_ms=2000), raw)
    ref = _analyze(p, capsys)
    assert ref["n_photons"] > 10_000
    _same_analysis(ref, _analyze(h, capsys))


@pytest.mark.parametrize("kind", ["pt3", "ht3v1"])
def test_cli_pt3_and_ht3_v1_same_analysis_as_ptu(sim_t3, tmp_path, capsys, kind):
    p, nsync, dtime, ch = sim_t3
    if kind == "pt3":
        assert dtime.max() < 4096 and ch.max() < 4
        ev = ((ch.astype(np.uint32) + 1) << 28) | (dtime.astype(np.uint32) << 16) | (nsync % 65536).astype(np.uint32)
        recs = _insert_overflows(nsync, ev, 65536, 0xF0000000)
        hdr = picoharp_header(3, recs.size, sync_rate=2_000_000, res_ns=0.128, tacq_ms=2000)
    else:
        ev = (ch.astype(np.uint32) << 25) | (dtime.astype(np.uint32) << 10) | (nsync % 1024).astype(np.uint32)
        recs = _insert_overflows(nsync, ev, 1024, 0xFE000000 | 5)  # v1 ignores the count field
        hdr = hydraharp_header(3, recs.size, b"1.0", sync_rate=2_000_000, res_ps=128.0, tacq_ms=2000)
    f = write(tmp_path / f"sim.{kind[:3]}", hdr, recs)
    _same_analysis(_analyze(p, capsys), _analyze(f, capsys))


def test_cli_ht2_v1_and_v2_same_analysis_as_ptu(sim_t2, tmp_path, capsys):
    p, t, ch = sim_t2
    ref = _analyze(p, capsys)
    assert ref["n_photons"] == int((ch >= 0).sum()) > 1000
    ev = np.where(ch < 0, hh(1, 0, 0), ch.astype(np.int64) << 25).astype(np.uint32)
    for version, wrap in ((b"1.0", 33_552_000), (b"2.0", 2**25)):
        recs = _insert_overflows(t, ev | (t % wrap).astype(np.uint32), wrap, 0xFE000001)
        f = write(tmp_path / f"sim{version.decode()[0]}.ht2", hydraharp_header(
            2, recs.size, version, sync_rate=2_000_000, tacq_ms=300), recs)
        _same_analysis(ref, _analyze(f, capsys))


def test_cli_pt2_runs(sim_t2, tmp_path, capsys):
    _, t, ch = sim_t2
    keep = ch >= 0
    tag = t[keep] // 4
    ev = (ch[keep].astype(np.uint32) << 28) | (tag % 210_698_240).astype(np.uint32)
    recs = _insert_overflows(tag, ev, 210_698_240, 0xF0000000)
    f = write(tmp_path / "sim.pt2", picoharp_header(2, recs.size, tacq_ms=300), recs)
    out = _analyze(f, capsys)
    assert out["n_photons"] == int(keep.sum())
    assert out["duration_s"] == pytest.approx(0.3, rel=0.01)


# ------------------------------------------------------------------- independent readers


def test_pt3_and_ht3_v1_match_phconvert(sim_t3, tmp_path):
    pqreader = pytest.importorskip("phconvert.pqreader", reason="phconvert not installed")
    _, nsync, dtime, ch = sim_t3
    ev = ((ch.astype(np.uint32) + 1) << 28) | (dtime.astype(np.uint32) << 16) | (nsync % 65536).astype(np.uint32)
    recs = _insert_overflows(nsync, ev, 65536, 0xF0000000)
    f = write(tmp_path / "pc.pt3", picoharp_header(3, recs.size, sync_rate=2_000_000, res_ns=0.128), recs)
    ts, det, nt, meta, _ = pqreader.load_pt3(f)
    ph = det < 15
    _, t, c, m = decode(f, 4096)
    np.testing.assert_array_equal(det[ph].astype(np.int64) - 1, c)
    np.testing.assert_array_equal(nt[ph].astype(np.int64) * 128, m)
    assert meta["timestamps_unit"] == pytest.approx(500e-9)
    np.testing.assert_array_equal(ts[ph] * 500_000 + nt[ph].astype(np.int64) * 128, t)

    ev = (ch.astype(np.uint32) << 25) | (dtime.astype(np.uint32) << 10) | (nsync % 1024).astype(np.uint32)
    recs = _insert_overflows(nsync, ev, 1024, 0xFE000000)
    f = write(tmp_path / "pc.ht3", hydraharp_header(3, recs.size, b"1.0", sync_rate=2_000_000, res_ps=128.0), recs)
    ts, det, nt, meta, _ = pqreader.load_ht3(f)
    ph = det < 64
    _, t, c, m = decode(f, 4096)
    np.testing.assert_array_equal(det[ph], c)
    np.testing.assert_array_equal(ts[ph] * 500_000 + nt[ph].astype(np.int64) * 128, t)


@pytest.mark.parametrize("version", [b"1.0", b"2.0"])
def test_ht3_matches_tttrlib(sim_t3, tmp_path, version):
    tttrlib = pytest.importorskip("tttrlib", reason="tttrlib not installed")
    p, nsync, dtime, ch = sim_t3
    if version == b"2.0":  # the simulator's PTU records are HydraHarp v2 (multi-count overflows)
        hdr = ptu.read_header(p)
        recs = np.fromfile(p, dtype="<u4", offset=hdr.data_offset)
    else:
        ev = (ch.astype(np.uint32) << 25) | (dtime.astype(np.uint32) << 10) | (nsync % 1024).astype(np.uint32)
        recs = _insert_overflows(nsync, ev, 1024, 0xFE000000)
    f = write(tmp_path / "tl.ht3", hydraharp_header(3, recs.size, version, sync_rate=2_000_000,
                                                       res_ps=128.0, n_chan=4), recs)
    d = tttrlib.TTTR(f, "HT3")
    photon = np.asarray(d.event_types) == 0
    _, t, c, m = decode(f, 4096)
    np.testing.assert_array_equal(np.asarray(d.routing_channels)[photon], c)
    np.testing.assert_array_equal(np.asarray(d.micro_times)[photon].astype(np.int64) * 128, m)
    np.testing.assert_array_equal(np.asarray(d.macro_times)[photon].astype(np.int64) * 500_000 + m, t)
