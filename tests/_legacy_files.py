"""Legacy PicoQuant file builders for the tests: headers packed field by field from PicoQuant's
demo-reader structs (independently of ``surfchem.experiment.legacy``'s tables)."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest

from surfchem.errors import FileFormatError, InputError
from surfchem.experiment import stream


def _text_header(ident: bytes, version: bytes) -> bytes:
    return struct.pack("<16s6s18s12s18s2s256s", ident, version, b"surfchem test", b"1.0",
                       b"29/11/26 12:00:00", b"\r\n", b"hand-built records")


def _display_and_repeat() -> bytes:
    # StopAt .. DispCountsTo (8 int32), DispCurves (8 x 2 int32), Params (3 x 3 float32),
    # RepeatMode .. RepeatWaitTime (4 int32), ScriptName[20]
    return struct.pack("<8i16i9f4i20s", *([0] * 24), *([0.0] * 9), 0, 0, 0, 0, b"")


def picoharp_header(mode: int, n_records: int, *, sync_rate: int = 20_000_000, res_ns: float = 0.004,
                    tacq_ms: int = 1000, img: int = 0, version: bytes = b"2.0") -> bytes:
    """PicoHarp 300 .pt2/.pt3 header (pt3demo.c structs, 4-byte packing)."""
    binary = struct.pack("<10i", 1, 32, 4, 1, 0, mode, 0, 0, 0, tacq_ms) + _display_and_repeat()
    board = struct.pack("<16s8s6if2i24i", b"PicoHarp 300", b"2.0", 1017, 1, 0, 0, 0, 0, res_ns, 0, 0,
                        *([0] * 24))
    tttr = struct.pack("<9i", 0, 0, 0, sync_rate, 12345, 0, 0, n_records, img)
    out = _text_header(b"PicoHarp 300", version) + binary + board + tttr + b"\x07\x00\x00\x00" * img
    assert len(out) == 328 + 208 + 156 + 36 + 4 * img
    return out


def hydraharp_header(mode: int, n_records: int, version: bytes, *, sync_rate: int = 10_000_000,
                     res_ps: float = 4.0, base_res_ps: float = 1.0, n_chan: int = 2,
                     tacq_ms: int = 1000, img: int = 0) -> bytes:
    """HydraHarp .ht2/.ht3 header (ht3demo structs: per-channel settings, then input rates)."""
    binary = struct.pack("<6id2i", 1, 32, 0, mode, 0, 0, res_ps, 0, tacq_ms) + _display_and_repeat()
    hardware = struct.pack("<16s8s2i20idq8i", b"HydraHarp", b"930021", 1000, 1, *([0] * 20),
                           base_res_ps, (1 << n_chan) - 1, n_chan, 0, 0, 0, 1, -50, -10, 0)
    chans = struct.pack(f"<{4 * n_chan}i", *([0, -50, -10, 0] * n_chan))
    rates = struct.pack(f"<{n_chan}i", *([5000] * n_chan))
    tttr = struct.pack("<4iq", sync_rate, 0, 0, img, n_records)
    out = _text_header(b"HydraHarp", version) + binary + hardware + chans + rates + tttr + b"\0" * 4 * img
    assert len(out) == 328 + 208 + 160 + 20 * n_chan + 24 + 4 * img
    return out


def write(path, header: bytes, records) -> str:
    with open(path, "wb") as fh:
        fh.write(header)
        fh.write(np.asarray(records, dtype="<u4").tobytes())
    return str(path)


def timeharp_header(n_records: int, version: bytes = b"5.0", *, mode: int = 2, globclock_ns: int = 100,
                    res_ns: float = 0.03662109375, sync_rate: int = 10_000_000, boards: int = 1,
                    tacq_ms: int = 1000, img: int = 0) -> bytes:
    """TimeHarp 200 .t3r header: format 5.0 (phconvert ``t3r_reader``, libpicoquant ``th_v50.h``)
    or 6.0 (libpicoquant ``th_v60.h``: PicoQuant text header, board header with ident)."""
    if version == b"5.0":
        text = struct.pack("<16s6s6s18s2s256s", b"TimeHarp 200", version, b"2.5", b"29/11/26 12:00:00",
                           b"\r\n", b"hand-built records")
        board = struct.pack("<5if", 1234, 20, 50, -50, 0, res_ns)
    else:
        text = _text_header(b"TimeHarp 200", version)
        board = struct.pack("<16s8s5if", b"TimeHarp 200", b"2.5", 1234, 20, 50, -50, 0, res_ns)
    binary = struct.pack("<11i", 4096, 1, 32, 4, boards, 0, mode, 0, 0, 0, tacq_ms) + _display_and_repeat()
    tttr = struct.pack("<13i", globclock_ns, 0, 0, 0, 0, 0, 0, sync_rate, 5000, tacq_ms, 0, n_records, img)
    out = text + binary + board + tttr + b"\x07\x00\x00\x00" * img
    assert len(out) == len(text) + 212 + len(board) + 52 + 4 * img
    assert len(text) + len(board) == (304 + 24 if version == b"5.0" else 328 + 48)
    return out


def assert_one_line_file_errors(tmp_path: Path, cases: dict[str, tuple[bytes, str]]) -> None:
    """Each ``name: (bytes, message)`` written to ``tmp_path/name`` must make ``open_stream`` raise a
    one-line :class:`FileFormatError` (an :class:`InputError`) naming the file and containing
    ``message``."""
    for name, (data, msg) in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(InputError, match=re.escape(msg)) as err:
            stream.open_stream(p)
        assert name in str(err.value) and "\n" not in str(err.value)
        assert isinstance(err.value, FileFormatError)
