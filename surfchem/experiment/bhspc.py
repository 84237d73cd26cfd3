"""Becker & Hickl SPC FIFO files (``.spc``): first-frame check, record layouts, a chunked decoder.

An ``.spc`` file has no ident string: it is a stream of fixed-size records whose first record
(the "first frame") carries the macrotime clock in units of 0.1 ns and is flagged INVALID, so no
photon decoder uses it. :func:`surfchem.experiment.stream.open_stream` therefore routes a file
here only after the magic-based formats (PTU, legacy PicoQuant, Photon-HDF5) are ruled out and
only when its name ends in ``.spc`` -- the one extension-based route of the package -- and
:func:`read_header` then validates that first frame.

Record layouts (bit 0 = least significant; B&H TCSPC handbook, "FIFO files"; the same fields as
phconvert's ``bhreader`` and libtcspc's ``bh_spc.hpp``):

* SPC-130/140/150/160/180/830/930 ("SPC-130"), 32 bit: ``MT`` 0-11 (macrotime, wraps at 2^12),
  ``ROUT`` 12-15 (routing = detector channel), ``ADC`` 16-27, ``MARK`` 28, ``GAP`` 29, ``MTOV``
  30, ``INVALID`` 31. First frame: clock in bits 0-23, INVALID set.
* SPC-600/630 256-channel mode ("SPC-600_256"), 32 bit: ``ADC`` 0-7, ``MT`` 8-24 (wraps at
  2^17), ``ROUT`` 25-27, ``GAP`` 29, ``MTOV`` 30, ``INVALID`` 31. First frame as SPC-130.
* SPC-600/630 4096-channel mode ("SPC-600_4096"), 48 bit (6 bytes): ``ADC`` byte 0 and the low
  nibble of byte 1, ``INVALID``/``MTOV``/``GAP`` bits 4/5/6 of byte 1, ``MT`` bits 16-23 in
  byte 2 and bits 0-15 in bytes 4-5 (wraps at 2^24), ``ROUT`` byte 3. First frame: clock in
  bytes 2-3 (uint16), INVALID set.

Decoding (the same for all three): a record with ``MTOV`` adds one macrotime wrap before its
own macrotime; in the 32-bit layouts a record with ``INVALID`` and ``MTOV`` (and not ``MARK``) is
a multiple-overflow record whose bits 0-27 count the wraps. ``INVALID`` records are never photons
(``MARK`` ones are markers, dropped like PicoQuant markers); ``GAP`` (data lost before this record)
does not change the decoding. The TAC runs in reversed start-stop: microtime bin =
``2^adc_bits - 1 - ADC`` (as tttrlib and phconvert).

Timing: the data are T3-like and decoded as T3 through the PTU reader's chunk loop
(:func:`surfchem.experiment.ptu.iter_ptu_chunks`): the macrotime clock period plays the sync
period (photon time = macrotime * clock + microtime, as for PicoQuant T3), so the analysis
folds decays on the macrotime clock and reports its rate as the sync rate. That is exact when
the SPC macrotime clock is the laser SYNC; with the internal 50 ns clock the "sync rate" is the
clock's 20 MHz. The microtime bin is ``SP_TAC_R / (SP_TAC_G * 2^adc_bits)`` from the ``.set``
file that B&H software writes next to the ``.spc``; without it, ``clock / 2^adc_bits`` (tttrlib's
assumption, recorded in ``tags["MicrotimeBinSource"]``). The card (hence the layout) is read from
the ``.set`` file's revision field (module code, ``SPC_data_file_structure.h``); without a
``.set`` file the SPC-130 layout (all current cards) is assumed -- pass ``layout`` otherwise.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from surfchem.errors import FileFormatError, InputError
from surfchem.experiment import ptu

#: macrotime clock unit of the first frame, s
CLOCK_UNIT_S = 1e-10


@dataclass(frozen=True)
class SpcLayout:
    """One SPC record layout (see the module docstring)."""

    name: str  # tttrlib's container name
    record_bytes: int
    adc_bits: int
    macro_bits: int  # macrotime field width: one overflow = 2**macro_bits clock periods
    multi_overflow: bool  # INVALID + MTOV records carry an overflow count (bits 0-27)


LAYOUTS = {
    "SPC-130": SpcLayout("SPC-130", 4, 12, 12, True),
    "SPC-600_256": SpcLayout("SPC-600_256", 4, 8, 17, True),
    "SPC-600_4096": SpcLayout("SPC-600_4096", 6, 12, 24, False),
}
#: SPC-630 records are the SPC-600 ones
LAYOUT_ALIASES = {"SPC-630_256": "SPC-600_256", "SPC-630_4096": "SPC-600_4096"}

#: module codes of the .set revision field (``(revision & 0x0FF0) >> 4``) -> card name
CARD_NAMES = {
    0x20: "SPC-130", 0x21: "SPC-600", 0x22: "SPC-630", 0x23: "SPC-700", 0x24: "SPC-730",
    0x25: "SPC-830", 0x26: "SPC-140", 0x27: "SPC-930", 0x28: "SPC-150", 0x29: "DPC-230",
    0x2A: "SPC-130EM", 0x2B: "SPC-160", 0x2E: "SPC-150N", 0x80: "SPC-150NX", 0x81: "SPC-160X",
    0x82: "SPC-160PCIE", 0x83: "SPC-130EMN", 0x84: "SPC-180N", 0x85: "SPC-180NX",
    0x86: "SPC-180NXX", 0x87: "SPC-180N-USB", 0x88: "SPC-130IN", 0x89: "SPC-130INX",
    0x8A: "SPC-130INXX", 0x8B: "SPC-QC-104", 0x8C: "SPC-QC-004", 0x8D: "SPC-QC-106",
    0x8E: "SPC-QC-006",
}
SPC600_CARDS = {"SPC-600", "SPC-630"}
#: cards whose FIFO files use other record formats (DPC time tags, SPC-QC) or have no FIFO mode
UNSUPPORTED_CARDS = {"SPC-700", "SPC-730", "DPC-230", "SPC-QC-104", "SPC-QC-004", "SPC-QC-106",
                     "SPC-QC-006"}


class RecordFields(NamedTuple):
    """Fields of a block of records (arrays of one length)."""

    mt: np.ndarray  # int64 macrotime field
    rout: np.ndarray  # int64 routing
    adc: np.ndarray  # int64 ADC value
    invalid: np.ndarray  # bool
    mtov: np.ndarray  # bool
    mark: np.ndarray  # bool
    count: np.ndarray | None  # int64 bits 0-27 (overflow count of multiple-overflow records)


def bits(rec: np.ndarray, shift: int, width: int) -> np.ndarray:
    """int64 field of ``width`` bits starting at bit ``shift`` (0 = LSB) of uint32 records."""
    return ((rec >> np.uint32(shift)) & np.uint32((1 << width) - 1)).astype(np.int64)


def flag(rec: np.ndarray, bit: int) -> np.ndarray:
    """Boolean bit ``bit`` (0 = LSB) of uint32 records."""
    return ((rec >> np.uint32(bit)) & np.uint32(1)).astype(bool)


def fields_spc130(rec: np.ndarray) -> RecordFields:
    """Fields of SPC-130-family uint32 records."""
    return RecordFields(bits(rec, 0, 12), bits(rec, 12, 4), bits(rec, 16, 12), flag(rec, 31),
                        flag(rec, 30), flag(rec, 28), bits(rec, 0, 28))


def fields_spc600_256(rec: np.ndarray) -> RecordFields:
    """Fields of SPC-600/630 256-channel uint32 records (no markers)."""
    return RecordFields(bits(rec, 8, 17), bits(rec, 25, 3), bits(rec, 0, 8), flag(rec, 31),
                        flag(rec, 30), np.zeros(rec.shape, bool), bits(rec, 0, 28))


def fields_spc600_4096(rec: np.ndarray) -> RecordFields:
    """Fields of SPC-600/630 4096-channel records, an ``(n, 6)`` uint8 array (no markers)."""
    b = rec.astype(np.int64)
    mt = b[:, 4] | (b[:, 5] << 8) | (b[:, 2] << 16)
    adc = b[:, 0] | ((b[:, 1] & 0x0F) << 8)
    return RecordFields(mt, b[:, 3], adc, (b[:, 1] & 0x10) != 0, (b[:, 1] & 0x20) != 0,
                        np.zeros(len(b), bool), None)


FIELDS = {"SPC-130": fields_spc130, "SPC-600_256": fields_spc600_256,
          "SPC-600_4096": fields_spc600_4096}


def decode_records(layout: SpcLayout, dec: ptu.RecordDecoder, rec: np.ndarray) -> ptu.PhotonChunk:
    """Decode one block of SPC records; ``dec.overflow`` carries the wrap count across blocks.

    Returns photons only (valid records): times in ps since the start (macrotime * clock +
    microtime), 0-based routing channels, microtimes in ps (reversed ADC * microtime bin).
    """
    f = FIELDS[layout.name](rec)
    n = len(f.mt)
    if layout.multi_overflow:
        multi = f.invalid & f.mtov & ~f.mark
        inc = np.where(multi, f.count, f.mtov)
    else:
        multi = np.zeros(n, bool)
        inc = f.mtov.astype(np.int64)
    wraps = np.cumsum(inc, dtype=np.int64) + dec.overflow
    if n:
        dec.overflow = int(wraps[-1])
    ticks = (wraps << layout.macro_bits) + np.where(multi, 0, f.mt)
    macro = dec.t3_macro_ps(ticks)
    photon = ~f.invalid
    micro_bin = ((1 << layout.adc_bits) - 1) - f.adc[photon]
    micro = np.rint(micro_bin * (dec.header.resolution_s * 1e12)).astype(np.int64)
    end = int(macro[-1]) if n else 0
    return ptu.PhotonChunk(macro[photon] + micro, f.rout[photon].astype(np.int8), micro, end, n)


RECORD_FORMATS = {
    name: ptu.RecordFormat(name, "t3", "bh", 1, record_bytes=lay.record_bytes,
                           decode=functools.partial(decode_records, lay))
    for name, lay in LAYOUTS.items()
}


# --------------------------------------------------------------------------------- .set file


def set_file_of(path: str) -> str | None:
    """The ``.set`` file next to ``path`` (same stem, ``.set`` or ``.SET``), or None."""
    stem = os.path.splitext(path)[0]
    for ext in (".set", ".SET"):
        if os.path.isfile(stem + ext):
            return stem + ext
    return None


def read_set_file(set_path: str) -> dict:
    """Card and TAC settings of a B&H ``.set`` file.

    Returns
    -------
    dict
        ``card`` (name from the revision field's module code, or ``"code 0x.."``), and every
        ``[SP_NAME,T,value]`` setup entry as ``SP_NAME`` -> float (types F, I, U, L) or str.
    """
    with open(set_path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 2:
        raise FileFormatError(f"{set_path!r}: .set file shorter than its 2-byte revision field")
    code = (int.from_bytes(raw[:2], "little") & 0x0FF0) >> 4
    out: dict = {"card": CARD_NAMES.get(code, f"code {code:#04x}")}
    for name, typ, value in re.findall(rb"\[(SP_[A-Z0-9_]+),([A-Z]),([^\]\r\n]*)\]", raw):
        text = value.decode("ascii", "replace").strip()
        try:
            out[name.decode()] = float(text) if typ in b"FIUL" else text
        except ValueError:
            out[name.decode()] = text
    return out


# ------------------------------------------------------------------------------------ header


def first_frame_clock(path: str, head: bytes, layout: SpcLayout) -> int:
    """Macrotime clock (0.1 ns units) of a validated first frame.

    Raises
    ------
    FileFormatError
        The first record is not an INVALID-flagged frame with a non-zero clock.
    """
    if len(head) < layout.record_bytes:
        raise FileFormatError(
            f"{path!r}: {len(head)} bytes; a {layout.name} .spc file starts with a "
            f"{layout.record_bytes}-byte first frame"
        )
    if layout.record_bytes == 6:
        invalid, clock = bool(head[1] & 0x10), int.from_bytes(head[2:4], "little")
    else:
        word = int.from_bytes(head[:4], "little")
        invalid, clock = bool(word >> 31), word & 0xFFFFFF
    if not (invalid and clock > 0):
        raise FileFormatError(
            f"{path!r}: first record {head[:layout.record_bytes].hex()} is not a Becker & Hickl "
            f"{layout.name} first frame (expected the INVALID flag and a non-zero macrotime clock "
            "in 0.1 ns units)"
        )
    return clock


def _layout_from_set(path: str, head: bytes, settings: dict) -> SpcLayout:
    card = settings["card"]
    if card in UNSUPPORTED_CARDS or card.startswith("code"):
        raise FileFormatError(
            f"{path!r}: its .set file names the card {card}, whose .spc records are not "
            "supported; expected an SPC-130/140/150/160/180/830/930 or SPC-600/630 file"
        )
    if card not in SPC600_CARDS:
        return LAYOUTS["SPC-130"]
    adc = settings.get("SP_ADC_RE")
    if adc in (256.0, 4096.0):
        return LAYOUTS["SPC-600_256" if adc == 256.0 else "SPC-600_4096"]
    # no ADC resolution: the 32-bit first frame has INVALID in bit 31, the 48-bit one in bit 12
    word = int.from_bytes(head[:4], "little")
    return LAYOUTS["SPC-600_256" if word >> 31 else "SPC-600_4096"]


def _microtime_bin(settings: dict | None, clock_s: float, adc_bits: int) -> tuple[float, str]:
    n = 1 << adc_bits
    if settings:
        tac_r, tac_g = settings.get("SP_TAC_R"), settings.get("SP_TAC_G")
        if isinstance(tac_r, float) and isinstance(tac_g, float) and tac_r > 0 and tac_g > 0:
            return tac_r / (tac_g * n), f".set file: SP_TAC_R / (SP_TAC_G * {n})"
    return clock_s / n, f"assumed macrotime clock / {n} (no TAC settings; as tttrlib)"


def read_header(
    path: str | os.PathLike[str], *, allow_truncated: bool = False, layout: str | None = None
) -> ptu.PtuHeader:
    """Parse and validate the first frame of a Becker & Hickl ``.spc`` FIFO file.

    Parameters
    ----------
    path : str or path-like
        The ``.spc`` file. It has no ident: callers route it here by its extension (after the
        magic-based formats are ruled out); the first record must be a valid first frame.
    allow_truncated : bool
        Accept a file whose size leaves a partial record at the end (it is ignored).
    layout : str, optional
        Record layout: "SPC-130", "SPC-600_256", "SPC-600_4096" (or "SPC-630_256",
        "SPC-630_4096"). Default: from the card in the ``.set`` file next to ``path``; SPC-130
        without one.

    Returns
    -------
    PtuHeader
        T3 header for :func:`surfchem.experiment.ptu.iter_ptu_chunks`: ``global_resolution_s``
        the macrotime clock period (s), ``resolution_s`` the microtime bin (s),
        ``sync_rate_hz`` the clock rate (Hz), ``container`` "spc", ``data_offset`` one record.

    Raises
    ------
    InputError
        Missing file or unknown ``layout``.
    FileFormatError
        Invalid first frame, unsupported card, or a partial last record (unless
        ``allow_truncated``).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"photon file {path!r} does not exist")
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(6)
    set_path = set_file_of(path)
    settings = read_set_file(set_path) if set_path else None
    if layout is not None:
        name = LAYOUT_ALIASES.get(layout, layout)
        if name not in LAYOUTS:
            raise InputError(f"unknown SPC layout {layout!r}; expected one of "
                             f"{sorted(LAYOUTS) + sorted(LAYOUT_ALIASES)}")
        lay = LAYOUTS[name]
    elif settings:
        lay = _layout_from_set(path, head, settings)
    else:
        lay = LAYOUTS["SPC-130"]
    clock = first_frame_clock(path, head, lay)
    clock_s = clock * CLOCK_UNIT_S
    res, source = _microtime_bin(settings, clock_s, lay.adc_bits)
    n_records, partial = divmod(size - lay.record_bytes, lay.record_bytes)
    if partial and not allow_truncated:
        raise FileFormatError(
            f"{path!r} is truncated: {partial} bytes after the last complete {lay.record_bytes}-byte "
            f"{lay.name} record; pass allow_truncated=True to analyse the complete ones"
        )
    tags = {
        "MacroTimeClock": clock, "Layout": lay.name, "SetFile": set_path,
        "Card": settings["card"] if settings else None, "MicrotimeBinSource": source,
        "MeasDesc_GlobalResolution": clock_s, "MeasDesc_Resolution": res,
        "TTResult_SyncRate": 1.0 / clock_s, "TTResult_NumberOfRecords": n_records,
    }
    return ptu.PtuHeader(
        path=path, version=lay.name, tags=tags, record_type=-1,
        record_format=RECORD_FORMATS[lay.name], data_offset=lay.record_bytes,
        n_records=n_records, global_resolution_s=clock_s, resolution_s=res,
        sync_rate_hz=1.0 / clock_s, truncated=bool(partial),
        declared_records=n_records + 1 if partial else n_records, container="spc",
    )
