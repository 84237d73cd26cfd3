"""Legacy PicoQuant TTTR files: ``.pt3``/``.pt2`` (PicoHarp 300), ``.ht3``/``.ht2`` (HydraHarp),
``.t3r`` (TimeHarp 200).

These files predate PTU: a fixed binary header (C structs written field by field, little
endian, no padding) followed by 32-bit records. PicoHarp and HydraHarp files carry the records
of PTU files; TimeHarp 200 records have their own layout and decoder
(:func:`decode_timeharp_t3r`, below). This module parses the header into a
:class:`~surfchem.experiment.ptu.PtuHeader` (record format, resolutions, record count, data
offset); decoding is the PTU reader's one chunked path
(:func:`~surfchem.experiment.ptu.iter_ptu_chunks`), so overflow handling and chunk
independence are shared.

The kind of file is read from its 16-byte ASCII ``Ident`` at offset 0 ("PicoHarp 300",
"HydraHarp", "TimeHarp 200"), never from the extension; T2/T3 from ``MeasMode``.

Layout (PicoQuant's legacy demo readers ``pt3demo.c``/``pt2demo.c`` (format 2.0) and the
HydraHarp ``ht3demo`` (formats 1.0 and 2.0); phconvert's ``pqreader`` and tttrlib's
``TTTRHeader::read_ht3_header`` read the same layout):

* text header, 328 bytes: Ident[16], FormatVersion[6], CreatorName[18], CreatorVersion[12],
  FileTime[18], CRLF[2], CommentField[256].
* PicoHarp 300 (format 2.0 only): binary header (208 bytes), one board header (156 bytes:
  ``Resolution`` is a float32 in ns), TTTR header (36 bytes: ``CntRate0`` is the sync rate in
  T3 mode, ``Records`` an int32), then ``ImgHdrSize`` int32 of imaging header. T3: sync period
  ``1 / CntRate0``, microtime bin ``Resolution``; T2: time tags in units of 4 ps.
* HydraHarp (formats 1.0 and 2.0): binary header (208 bytes: ``Resolution`` float64 in ps),
  hardware header (160 bytes: ``BaseResolution`` float64 in ps, ``InpChansPresent``), per
  input channel 4 int32 settings then one int32 rate each, TTTR header (24 bytes: ``SyncRate``
  in Hz, ``nRecords`` int64), then the imaging header. T3: sync period ``1 / SyncRate``,
  microtime bin ``Resolution``; T2: time tags in units of ``BaseResolution`` (1 ps).
  Format 1.0 records are HydraHarp v1 (every overflow record counts one wrap, T2 wrap
  33 552 000), format 2.0 records are v2 (overflow records carry a count, T2 wrap 2^25).

TimeHarp 200 ``.t3r`` (TTTR mode, ``MeasMode`` 2). No ``.t2r`` layout exists in any source
checked: libpicoquant knows the TimeHarp 200 modes interactive, continuous and TTTR ("T3"), the
SIS writer only TTTR, phconvert only ``.t3r``; other modes are refused. PicoQuant's own TimeHarp 200 demo readers are not in PicoQuant's
public demo repositories (``PicoQuant-Time-Tagged-File-Format-Demos`` holds PicoHarp legacy demos
only), so the layout is phconvert 0.10.2's ``pqreader.t3r_reader`` (format 5.0), checked against
the independent C structs of libpicoquant (T. Bischof; ``th_v50.h``/``th_v60.h``) and the
TimeHarp 6.x file writer in KU Leuven's SIS C# code (format 6.0, 640-byte header):

* format 5.0 (phconvert, libpicoquant): text header 304 bytes: Ident[16],
  FormatVersion[6] (phconvert: ``SoftwareVersion``), HardwareVersion[6], FileTime[18], CRLF[2],
  CommentField[256]; board header 24 bytes (``Resolution`` float32 in ns, last field).
* format 6.0 (libpicoquant, SIS): the 328-byte text header above; board header 48 bytes
  (HardwareIdent[16], HardwareVersion[8], then the 5.0 board fields).
* both: binary header 212 bytes (``NumberOfChannels``, ``NumberOfCurves``, ``BitsPerChannel``,
  ``RoutingChannels``, ``NumberOfBoards`` (must be 1), ``ActiveCurve``, ``MeasMode``, ...,
  ``AcquisitionTime`` in ms, then the display/repeat block above), one board header, TTTR header
  52 bytes (``TTTRGlobclock`` in ns, "normally 100"; ``SyncRate`` in Hz as shown by the rate
  meter; ``NumberOfRecords`` int32; ``SpecHeaderLength`` int32 words to skip).
* records (libpicoquant's ``TimeTag:16 | Data:12 | Route:2 | Valid:1 | Reserved:1`` from bit 0;
  phconvert's docstring says the same: "If valid==1 the Data == Channel else Data =
  Overflow[1], Reserved[8], Marker[3]"): ``Valid`` = 1: a photon, microtime bin ``Data``, router
  channel ``Route`` (bits 28-29); ``Valid`` = 0 and ``Data`` bit 11: an overflow (one 2^16 wrap
  of the time tag); ``Valid`` = 0 otherwise: markers (``Data`` bits 0-2), dropped. The time tag
  counts ``TTTRGlobclock`` periods (100 ns), not laser syncs: it plays the sync period here
  (photon time = tag * clock + microtime; decays are folded on the 100 ns clock, so lifetime
  fits assume a 100 ns laser period), as the macrotime clock of Becker & Hickl files does
  (:mod:`surfchem.experiment.bhspc`); the meter's ``SyncRate`` stays in the tags.

  Where phconvert 0.10.2 differs we follow the struct: phconvert reads the detector from bits
  30-31 (``Valid`` and ``Reserved``: every photon gets detector 1) and counts every ``Valid`` = 0
  record (markers too) as an overflow; its macrotimes and microtimes agree with ours on files
  without markers (tested); its detector numbers are those two bits, not the route.

Header fields are kept under their legacy names in ``PtuHeader.tags``, together with the PTU
tag names the rest of the package reads (``MeasDesc_AcquisitionTime`` in ms,
``MeasDesc_GlobalResolution``/``MeasDesc_Resolution`` in s, ``TTResult_SyncRate`` in Hz,
``TTResult_NumberOfRecords``, ``TTResultFormat_TTTRRecType``).
"""

