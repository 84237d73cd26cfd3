"""TimeHarp 200 .t3r files: headers and records built by hand, compared with phconvert 0.10.2.

Records: ``TimeTag:16 | Data:12 | Route:2 | Valid:1 | Reserved:1`` from bit 0 (libpicoquant's
struct; see :mod:`surfchem.experiment.legacy` for the evidence and where phconvert differs).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from _legacy_files import assert_one_line_file_errors, timeharp_header, write

from surfchem.cli.main import main
from surfchem.experiment import legacy, ptu, stream

RES_NS = 0.03662109375  # exact in float32 (75 / 2048 ns)
RES_PS = RES_NS * 1e3
CLOCK_PS = 100_000


def th(route: int, data: int, tag: int, valid: int = 1, reserved: int = 0) -> int:
    return (reserved << 31) | (valid << 30) | (route << 28) | (data << 16) | tag


OVERFLOW = th(0, 0x800, 0, valid=0)


def marker(bits: int, tag: int) -> int:
    return th(0, bits, tag, valid=0)


# photon, overflow, photon (route 2, last bin), marker 5 (no time effect), photon (route 3,
# reserved bit set), two overflows, photon (route 1)
RECORDS = [
    th(0, 100, 5),
    OVERFLOW,
    th(2, 4095, 65535),
    marker(5, 40),
    th(3, 7, 10, reserved=1),
    OVERFLOW,
    OVERFLOW,
    th(1, 0, 0),
]
TICKS = [5, 65536 + 65535, 65536 + 10, 3 * 65536]
BINS = [100, 4095, 7, 0]
ROUTES = [0, 2, 3, 1]


def decode(path, chunk: int = 1 << 20):
    info, chunks = stream.open_stream(path, chunk)
    chunks = list(chunks)
    cat = lambda name: np.concatenate([getattr(c, name) for c in chunks])  # noqa: E731
    return info, cat("times_ps"), cat("channels"), cat("microtimes_ps")


@pytest.mark.parametrize("version", [b"5.0", b"6.0"])
def test_t3r_records_exact(tmp_path, version):
    p = write(tmp_path / "x.t3r", timeharp_header(len(RECORDS), version, img=3), RECORDS)
    micro = np.rint(np.array(BINS) * RES_PS).astype(np.int64)
    for chunk in (1, 2, 3, 1000):
        info, t, ch, m = decode(p, chunk)
        assert (info.source, info.mode, info.record_type) == ("t3r", "t3", "TimeHarp200T3")
        assert info.sync_period_ps == pytest.approx(CLOCK_PS)
        assert info.microtime_bin_ps == pytest.approx(RES_PS)
        assert info.acquisition_time_s == pytest.approx(1.0)
        np.testing.assert_array_equal(m, micro)
        np.testing.assert_array_equal(t, np.array(TICKS) * CLOCK_PS + micro)
        np.testing.assert_array_equal(ch, ROUTES)


def test_t3r_header_fields(tmp_path):
    hdr = legacy.read_header(write(tmp_path / "x.t3r", timeharp_header(0, b"5.0", globclock_ns=50), []))
    assert (hdr.version, hdr.container, hdr.data_offset, hdr.n_records) == ("5.0", "t3r", 592, 0)
    assert hdr.global_resolution_s == pytest.approx(50e-9) and hdr.sync_rate_hz == pytest.approx(2e7)
    assert (hdr.tags["HardwareVersion"], hdr.tags["SyncRate"], hdr.tags["CommentField"]) == (
        "2.5", 10_000_000, "hand-built records")
    assert "CreatorName" not in hdr.tags
    hdr6 = legacy.read_header(write(tmp_path / "y.t3r", timeharp_header(0, b"6.0", img=2), []))
    assert (hdr6.version, hdr6.data_offset, hdr6.tags["HardwareIdent"]) == ("6.0", 648, "TimeHarp 200")
    # TTTRGlobclock 0: phconvert's fixed 100 ns
    hdr0 = legacy.read_header(write(tmp_path / "z.t3r", timeharp_header(0, globclock_ns=0), []))
    assert hdr0.global_resolution_s == pytest.approx(100e-9) and "TTTRGlobclockSource" in hdr0.tags


def _random_records(n: int, seed: int, routes: bool) -> np.ndarray:
    """Marker-free records: photons with random tags/bins (and routes), overflows in between."""
    rng = np.random.default_rng(seed)
    recs = th(0, 0, 0) + (rng.integers(0, 4096, n).astype(np.uint32) << np.uint32(16)) + \
        rng.integers(0, 65536, n).astype(np.uint32)
    if routes:
        recs |= rng.integers(0, 4, n).astype(np.uint32) << np.uint32(28)
    # sort tags within each wrap so time increases, then put 0..2 overflows between wraps
    wraps = np.split(recs, np.arange(50, n, 50))
    out = []
    for w in wraps:
        out.extend(w[np.argsort(w & np.uint32(0xFFFF), kind="stable")].tolist())
        out.extend([OVERFLOW] * int(rng.integers(1, 3)))
    return np.array(out, dtype=np.uint32)


@pytest.mark.parametrize("routes", [False, True])
def test_t3r_agrees_with_phconvert(tmp_path, routes):
    """Macrotimes (clock ticks) and microtimes (bins) equal phconvert's at several chunk sizes."""
    pqreader = pytest.importorskip("phconvert.pqreader")
    recs = _random_records(500, 7 + routes, routes)
    p = write(tmp_path / "r.t3r", timeharp_header(recs.size, b"5.0", img=4), recs)
    ts, det, nanot, meta = pqreader.load_t3r(p)
    valid = (recs >> 30) & 1 == 1
    assert meta["timestamps_unit"] == pytest.approx(CLOCK_PS * 1e-12)
    # phconvert's "detector" is bits 30-31 (Valid, Reserved): 1 for every photon here
    np.testing.assert_array_equal(det[valid], 1)
    for chunk in (13, 256, 1 << 20):
        _, t, ch, m = decode(p, chunk)
        np.testing.assert_array_equal(np.rint(m / RES_PS), nanot[valid])
        np.testing.assert_array_equal((t - m) // CLOCK_PS, ts[valid])
        np.testing.assert_array_equal(ch, (recs[valid] >> 28) & 3)
        assert routes or not ch.any()


def test_t3r_markers_do_not_shift_times_phconvert_counts_them(tmp_path):
    """phconvert counts every Valid=0 record as an overflow; a marker (Data bit 11 clear) is not."""
    pqreader = pytest.importorskip("phconvert.pqreader")
    recs = [th(0, 3, 100), marker(2, 200), th(0, 4, 300)]
    p = write(tmp_path / "m.t3r", timeharp_header(len(recs)), recs)
    ts = pqreader.load_t3r(p)[0]
    _, t, _, m = decode(p)
    np.testing.assert_array_equal((t - m) // CLOCK_PS, [100, 300])
    assert list(ts[[0, 2]]) == [100, 65536 + 300]


def test_t3r_v6_decodes_like_v5(tmp_path):
    recs = _random_records(400, 3, True)
    a = decode(write(tmp_path / "a.t3r", timeharp_header(recs.size, b"5.0"), recs))
    b = decode(write(tmp_path / "b.t3r", timeharp_header(recs.size, b"6.0", img=1), recs))
    for x, y in zip(a[1:], b[1:], strict=True):
        np.testing.assert_array_equal(x, y)


def test_bad_t3r_files_one_line_errors(tmp_path):
    cases = {
        "v4.t3r": (timeharp_header(0, b"4.0"), "expected one of ['5.0', '6.0']"),
        "hist.t3r": (timeharp_header(0, mode=0), "expected 2 (T3)"),
        "boards.t3r": (timeharp_header(0, boards=2), "NumberOfBoards=2, expected 1"),
        "short.t3r": (timeharp_header(0)[:500], "header truncated"),
        "nores.t3r": (timeharp_header(0, res_ns=0.0), "non-positive microtime resolution"),
        "records.t3r": (timeharp_header(5) + np.array(RECORDS[:3], "<u4").tobytes(),
                        "declares 5 records, file holds 3"),
    }
    assert_one_line_file_errors(tmp_path, cases)


def _analyze(path, capsys) -> dict:
    assert main(["photons", "analyze", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for k in ("path", "record_type"):
        out.pop(k, None)
    return out


def test_cli_t3r_same_analysis_as_ptu(tmp_path, capsys):
    """The same photons as a .t3r (100 ns clock) and as a HydraHarp T3 PTU (10 MHz sync)."""
    rng = np.random.default_rng(5)
    n = 3000
    tick = np.sort(rng.integers(0, 10_000_000, n))  # 1 s of 100 ns ticks
    dtime = np.minimum(rng.exponential(2000 / RES_PS, n).astype(np.int64) + 40, 2700)
    ch = rng.integers(0, 2, n)
    wraps = tick >> 16
    th_recs = np.array([th(int(c), int(d), int(t & 0xFFFF)) for c, d, t in zip(ch, dtime, tick, strict=True)], np.uint32)
    pos = np.arange(n) + wraps
    recs = np.full(n + int(wraps[-1]), OVERFLOW, np.uint32)
    recs[pos] = th_recs
    t3r = write(tmp_path / "x.t3r", timeharp_header(recs.size), recs)
    res_s = float(np.float32(RES_NS)) * 1e-9
    ref = ptu.write_ptu(tmp_path / "x.ptu", ptu.encode_hh_t3(tick, dtime, ch), mode="t3",
                        global_resolution_s=100e-9, resolution_s=res_s, sync_rate_hz=1e7,
                        acquisition_time_s=1.0)
    a, b = _analyze(ref, capsys), _analyze(t3r, capsys)
    assert a["n_photons"] == n
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], float):
            assert b[k] == pytest.approx(a[k], rel=1e-6, abs=1e-12), k
        else:
            assert a[k] == b[k], k
