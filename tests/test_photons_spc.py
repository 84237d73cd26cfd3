"""Becker & Hickl .spc FIFO files: records built by hand here, checked against hand-computed
values and against tttrlib's and phconvert's SPC readers where those follow the B&H layout.

Where the references deviate (measured with tttrlib 0.26.2 and phconvert 0.10.2):
tttrlib's SPC-600_256 reader wraps the 17-bit macrotime at 2^12 (2^16 after an MTOV photon);
its SPC-600_4096 reader reads 4 of the 6 record bytes (macrotime bits 0-15 lost), ignores MTOV
on valid records and reports the routing byte as 255 - R; phconvert's 256-channel reader wraps
at 2^12 and inverts the 8-bit ADC as 4095 - ADC. Those values are checked by hand only.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from _legacy_files import assert_one_line_file_errors

from surfchem.cli.main import main
from surfchem.errors import FileFormatError, InputError
from surfchem.experiment import bhspc, ptu, simulate, stream

CLOCK = 500  # first-frame macrotime clock, 0.1 ns units: 50 ns
CLOCK_PS = 50_000


def r130(mt=0, rout=0, adc=0, *, mark=0, gap=0, mtov=0, inv=0) -> int:
    return (inv << 31) | (mtov << 30) | (gap << 29) | (mark << 28) | (adc << 16) | (rout << 12) | mt


def r256(mt=0, rout=0, adc=0, *, gap=0, mtov=0, inv=0) -> int:
    return (inv << 31) | (mtov << 30) | (gap << 29) | (rout << 25) | (mt << 8) | adc


def multi(count: int) -> int:
    """32-bit multiple-overflow record (INVALID + MTOV, count in bits 0-27)."""
    return (1 << 31) | (1 << 30) | count


def r4096(mt=0, rout=0, adc=0, *, gap=0, mtov=0, inv=0) -> bytes:
    return bytes([adc & 0xFF, (adc >> 8) | (inv << 4) | (mtov << 5) | (gap << 6), mt >> 16, rout,
                  mt & 0xFF, (mt >> 8) & 0xFF])


def write32(path, records, clock: int = CLOCK) -> str:
    np.array([(1 << 31) | clock, *records], "<u4").tofile(path)
    return str(path)


def write48(path, records, clock: int = CLOCK) -> str:
    path.write_bytes(bytes([0, 0x10]) + struct.pack("<H", clock) + b"\0\0" + b"".join(records))
    return str(path)


def write_set(path, code: int, **setup) -> str:
    """A minimal .set file: revision (module code in bits 4-11), then SETUP entries."""
    body = "".join(f"  #SP [{k},{'F' if isinstance(v, float) else 'I'},{v}]\r\n" for k, v in setup.items())
    path.write_bytes(struct.pack("<h", (code << 4) | 0xC) + b"\0" * 40 + b"*SETUP\r\n"
                     + body.encode() + b"*END\r\n")
    return str(path)


def decode(path, chunk: int = 1 << 20):
    info, chunks = stream.open_stream(path, chunk)
    chunks = list(chunks)
    cat = lambda key: np.concatenate([getattr(c, key) for c in chunks])  # noqa: E731
    return info, cat("times_ps"), cat("channels"), cat("microtimes_ps")


def tttr(path, container):
    tttrlib = pytest.importorskip("tttrlib", reason="tttrlib not installed")
    d = tttrlib.TTTR(str(path), container)
    ph = np.asarray(d.event_types) == 0
    return (np.asarray(d.macro_times)[ph].astype(np.int64), np.asarray(d.micro_times)[ph].astype(np.int64),
            np.asarray(d.routing_channels)[ph].astype(np.int64))


# SPC-130: photon; MTOV photon (+1 wrap); marker with MTOV (+1, dropped); multiple overflow (3);
# invalid photon (dropped); GAP photon; multiple overflow (100 000); photon
R130 = [r130(5, 1, 4000), r130(3, 0, 0, mtov=1), r130(7, 2, 0, mark=1, inv=1, mtov=1), multi(3),
        r130(9, 0, 17, inv=1), r130(4095, 15, 4095, gap=1), multi(100_000), r130(1, 3, 123)]
T130 = np.array([5, 4096 + 3, 5 * 4096 + 4095, 100_005 * 4096 + 1])  # macrotime ticks
M130 = np.array([95, 4095, 0, 3972])  # microtime bins: 4095 - ADC


@pytest.mark.parametrize("chunk", [1, 2, 3, 1000])
def test_spc130_records_exact(tmp_path, chunk):
    info, t, ch, m = decode(write32(tmp_path / "x.spc", R130), chunk)
    assert (info.source, info.mode, info.record_type) == ("spc", "t3", "SPC-130")
    assert info.sync_period_ps == pytest.approx(CLOCK_PS)
    assert info.microtime_bin_ps == pytest.approx(CLOCK_PS / 4096)  # no .set file
    assert "no TAC settings" in info.extra["microtime_bin_source"]
    np.testing.assert_array_equal(ch, [1, 0, 15, 3])
    np.testing.assert_array_equal(m, np.rint(M130 * CLOCK_PS / 4096))
    np.testing.assert_array_equal(t, T130 * CLOCK_PS + m)


def test_spc130_matches_tttrlib_and_phconvert(tmp_path):
    p = write32(tmp_path / "x.spc", R130)
    macro, micro, rout = tttr(p, "SPC-130")
    np.testing.assert_array_equal(macro, T130)
    np.testing.assert_array_equal(micro, M130)
    np.testing.assert_array_equal(rout, [1, 0, 15, 3])
    bh = pytest.importorskip("phconvert.bhreader", reason="phconvert not installed")
    # phconvert reads a marker's MTOV+INVALID as a multiple overflow: compare without it
    q = write32(tmp_path / "y.spc", [r for r in R130 if not r & (1 << 28)])
    with open(q, "rb") as fh:
        ref = bh._read_spc1xx_8xx(fh)
    assert ref["timestamps_unit"] == pytest.approx(CLOCK * 1e-10)
    np.testing.assert_array_equal(ref["timestamps"].astype(np.int64), T130 - np.array([0, 0, 4096, 4096]))
    np.testing.assert_array_equal(ref["nanotimes"], M130)
    np.testing.assert_array_equal(ref["detectors"], [1, 0, 15, 3])
    _, t, _, m = decode(q)
    np.testing.assert_array_equal((t - m) // CLOCK_PS, ref["timestamps"].astype(np.int64))


# SPC-600/630 256 channels: photon; MTOV photon (+1 wrap of 2^17); multiple overflow (2); photon
R256 = [r256(100, 2, 200), r256(7, 1, 0, mtov=1), multi(2), r256(131071, 7, 255, gap=1)]
T256 = np.array([100, 2**17 + 7, 3 * 2**17 + 131071])
M256 = np.array([55, 255, 0])  # 255 - ADC


def test_spc600_256_by_set_file(tmp_path):
    p = write32(tmp_path / "x.spc", R256)
    write_set(tmp_path / "x.set", 0x22, SP_ADC_RE=256, SP_TAC_R=5e-8, SP_TAC_G=2)
    for chunk in (1, 3, 100):
        info, t, ch, m = decode(p, chunk)
        assert info.record_type == "SPC-600_256"
        assert info.microtime_bin_ps == pytest.approx(5e-8 / 2 / 256 * 1e12)
        np.testing.assert_array_equal(ch, [2, 1, 7])
        np.testing.assert_array_equal(m, np.rint(M256 * 5e-8 / 2 / 256 * 1e12))
        np.testing.assert_array_equal(t, T256 * CLOCK_PS + m)
    macro, micro, rout = tttr(p, "SPC-600_256")
    np.testing.assert_array_equal(micro, M256)
    np.testing.assert_array_equal(rout, [2, 1, 7])
    assert macro[0] == T256[0]  # later ones: tttrlib wraps at 2^12 / 2^16 (see module docstring)


# SPC-600/630 4096 channels (6-byte records): photon; MTOV photon (+2^24); invalid record with
# MTOV (+2^24, dropped); photon
R4096 = [r4096(0x123456, 5, 100), r4096(10, 0, 4095, mtov=1), r4096(77, 3, 5, inv=1, mtov=1),
         r4096(0xFFFFFF, 100, 0)]
T4096 = np.array([0x123456, 2**24 + 10, 2 * 2**24 + 0xFFFFFF])
M4096 = np.array([3995, 0, 4095])


@pytest.mark.parametrize("setup", [{"SP_ADC_RE": 4096}, {}])  # mode from the .set, or the frame
def test_spc600_4096_records(tmp_path, setup):
    p = write48(tmp_path / "x.spc", R4096)
    write_set(tmp_path / "x.SET", 0x21, **setup)
    for chunk in (1, 2, 100):
        info, t, ch, m = decode(p, chunk)
        assert info.record_type == "SPC-600_4096"
        np.testing.assert_array_equal(ch, [5, 0, 100])
        np.testing.assert_array_equal(m, np.rint(M4096 * CLOCK_PS / 4096))
        np.testing.assert_array_equal(t, T4096 * CLOCK_PS + m)
    _, micro, rout = tttr(p, "SPC-600_4096")
    np.testing.assert_array_equal(micro, M4096)
    np.testing.assert_array_equal(rout & 0xFF, 255 - np.array([5, 0, 100]))  # tttrlib: 255 - R
    bh = pytest.importorskip("phconvert.bhreader", reason="phconvert not installed")
    with open(p, "rb") as fh:
        ref = bh._read_spc6xx_48bit(fh)
    valid = np.array([True, True, False, True])  # phconvert keeps INVALID records
    assert ref["timestamps_unit"] == pytest.approx(CLOCK * 1e-10)
    np.testing.assert_array_equal(ref["timestamps"][valid], T4096)
    np.testing.assert_array_equal(ref["nanotimes"][valid], M4096)
    np.testing.assert_array_equal(ref["detectors"][valid], [5, 0, 100])


def test_layout_argument(tmp_path):
    p = write32(tmp_path / "x.spc", R256)  # no .set file: SPC-130 unless told
    assert bhspc.read_header(p).record_format.name == "SPC-130"
    hdr = bhspc.read_header(p, layout="SPC-630_256")
    t = np.concatenate([c.times_ps - c.microtimes_ps for c in ptu.iter_ptu_chunks(hdr)])
    np.testing.assert_array_equal(t // CLOCK_PS, T256)
    with pytest.raises(InputError, match="unknown SPC layout"):
        bhspc.read_header(p, layout="SPC-999")


def test_bad_spc_files_one_line_errors(tmp_path):
    good = np.array([(1 << 31) | CLOCK, *R130], "<u4").tobytes()
    cases = {
        "noframe.spc": (np.array(R130, "<u4").tobytes(), "is not a Becker & Hickl SPC-130 first frame"),
        "zeroclock.spc": (np.array([1 << 31, *R130], "<u4").tobytes(), "non-zero macrotime clock"),
        "short.spc": (b"\x01\x02", "starts with a 4-byte first frame"),
        "partial.spc": (good + b"\x01\x02", "2 bytes after the last complete"),
        "data.bin": (good, "Becker & Hickl FIFO file named *.spc"),  # no magic, no .spc: refused
    }
    assert_one_line_file_errors(tmp_path, cases)
    assert bhspc.read_header(tmp_path / "partial.spc", allow_truncated=True).n_records == len(R130)
    p = write32(tmp_path / "qc.spc", R130)
    write_set(tmp_path / "qc.set", 0x8C)
    with pytest.raises(FileFormatError, match="SPC-QC-004"):
        stream.open_stream(p)


def test_magic_formats_win_over_the_spc_extension(tmp_path):
    p = tmp_path / "really_ptu.spc"
    ptu.write_ptu(p, ptu.encode_hh_t3([1, 2], [3, 4], [0, 1]), mode="t3", global_resolution_s=5e-8,
                  resolution_s=1e-11, sync_rate_hz=2e7)
    assert stream.open_stream(p)[0].source == "ptu"


# ------------------------------------------------------------- a simulated file through the CLI


def _spc130_from_t3(nsync: np.ndarray, dtime: np.ndarray, ch: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """SPC-130 records: one wrap -> MTOV on a photon, else a multiple-overflow record before it."""
    wraps = np.diff(nsync // 4096, prepend=0)
    single = (wraps == 1) & (inv == 0)
    ev = (((4095 - dtime) << 16) | (ch << 12) | (nsync % 4096) | (single << 30) | (inv << 31)).astype(np.uint32)
    extra = (wraps > 0) & ~single
    out = np.empty(ev.size + int(extra.sum()), np.uint32)
    pos = np.arange(ev.size) + np.cumsum(extra)
    out[pos] = ev
    out[pos[extra] - 1] = (0xC0000000 | wraps[extra]).astype(np.uint32)
    return out


def _analyze(path, capsys) -> dict:
    assert main(["photons", "analyze", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for k in ("path", "record_type", "n_records"):
        out.pop(k, None)
    return out


def test_cli_spc_same_analysis_as_ptu(tmp_path, capsys):
    p = tmp_path / "sim.ptu"
    simulate.write_simulated_ptu(simulate.SimulationParams(
        duration_s=0.5, mode="t3", resolution_ps=128, cycle_s=0.1, seed=17), p)
    chunks = list(ptu.iter_ptu_chunks(p))
    t = np.concatenate([c.times_ps for c in chunks])
    m = np.concatenate([c.microtimes_ps for c in chunks])
    ch = np.concatenate([c.channels for c in chunks]).astype(np.int64)
    nsync, dtime = (t - m) // 500_000, m // 128
    assert dtime.max() < 4096 and ch.max() < 16
    # an invalid record at the acquisition end (0.5 s = 10^6 clock periods) marks the duration
    nsync, dtime, ch = (np.append(a, v) for a, v in ((nsync, 1_000_000), (dtime, 0), (ch, 0)))
    inv = (np.arange(nsync.size) == nsync.size - 1).astype(np.int64)
    f = write32(tmp_path / "sim.spc", list(_spc130_from_t3(nsync, dtime, ch, inv)), clock=5000)
    write_set(tmp_path / "sim.set", 0x28, SP_TAC_R=128e-12 * 4096, SP_TAC_G=1)
    ref = _analyze(p, capsys)
    assert ref["n_photons"] > 1000
    out = _analyze(f, capsys)
    assert out.keys() == ref.keys()
    for k in ref:
        if isinstance(ref[k], float):
            assert out[k] == pytest.approx(ref[k], rel=1e-6, abs=1e-12), k
        else:
            assert out[k] == ref[k], k