from __future__ import annotations

import os
import struct
from typing import IO, Any

import numpy as np

from surfchem.errors import FileFormatError, InputError
from surfchem.experiment import bhspc, ptu

Field = tuple[str, str]  # (name, struct code without byte order, e.g. "i", "16s", "9f")

TEXT_HEADER: tuple[Field, ...] = (
    ("Ident", "16s"), ("FormatVersion", "6s"), ("CreatorName", "18s"),
    ("CreatorVersion", "12s"), ("FileTime", "18s"), ("CRLF", "2s"), ("CommentField", "256s"),
)
_DISPLAY_AND_REPEAT: tuple[Field, ...] = (
    ("StopAt", "i"), ("StopOnOvfl", "i"), ("Restart", "i"), ("DispLinLog", "i"),
    ("DispTimeFrom", "i"), ("DispTimeTo", "i"), ("DispCountsFrom", "i"), ("DispCountsTo", "i"),
    ("DispCurves", "16i"), ("Params", "9f"), ("RepeatMode", "i"), ("RepeatsPerCurve", "i"),
    ("RepeatTime", "i"), ("RepeatWaitTime", "i"), ("ScriptName", "20s"),
)
PICOHARP_BINARY: tuple[Field, ...] = (
    ("Curves", "i"), ("BitsPerRecord", "i"), ("RoutingChannels", "i"), ("NumberOfBoards", "i"),
    ("ActiveCurve", "i"), ("MeasMode", "i"), ("SubMode", "i"), ("RangeNo", "i"), ("Offset", "i"),
    ("Tacq", "i"), *_DISPLAY_AND_REPEAT,
)
PICOHARP_BOARD: tuple[Field, ...] = (
    ("HardwareIdent", "16s"), ("HardwareVersion", "8s"), ("HardwareSerial", "i"),
    ("SyncDivider", "i"), ("CFDZeroCross0", "i"), ("CFDLevel0", "i"), ("CFDZeroCross1", "i"),
    ("CFDLevel1", "i"), ("Resolution", "f"), ("RouterModelCode", "i"), ("RouterEnabled", "i"),
    ("RouterChannels", "24i"),
)
PICOHARP_TTTR: tuple[Field, ...] = (
    ("ExtDevices", "i"), ("Reserved1", "i"), ("Reserved2", "i"), ("CntRate0", "i"),
    ("CntRate1", "i"), ("StopAfter", "i"), ("StopReason", "i"), ("Records", "i"),
    ("ImgHdrSize", "i"),
)
HYDRAHARP_BINARY: tuple[Field, ...] = (
    ("Curves", "i"), ("BitsPerRecord", "i"), ("ActiveCurve", "i"), ("MeasMode", "i"),
    ("SubMode", "i"), ("Binning", "i"), ("Resolution", "d"), ("Offset", "i"), ("Tacq", "i"),
    *_DISPLAY_AND_REPEAT,
)
HYDRAHARP_HARDWARE: tuple[Field, ...] = (
    ("HardwareIdent", "16s"), ("HardwarePartNo", "8s"), ("HardwareSerial", "i"),
    ("nModulesPresent", "i"), ("ModuleInfo", "20i"), ("BaseResolution", "d"),
    ("InputsEnabled", "q"), ("InpChansPresent", "i"), ("RefClockSource", "i"),
    ("ExtDevices", "i"), ("MarkerSettings", "i"), ("SyncDivider", "i"), ("SyncCFDLevel", "i"),
    ("SyncCFDZeroCross", "i"), ("SyncOffset", "i"),
)
HYDRAHARP_TTTR: tuple[Field, ...] = (
    ("SyncRate", "i"), ("StopAfter", "i"), ("StopReason", "i"), ("ImgHdrSize", "i"),
    ("nRecords", "q"),
)

