"""Legacy PicoQuant TTTR files: ``.pt3``/``.pt2`` (PicoHarp 300), ``.ht3``/``.ht2`` (HydraHarp).

These files predate PTU: a fixed binary header (C structs written field by field, little
endian, no padding) followed by the same 32-bit records that PTU files carry. This module only
parses the header into a :class:`~surfchem.experiment.ptu.PtuHeader` (record type, resolutions,
record count, data offset); decoding is the PTU reader's one chunked path
(:func:`~surfchem.experiment.ptu.iter_ptu_chunks`), so overflow handling, chunk independence and
the optional numba kernel are shared.

The kind of file is read from its 16-byte ASCII ``Ident`` at offset 0 ("PicoHarp 300",
"HydraHarp"), never from the extension; T2/T3 from ``MeasMode``.

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

Header fields are kept under their legacy names in ``PtuHeader.tags``, together with the PTU
tag names the rest of the package reads (``MeasDesc_AcquisitionTime`` in ms,
``MeasDesc_GlobalResolution``/``MeasDesc_Resolution`` in s, ``TTResult_SyncRate`` in Hz,
``TTResult_NumberOfRecords``, ``TTResultFormat_TTTRRecType``).
"""

from __future__ import annotations

import os
import struct
from typing import IO, Any

from surfchem.errors import FileFormatError, InputError
from surfchem.experiment import ptu

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

#: Ident string at offset 0 -> family
IDENTS = {"PicoHarp 300": "picoharp", "HydraHarp": "hydraharp"}
#: recognised but not decoded (named in the error so the user knows why)
UNSUPPORTED_IDENTS = {"TimeHarp 200": "TimeHarp 200 (.t3r/.t2r)"}
#: T2 time-tag unit of the PicoHarp 300 (pt2demo.c ``RESOL``), s
PICOHARP_T2_RESOLUTION_S = 4e-12
MAX_INPUT_CHANNELS = 64


def section_struct(fields: tuple[Field, ...]) -> struct.Struct:
    """Little-endian, unpadded :class:`struct.Struct` of a header section."""
    return struct.Struct("<" + "".join(code for _, code in fields))


def ident_of(head: bytes) -> str:
    """The NUL-terminated ASCII ident in the first 16 bytes of a file ('' if none)."""
    return head[:16].split(b"\x00", 1)[0].decode("ascii", "replace").strip()


def is_legacy(head: bytes) -> bool:
    """True when ``head`` (the first >= 16 bytes of a file) starts with a legacy ident."""
    ident = ident_of(head)
    return ident in IDENTS or ident in UNSUPPORTED_IDENTS


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


def _timing(family: str, mode: str, tags: dict[str, Any], path: str) -> tuple[float, float, float | None]:
    """(global resolution s, resolution s, sync rate Hz or None) of a legacy header.

    T3: global resolution = sync period; T2: the time-tag unit (resolution equals it).
    """
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


def _record_type(family: str, mode: str, version: str) -> int:
    if family == "picoharp":
        name = "PicoHarpT3" if mode == "t3" else "PicoHarpT2"
    else:
        name = ("HydraHarpT" if version == "1.0" else "HydraHarp2T") + mode[1]
    return ptu.RECORD_TYPE_BY_NAME[name]


def read_header(path: str | os.PathLike[str], *, allow_truncated: bool = False) -> ptu.PtuHeader:
    """Parse the header of a legacy PicoQuant file (``.pt3``, ``.pt2``, ``.ht3``, ``.ht2``).

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
        conventional extension ("pt3", "pt2", "ht3", "ht2"), ``version`` the file format
        version, ``global_resolution_s`` the sync period (T3, s) or time-tag unit (T2, s),
        ``resolution_s`` the microtime bin (T3, s).

    Raises
    ------
    InputError
        Missing file.
    FileFormatError
        Unknown ident, unsupported format version or measurement mode, truncated header or
        records, record size other than 32 bits, missing sync rate in T3 mode.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"photon file {path!r} does not exist")
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        tags = _read_section(fh, TEXT_HEADER, path, "text")
        ident = tags["Ident"]
        if ident in UNSUPPORTED_IDENTS:
            raise FileFormatError(
                f"{path!r}: {UNSUPPORTED_IDENTS[ident]} files are not supported; expected a "
                "PicoHarp 300 (.pt2/.pt3), HydraHarp (.ht2/.ht3) or PTU file"
            )
        if ident not in IDENTS:
            raise FileFormatError(
                f"{path!r}: ident {ident!r} at offset 0 is not a legacy PicoQuant file; expected "
                f"one of {sorted(IDENTS)}"
            )
        family = IDENTS[ident]
        (_picoharp_tags if family == "picoharp" else _hydraharp_tags)(fh, path, tags)
        img = tags["ImgHdrSize"]
        if img < 0:
            raise FileFormatError(f"{path!r}: negative imaging header size ImgHdrSize={img}")
        data_offset = fh.tell() + 4 * img
    mode = {2: "t2", 3: "t3"}.get(tags["MeasMode"])
    if mode is None:
        raise FileFormatError(
            f"{path!r}: {ident} measurement mode {tags['MeasMode']} is not a time-tagging mode; "
            "expected 2 (T2) or 3 (T3)"
        )
    if tags["BitsPerRecord"] != 32:
        raise FileFormatError(
            f"{path!r}: {tags['BitsPerRecord']} bits per record, expected 32"
        )
    if data_offset > size:
        raise FileFormatError(
            f"{path!r}: imaging header (ImgHdrSize={img}) runs past the end of the file"
        )
    gres, res, sync = _timing(family, mode, tags, path)
    declared = int(tags["Records"] if family == "picoharp" else tags["nRecords"])
    n_records = ptu.count_records(path, size, data_offset, declared, allow_truncated=allow_truncated)
    rectype = _record_type(family, mode, tags["FormatVersion"])
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
        record_format=ptu.RECORD_TYPES[rectype],
        data_offset=data_offset,
        n_records=n_records,
        global_resolution_s=gres,
        resolution_s=res,
        sync_rate_hz=sync,
        truncated=0 < declared and n_records < declared,
        declared_records=declared,
        container=("pt" if family == "picoharp" else "ht") + mode[1],
    )