TIMEHARP_TEXT_V5: tuple[Field, ...] = (
    ("HardwareVersion", "6s"), ("FileTime", "18s"), ("CRLF", "2s"), ("CommentField", "256s"),
)
TIMEHARP_BINARY: tuple[Field, ...] = (
    ("NumberOfChannels", "i"), ("Curves", "i"), ("BitsPerChannel", "i"), ("RoutingChannels", "i"),
    ("NumberOfBoards", "i"), ("ActiveCurve", "i"), ("MeasMode", "i"), ("SubMode", "i"),
    ("RangeNo", "i"), ("Offset", "i"), ("Tacq", "i"), *_DISPLAY_AND_REPEAT,
)
TIMEHARP_BOARD_V5: tuple[Field, ...] = (
    ("BoardSerial", "i"), ("CFDZeroCross", "i"), ("CFDDiscrMin", "i"), ("SyncLevel", "i"),
    ("CurveOffset", "i"), ("Resolution", "f"),
)
TIMEHARP_BOARD_V6: tuple[Field, ...] = (
    ("HardwareIdent", "16s"), ("HardwareVersion", "8s"), *TIMEHARP_BOARD_V5,
)
TIMEHARP_TTTR: tuple[Field, ...] = (
    ("TTTRGlobclock", "i"), ("ExtDevices", "i"), ("Reserved1", "i"), ("Reserved2", "i"),
    ("Reserved3", "i"), ("Reserved4", "i"), ("Reserved5", "i"), ("SyncRate", "i"),
    ("AverageCFDRate", "i"), ("StopAfter", "i"), ("StopReason", "i"), ("NumberOfRecords", "i"),
    ("ImgHdrSize", "i"),
)

#: TimeHarp 200 file format version -> board header layout
TIMEHARP_VERSIONS = {"5.0": TIMEHARP_BOARD_V5, "6.0": TIMEHARP_BOARD_V6}

#: Ident string at offset 0 -> family
IDENTS = {"PicoHarp 300": "picoharp", "HydraHarp": "hydraharp", "TimeHarp 200": "timeharp"}
#: measurement mode codes of each family's ``MeasMode`` -> "t2"/"t3" (TimeHarp 200: 2 = TTTR)
MODES = {"picoharp": {2: "t2", 3: "t3"}, "hydraharp": {2: "t2", 3: "t3"}, "timeharp": {2: "t3"}}
#: header field holding the record count
RECORDS_FIELD = {"picoharp": "Records", "hydraharp": "nRecords", "timeharp": "NumberOfRecords"}
#: T2 time-tag unit of the PicoHarp 300 (pt2demo.c ``RESOL``), s
PICOHARP_T2_RESOLUTION_S = 4e-12
MAX_INPUT_CHANNELS = 64
#: TimeHarp 200 TTTR time-tag clock when the header's ``TTTRGlobclock`` is not positive, s
#: (phconvert's fixed value; the TimeHarp software's "normally 100 ns")
TIMEHARP_DEFAULT_CLOCK_S = 100e-9
#: one TimeHarp 200 overflow record advances the 16-bit time tag by this many clock periods
TIMEHARP_WRAP = 1 << 16


def section_struct(fields: tuple[Field, ...]) -> struct.Struct:
    """Little-endian, unpadded :class:`struct.Struct` of a header section."""
    return struct.Struct("<" + "".join(code for _, code in fields))


def ident_of(head: bytes) -> str:
    """The NUL-terminated ASCII ident in the first 16 bytes of a file ('' if none)."""
    return head[:16].split(b"\x00", 1)[0].decode("ascii", "replace").strip()


def is_legacy(head: bytes) -> bool:
    """True when ``head`` (the first >= 16 bytes of a file) starts with a legacy ident."""
    return ident_of(head) in IDENTS


def _read_section(fh: IO[bytes], fields: tuple[Field, ...], path: str, what: str) -> dict[str, Any]:
    st = section_struct(fields)
    start = fh.tell()
    raw = fh.read(st.size)
    if len(raw) < st.size:
        raise FileFormatError(
            f"{path!r}: legacy PicoQuant {what} header truncated: needs bytes {start}..{start + st.size}, "
            f"file ends at {start + len(raw)}"
        )
    values = iter(st.unpack(raw))
    out: dict[str, Any] = {}
    for name, code in fields:
        if code.endswith("s"):
            out[name] = next(values).split(b"\x00", 1)[0].decode("windows-1252", "replace").strip()
        elif code[:-1]:
            out[name] = tuple(next(values) for _ in range(int(code[:-1])))
        else:
            out[name] = next(values)
    return out


def _picoharp_tags(fh: IO[bytes], path: str, tags: dict[str, Any]) -> None:
    if tags["FormatVersion"] != "2.0":
        raise FileFormatError(
            f"{path!r}: PicoHarp 300 file format version {tags['FormatVersion']!r}; only 2.0 "
            "(.pt2/.pt3 of PicoHarp software >= 2.0) is supported"
        )
    tags.update(_read_section(fh, PICOHARP_BINARY, path, "binary"))
    # PicoQuant's demo readers read one board header; the PicoHarp 300 has one board
    tags.update(_read_section(fh, PICOHARP_BOARD, path, "board"))
    tags.update(_read_section(fh, PICOHARP_TTTR, path, "TTTR"))


def _hydraharp_tags(fh: IO[bytes], path: str, tags: dict[str, Any]) -> None:
    if tags["FormatVersion"] not in ("1.0", "2.0"):
        raise FileFormatError(
            f"{path!r}: HydraHarp file format version {tags['FormatVersion']!r}; "
            "expected 1.0 or 2.0"
        )
    tags.update(_read_section(fh, HYDRAHARP_BINARY, path, "binary"))
    tags.update(_read_section(fh, HYDRAHARP_HARDWARE, path, "hardware"))
    n = tags["InpChansPresent"]
    if not 0 <= n <= MAX_INPUT_CHANNELS:
        raise FileFormatError(
            f"{path!r}: HydraHarp header has InpChansPresent={n}, expected 0..{MAX_INPUT_CHANNELS}"
        )
    if n:
        tags.update(_read_section(fh, (("InputChannelSettings", f"{4 * n}i"),), path, "channel"))
        tags.update(_read_section(fh, (("InputRate", f"{n}i"),), path, "input rate"))
    tags.update(_read_section(fh, HYDRAHARP_TTTR, path, "TTTR"))


def _timeharp_tags(fh: IO[bytes], path: str, tags: dict[str, Any]) -> None:
    version = tags["FormatVersion"]
    if version not in TIMEHARP_VERSIONS:
        raise FileFormatError(
            f"{path!r}: TimeHarp 200 file format version {version!r}; expected one of "
            f"{sorted(TIMEHARP_VERSIONS)} (.t3r of TimeHarp software 5.x/6.x)"
        )
    if version == "5.0":  # no CreatorName/CreatorVersion: the text header is 304 bytes
        for name in ("CreatorName", "CreatorVersion"):
            tags.pop(name)
        fh.seek(22)
        tags.update(_read_section(fh, TIMEHARP_TEXT_V5, path, "text"))
    tags.update(_read_section(fh, TIMEHARP_BINARY, path, "binary"))
    if tags["NumberOfBoards"] != 1:
        raise FileFormatError(
            f"{path!r}: TimeHarp 200 header has NumberOfBoards={tags['NumberOfBoards']}, "
            "expected 1 (one board header before the TTTR header)"
        )
    tags.update(_read_section(fh, TIMEHARP_VERSIONS[version], path, "board"))
    tags.update(_read_section(fh, TIMEHARP_TTTR, path, "TTTR"))


def decode_timeharp_t3r(dec: ptu.RecordDecoder, rec: np.ndarray) -> ptu.PhotonChunk:
    """Decode one block of TimeHarp 200 TTTR (``.t3r``) records.

    Parameters
    ----------
    dec : RecordDecoder
        Carries the overflow count across blocks (``dec.overflow``, in 2^16 time-tag wraps);
        its header's ``global_resolution_s`` is the time-tag clock period (s) and
        ``resolution_s`` the microtime bin (s).
    rec : numpy.ndarray
        uint32 records (layout in the module docstring).

    Returns
    -------
    PhotonChunk
        Photons (``Valid`` records): times in ps since the start (time tag * clock + microtime),
        0-based channels = ``Route`` (0..3), microtimes in ps (``Data`` * bin). Overflow records
        (``Valid`` = 0, ``Data`` bit 11) add one wrap; markers (``Valid`` = 0, bit 11 clear) are
        dropped without changing any time.
    """
    rec = np.asarray(rec, dtype=np.uint32)
    tag, data, route = bhspc.bits(rec, 0, 16), bhspc.bits(rec, 16, 12), bhspc.bits(rec, 28, 2)
    valid = bhspc.flag(rec, 30)
    ovf = ~valid & ((data & 0x800) != 0)
    wraps = np.cumsum(ovf, dtype=np.int64) + dec.overflow
    if rec.size:
        dec.overflow = int(wraps[-1])
    macro = dec.t3_macro_ps(wraps * TIMEHARP_WRAP + np.where(ovf, 0, tag))
    micro = np.rint(data[valid] * (dec.header.resolution_s * 1e12)).astype(np.int64)
    end = int(macro[-1]) if rec.size else 0
    return ptu.PhotonChunk(macro[valid] + micro, route[valid].astype(np.int8), micro, end,
                           int(rec.size))


TIMEHARP_T3R = ptu.RecordFormat("TimeHarp200T3", "t3", "th", 1, decode=decode_timeharp_t3r)


def _timing(family: str, mode: str, tags: dict[str, Any], path: str) -> tuple[float, float, float | None]:
    """(global resolution s, resolution s, sync rate Hz or None) of a legacy header.

    T3: global resolution = sync period; T2: the time-tag unit (resolution equals it).
    """
    if family == "timeharp":
        clock = tags["TTTRGlobclock"] * 1e-9
        if not clock > 0:
            clock = TIMEHARP_DEFAULT_CLOCK_S
            tags["TTTRGlobclockSource"] = "assumed 100 ns (header TTTRGlobclock <= 0; as phconvert)"
        res = tags["Resolution"] * 1e-9
        if not res > 0:
            raise FileFormatError(f"{path!r}: TTTR header has non-positive microtime resolution {res} s")
        return clock, res, 1.0 / clock
    if family == "picoharp":
        if mode == "t2":
            return PICOHARP_T2_RESOLUTION_S, PICOHARP_T2_RESOLUTION_S, None
        sync, res = tags["CntRate0"], tags["Resolution"] * 1e-9
        sync_name = "CntRate0"
    else:
        sync, sync_name = tags["SyncRate"], "SyncRate"
        if mode == "t2":
            unit = (tags["BaseResolution"] if tags["BaseResolution"] > 0 else 1.0) * 1e-12
            return unit, unit, float(sync) if sync > 0 else None
        res = tags["Resolution"] * 1e-12
    if not sync > 0:
        raise FileFormatError(
            f"{path!r}: T3 header has sync rate {sync_name}={sync}; a positive rate in Hz is needed "
            "for the sync period"
        )
    if not res > 0:
        raise FileFormatError(f"{path!r}: T3 header has non-positive microtime resolution {res} s")
    return 1.0 / sync, res, float(sync)


def _record_format(family: str, mode: str, version: str) -> tuple[int, ptu.RecordFormat]:
    """(PTU record type code, format); TimeHarp 200 records have no PTU code (-1)."""
    if family == "timeharp":
        return -1, TIMEHARP_T3R
    if family == "picoharp":
        name = "PicoHarpT3" if mode == "t3" else "PicoHarpT2"
    else:
        name = ("HydraHarpT" if version == "1.0" else "HydraHarp2T") + mode[1]
    code = ptu.RECORD_TYPE_BY_NAME[name]
    return code, ptu.RECORD_TYPES[code]


READ_TAGS = {"picoharp": _picoharp_tags, "hydraharp": _hydraharp_tags, "timeharp": _timeharp_tags}
#: conventional extension of each family, "{}" = "2"/"3" (T2/T3)
CONTAINERS = {"picoharp": "pt{}", "hydraharp": "ht{}", "timeharp": "t{}r"}


def read_header(path: str | os.PathLike[str], *, allow_truncated: bool = False) -> ptu.PtuHeader:
    """Parse the header of a legacy PicoQuant file (``.pt3``, ``.pt2``, ``.ht3``, ``.ht2``, ``.t3r``).

    Parameters
    ----------
    path : str or path-like
        The file; its kind is read from the ident at offset 0, not from the extension.
    allow_truncated : bool
        Accept fewer records than the header declares (only the complete ones are decoded).

    Returns
    -------
    PtuHeader
        Header for :func:`surfchem.experiment.ptu.iter_ptu_chunks`; ``container`` is the
        conventional extension ("pt3", "pt2", "ht3", "ht2", "t3r"), ``version`` the file
        format version, ``global_resolution_s`` the sync period (T3, s; TimeHarp 200: the
        time-tag clock, ``TTTRGlobclock``) or time-tag unit (T2, s), ``resolution_s`` the
        microtime bin (T3, s).

    Raises
    ------
    InputError
        Missing file.
    FileFormatError
        Unknown ident, unsupported format version or measurement mode, truncated header or
        records, record size other than 32 bits, missing sync rate in T3 mode, a TimeHarp 200
        header with more than one board.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"photon file {path!r} does not exist")
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        tags = _read_section(fh, TEXT_HEADER, path, "text")
        ident = tags["Ident"]
        if ident not in IDENTS:
            raise FileFormatError(
                f"{path!r}: ident {ident!r} at offset 0 is not a legacy PicoQuant file; expected "
                f"one of {sorted(IDENTS)}"
            )
        family = IDENTS[ident]
        READ_TAGS[family](fh, path, tags)
        img = tags["ImgHdrSize"]
        if img < 0:
            raise FileFormatError(f"{path!r}: negative imaging header size ImgHdrSize={img}")
        data_offset = fh.tell() + 4 * img
    mode = MODES[family].get(tags["MeasMode"])
    if mode is None:
        expected = " or ".join(f"{k} ({v.upper()})" for k, v in MODES[family].items())
        raise FileFormatError(
            f"{path!r}: {ident} measurement mode {tags['MeasMode']} is not a time-tagging mode; "
            f"expected {expected}"
        )
    if tags.get("BitsPerRecord", 32) != 32:
        raise FileFormatError(
            f"{path!r}: {tags['BitsPerRecord']} bits per record, expected 32"
        )
    if data_offset > size:
        raise FileFormatError(
            f"{path!r}: imaging header (ImgHdrSize={img}) runs past the end of the file"
        )
    gres, res, sync = _timing(family, mode, tags, path)
    declared = int(tags[RECORDS_FIELD[family]])
    n_records = ptu.count_records(path, size, data_offset, declared, allow_truncated=allow_truncated)
    rectype, fmt = _record_format(family, mode, tags["FormatVersion"])
    tags.update({
        "MeasDesc_AcquisitionTime": tags["Tacq"],
        "MeasDesc_GlobalResolution": gres,
        "MeasDesc_Resolution": res,
        "TTResult_SyncRate": sync,
        "TTResult_NumberOfRecords": declared,
        "TTResultFormat_TTTRRecType": rectype,
        "TTResultFormat_BitsPerRecord": 32,
    })
    return ptu.PtuHeader(
        path=path,
        version=tags["FormatVersion"],
        tags=tags,
        record_type=rectype,
        record_format=fmt,
        data_offset=data_offset,
        n_records=n_records,
        global_resolution_s=gres,
        resolution_s=res,
        sync_rate_hz=sync,
        truncated=0 < declared and n_records < declared,
        declared_records=declared,
        container=CONTAINERS[family].format(mode[1]),
    )
