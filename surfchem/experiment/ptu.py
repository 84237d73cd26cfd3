"""PicoQuant PTU files: header parsing, memory-mapped chunked T2/T3 decoding, and a writer.

Layout (PicoQuant's published format, see the demo readers in PicoQuant's ``PTU_FileFormat``
repository and the ``ptufile`` package by C. Gohlke, which we follow for tag types):

* 8-byte magic ``b"PQTTTR\\0\\0"``, 8-byte version string, then tags of 48 bytes each
  (32-byte ASCII identifier, int32 index, uint32 type code, 8-byte value). String, blob and array
  tags carry their byte length in the value field and their payload right after the tag. The tag
  ``Header_End`` closes the header; 32-bit little-endian records follow.
* HydraHarp v1/v2, TimeHarp 260 N/P and MultiHarp/PicoHarp 330 ("generic") records
  (one family): ``special:1 | channel:6 | payload:25``.

  - T2: payload = timetag (units of ``MeasDesc_GlobalResolution``). ``special=1, channel=63`` is
    an overflow: v1 adds 33 552 000 per record, v2 adds ``33 554 432 * timetag`` (``timetag=0``
    counts as 1). ``special=1, channel=0`` is a sync, ``channel 1..15`` are markers.
  - T3: payload = ``dtime:15 | nsync:10``. Overflow (``channel=63``) adds ``1024`` (v1) or
    ``1024 * nsync`` (v2, ``nsync=0`` counts as 1) to the sync counter. ``dtime`` is in units of
    ``MeasDesc_Resolution``, the sync period is ``MeasDesc_GlobalResolution``.
* PicoHarp 300 records: T2 ``channel:4 | time:28`` (``channel=15`` and ``time & 15 == 0`` is an
  overflow of 210 698 240, other ``channel=15`` records are markers); T3
  ``channel:4 | dtime:12 | nsync:16`` (``channel=15, dtime=0`` overflows 65 536 syncs, photon
  channels 1..4 are reported 0-based as 0..3, like ``ptufile``).

Detector channels are reported 0-based, as ``ptufile`` does. Times leave this module as int64
picoseconds since the start of the measurement (T3: ``nsync * period + dtime * resolution``).
Overflow counters are carried between chunks, so decoded values never depend on the chunk size.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

import surfchem
from surfchem.errors import FileFormatError, InputError
from surfchem.experiment import _fastdecode

MAGIC = b"PQTTTR\x00\x00"

# tag type codes
TY_EMPTY8 = 0xFFFF0008
TY_BOOL8 = 0x00000008
TY_INT8 = 0x10000008
TY_BITSET64 = 0x11000008
TY_COLOR8 = 0x12000008
TY_FLOAT8 = 0x20000008
TY_DATETIME = 0x21000008
TY_FLOAT8ARRAY = 0x2001FFFF
TY_ANSISTRING = 0x4001FFFF
TY_WIDESTRING = 0x4002FFFF
TY_BINARYBLOB = 0xFFFFFFFF


@dataclass(frozen=True)
class RecordFormat:
    """One supported TTTR record type."""

    name: str
    mode: str  # "t2" or "t3"
    family: str  # "hh" (HydraHarp-like), "ph" (PicoHarp 300), or another reader's family ("bh")
    version: int  # 1 or 2 (overflow semantics of the hh family)
    #: bytes per record (PicoQuant: 4; Becker & Hickl SPC-600/630 4096-channel mode: 6)
    record_bytes: int = 4
    #: decoder of other vendors' records: ``decode(state, records) -> PhotonChunk`` with the
    #: :class:`RecordDecoder` carrying the overflow count; records are uint32 (4-byte formats)
    #: or an ``(n, record_bytes)`` uint8 array. None: the PicoQuant decoders below.
    decode: Callable[[RecordDecoder, np.ndarray], PhotonChunk] | None = field(
        default=None, compare=False, repr=False)


#: TTResultFormat_TTTRRecType -> format
RECORD_TYPES: dict[int, RecordFormat] = {
    0x00010303: RecordFormat("PicoHarpT3", "t3", "ph", 1),
    0x00010203: RecordFormat("PicoHarpT2", "t2", "ph", 1),
    0x00010304: RecordFormat("HydraHarpT3", "t3", "hh", 1),
    0x00010204: RecordFormat("HydraHarpT2", "t2", "hh", 1),
    0x01010304: RecordFormat("HydraHarp2T3", "t3", "hh", 2),
    0x01010204: RecordFormat("HydraHarp2T2", "t2", "hh", 2),
    0x00010305: RecordFormat("TimeHarp260NT3", "t3", "hh", 2),
    0x00010205: RecordFormat("TimeHarp260NT2", "t2", "hh", 2),
    0x00010306: RecordFormat("TimeHarp260PT3", "t3", "hh", 2),
    0x00010206: RecordFormat("TimeHarp260PT2", "t2", "hh", 2),
    0x00010307: RecordFormat("GenericT3", "t3", "hh", 2),
    0x00010207: RecordFormat("GenericT2", "t2", "hh", 2),
}
RECORD_TYPE_BY_NAME = {f.name: code for code, f in RECORD_TYPES.items()}

HH_T2_WRAP_V1 = 33_552_000
HH_T2_WRAP_V2 = 33_554_432
HH_T3_WRAP = 1024
PH_T2_WRAP = 210_698_240
PH_T3_WRAP = 65_536

#: default number of records decoded per chunk (4 MiB of raw records; the decoded int64 arrays
#: and temporaries take ~15x that)
DEFAULT_CHUNK_RECORDS = 1 << 20


@dataclass(frozen=True)
class PtuHeader:
    """Parsed PTU header (all tags in ``tags``) and the derived quantities we need."""

    path: str
    version: str
    tags: dict[str, Any]
    record_type: int
    record_format: RecordFormat
    data_offset: int
    n_records: int
    global_resolution_s: float  # T2: timetag unit; T3: sync period
    resolution_s: float  # T3: dtime bin; T2: same as global resolution
    sync_rate_hz: float | None
    truncated: bool = False  # fewer records than declared (read with allow_truncated)
    declared_records: int = 0
    container: str = "ptu"  # "ptu", or a legacy container: "pt3", "pt2", "ht3", "ht2", "t3r", "spc"

    @property
    def mode(self) -> str:
        """Acquisition mode of the records, ``"t2"`` or ``"t3"``."""
        return self.record_format.mode


def _sync_period_parts(period_ps: float) -> tuple[int, float]:
    whole = int(np.floor(period_ps))
    return whole, period_ps - whole


def read_header(path: str | os.PathLike[str], *, allow_truncated: bool = False) -> PtuHeader:
    """Parse the header of a PTU file.

    Raises :class:`FileFormatError` for a wrong magic, a truncated header, an unsupported
    record type or a record section shorter than ``TTResult_NumberOfRecords`` declares (unless
    ``allow_truncated``; then only the complete records present are used). A declared count of 0
    (aborted measurements) falls back to the file size, as ``ptufile`` does.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"PTU file {path!r} does not exist")
    size = os.path.getsize(path)
    tags: dict[str, Any] = {}
    with open(path, "rb") as fh:
        magic = fh.read(8)
        if magic != MAGIC:
            raise FileFormatError(
                f"{path!r} is not a PicoQuant PTU file: magic {magic!r}, expected {MAGIC!r}"
            )
        version = fh.read(8).rstrip(b"\x00").decode("ascii", "replace")
        while True:
            raw = fh.read(48)
            if len(raw) < 48:
                raise FileFormatError(
                    f"{path!r}: header truncated at byte {fh.tell()} before the 'Header_End' tag"
                )
            ident, idx, typ, value = struct.unpack("<32siI8s", raw)
            name = ident.rstrip(b"\x00").decode("ascii", "replace")
            name_key = name
            if name == "Header_End":
                break
            if typ in (TY_INT8, TY_BITSET64, TY_COLOR8):
                val: Any = struct.unpack("<q", value)[0]
            elif typ == TY_BOOL8:
                val = bool(struct.unpack("<q", value)[0])
            elif typ == TY_FLOAT8:
                val = struct.unpack("<d", value)[0]
            elif typ == TY_DATETIME:
                val = struct.unpack("<d", value)[0]
            elif typ == TY_EMPTY8:
                val = None
            elif typ in (TY_ANSISTRING, TY_WIDESTRING, TY_BINARYBLOB, TY_FLOAT8ARRAY):
                n = struct.unpack("<q", value)[0]
                if n < 0 or fh.tell() + n > size:
                    raise FileFormatError(f"{path!r}: tag {name!r} payload runs past end of file")
                payload = fh.read(n)
                if typ == TY_ANSISTRING:
                    val = payload.rstrip(b"\x00").decode("windows-1252", "replace")
                elif typ == TY_WIDESTRING:
                    val = payload.decode("utf-16-le", "replace").rstrip("\x00")
                elif typ == TY_FLOAT8ARRAY:
                    val = np.frombuffer(payload, dtype="<f8").copy()
                else:
                    val = payload
            else:
                raise FileFormatError(f"{path!r}: tag {name!r} has unknown type code {typ:#x}")
            if idx > -1 and name_key in tags and not isinstance(tags[name_key], list):
                tags[name_key] = [tags[name_key], val]
            elif idx > -1 and name_key in tags:
                tags[name_key].append(val)
            else:
                tags[name_key] = val
        data_offset = fh.tell()
    if "TTResultFormat_TTTRRecType" not in tags:
        raise FileFormatError(f"{path!r}: header has no 'TTResultFormat_TTTRRecType' tag")
    rectype = int(tags["TTResultFormat_TTTRRecType"])
    if rectype not in RECORD_TYPES:
        names = ", ".join(f"{f.name} ({c:#010x})" for c, f in RECORD_TYPES.items())
        raise FileFormatError(
            f"{path!r}: unsupported TTTR record type {rectype:#010x}; supported: {names}"
        )
    bits = int(tags.get("TTResultFormat_BitsPerRecord", 32) or 32)
    if bits != 32:
        raise FileFormatError(f"{path!r}: {bits} bits per record, only 32-bit records supported")
    fmt = RECORD_TYPES[rectype]
    declared = int(tags.get("TTResult_NumberOfRecords", 0) or 0)
    n_records = count_records(path, size, data_offset, declared, allow_truncated=allow_truncated)
    if "MeasDesc_GlobalResolution" not in tags:
        raise FileFormatError(f"{path!r}: header has no 'MeasDesc_GlobalResolution' tag")
    gres = float(tags["MeasDesc_GlobalResolution"])
    res = float(tags.get("MeasDesc_Resolution", gres))
    if not gres > 0 or not res > 0:
        raise FileFormatError(f"{path!r}: non-positive time resolution ({gres=}, {res=})")
    sync = tags.get("TTResult_SyncRate")
    sync_rate = float(sync) if sync else None
    if fmt.mode == "t3" and not sync_rate:
        sync_rate = 1.0 / gres
    return PtuHeader(
        path=path,
        version=version,
        tags=tags,
        record_type=rectype,
        record_format=fmt,
        data_offset=data_offset,
        n_records=n_records,
        global_resolution_s=gres,
        resolution_s=res,
        sync_rate_hz=sync_rate,
        truncated=0 < declared and n_records < declared,
        declared_records=declared,
    )


def count_records(
    path: str, size: int, data_offset: int, declared: int, *, allow_truncated: bool = False,
    record_bytes: int = 4,
) -> int:
    """Number of complete records (``record_bytes`` each, 4 by default) after ``data_offset``.

    Parameters
    ----------
    path : str
        File name (for the error message only).
    size : int
        File size in bytes.
    data_offset : int
        Byte offset of the first record.
    declared : int
        Record count the header declares; <= 0 (aborted measurements) means "use the file size",
        as ``ptufile`` does.
    allow_truncated : bool
        Accept a file holding fewer records than declared (the complete ones are used).
    record_bytes : int
        Size of one record in bytes.

    Raises
    ------
    FileFormatError
        The file holds fewer records than declared and ``allow_truncated`` is False.
    """
    present = max(size - data_offset, 0) // record_bytes
    if declared <= 0:
        return present
    if present < declared:
        if not allow_truncated:
            raise FileFormatError(
                f"{path!r} is truncated: header declares {declared} records, file holds "
                f"{present}; pass allow_truncated=True to analyse the complete ones"
            )
        return present
    return declared


@dataclass
class PhotonChunk:
    """Decoded photons of one chunk (time order as in the file).

    ``times_ps``: int64 macrotimes since the start of the measurement; ``channels``: int8
    0-based detector channels; ``microtimes_ps``: int64 delay after the last laser sync (T3
    ``dtime * resolution``, T2 ``t - t_last_sync``; -1 where unknown, ``None`` without syncs);
    ``end_time_ps``: time of the last record of the chunk (photon, sync or overflow).
    """

    times_ps: np.ndarray
    channels: np.ndarray
    microtimes_ps: np.ndarray | None
    end_time_ps: int
    n_records: int = 0
    sync_times_ps: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.times_ps.size)


@dataclass
class RecordDecoder:
    """Stateful vectorised decoder: carries overflow counts and the last sync across chunks."""

    header: PtuHeader
    overflow: int = 0  # accumulated overflow count (in wrap units)
    last_sync_ps: int = -1
    saw_sync: bool = False
    use_numba: bool = False
    _period: tuple[int, float] = field(default=(0, 0.0))

    def __post_init__(self) -> None:
        self._period = _sync_period_parts(self.header.global_resolution_s * 1e12)

    def t3_macro_ps(self, nsync: np.ndarray) -> np.ndarray:
        """Picoseconds of int64 sync (macrotime clock) counts: ``nsync * period``, rounded."""
        whole, frac = self._period
        out = nsync * whole
        if frac:
            out += np.rint(nsync * frac).astype(np.int64)
        return out

    def decode(self, rec: np.ndarray) -> PhotonChunk:
        """Decode raw records into photons (overflows carried across calls).

        Parameters
        ----------
        rec : numpy.ndarray
            Raw 32-bit records of one chunk, in file order.

        Returns
        -------
        PhotonChunk
            Times in ps (int64), channels, microtimes in ps (T3).
        """
        fmt = self.header.record_format
        if fmt.decode is not None:
            return fmt.decode(self, rec)
        rec = np.asarray(rec, dtype=np.uint32)
        if fmt.family == "hh":
            if self.use_numba:
                return self._decode_hh_numba(rec, fmt)
            return self._decode_hh(rec, fmt)
        return self._decode_ph(rec, fmt)

    def _decode_hh_numba(self, rec: np.ndarray, fmt: RecordFormat) -> PhotonChunk:
        t3 = fmt.mode == "t3"
        if t3:
            wrap = HH_T3_WRAP
        else:
            wrap = HH_T2_WRAP_V1 if fmt.version == 1 else HH_T2_WRAP_V2
        unit_ps = self.header.global_resolution_s * 1e12
        unit_int = int(round(unit_ps))
        use_int = abs(unit_ps - unit_int) <= 1e-6
        whole, frac = self._period
        n = rec.size
        out_t = np.empty(n, np.int64)
        out_c = np.empty(n, np.int8)
        out_m = np.empty(n, np.int64)
        out_s = np.empty(0 if t3 else n, np.int64)
        state = np.array([self.overflow, self.last_sync_ps], dtype=np.int64)
        n_ph, n_sync, end = _fastdecode.kernel()(
            rec, t3, fmt.version == 2, wrap, unit_int, unit_ps, use_int, whole, frac,
            self.header.resolution_s * 1e12, state, out_t, out_c, out_m, out_s)
        self.overflow, self.last_sync_ps = int(state[0]), int(state[1])
        if t3:
            return PhotonChunk(out_t[:n_ph], out_c[:n_ph], out_m[:n_ph], int(end), n)
        if n_sync:
            self.saw_sync = True
        micro = out_m[:n_ph] if self.saw_sync else None
        return PhotonChunk(out_t[:n_ph], out_c[:n_ph], micro, int(end), n, out_s[:n_sync])

    def _decode_hh(self, rec: np.ndarray, fmt: RecordFormat) -> PhotonChunk:
        special = (rec >> np.uint32(31)).astype(bool)
        chan = ((rec >> np.uint32(25)) & np.uint32(0x3F)).astype(np.int8)
        ovf = special & (chan == 0x3F)
        if fmt.mode == "t2":
            tt = (rec & np.uint32(0x1FFFFFF)).astype(np.int64)
            wrap = HH_T2_WRAP_V1 if fmt.version == 1 else HH_T2_WRAP_V2
            payload = tt
        else:
            nsync = (rec & np.uint32(0x3FF)).astype(np.int64)
            dtime = ((rec >> np.uint32(10)) & np.uint32(0x7FFF)).astype(np.int64)
            wrap = HH_T3_WRAP
            payload = nsync
        if fmt.version == 1:
            inc = ovf.astype(np.int64)
        else:
            inc = np.where(ovf, np.where(payload == 0, 1, payload), 0)
        ocount = np.cumsum(inc)
        ocount += self.overflow
        # T2: timetag units; T3: sync count (an overflow record's own time is ocount * wrap)
        total = ocount * wrap + np.where(ovf, 0, payload)
        self.overflow = int(ocount[-1]) if ocount.size else self.overflow
        photon = ~special
        if fmt.mode == "t2":
            unit_ps = self.header.global_resolution_s * 1e12
            scale = int(round(unit_ps))
            if abs(unit_ps - scale) > 1e-6:
                tps = np.rint(total * unit_ps).astype(np.int64)
            else:
                tps = total * scale
            sync = special & (chan == 0)
            times = tps[photon]
            sync_times = tps[sync]
            micro = self._t2_micro(times, tps, photon, sync)
            end = int(tps[-1]) if tps.size else 0
            return PhotonChunk(times, chan[photon], micro, end, int(rec.size), sync_times)
        res_ps = self.header.resolution_s * 1e12
        macro = self.t3_macro_ps(total)
        micro_all = np.rint(dtime * res_ps).astype(np.int64)
        times = macro[photon] + micro_all[photon]
        end = int(macro[-1]) if macro.size else 0
        return PhotonChunk(times, chan[photon], micro_all[photon], end, int(rec.size))

    def _t2_micro(
        self, times: np.ndarray, tps: np.ndarray, photon: np.ndarray, sync: np.ndarray
    ) -> np.ndarray | None:
        """Delay of each photon after the previous sync (carried across chunks)."""
        idx_sync = np.flatnonzero(sync)
        if idx_sync.size == 0 and not self.saw_sync:
            return None
        self.saw_sync = True
        # index of the last sync at or before each record
        marker = np.full(tps.size, -1, dtype=np.int64)
        marker[idx_sync] = idx_sync
        last = np.maximum.accumulate(marker) if marker.size else marker
        last_p = last[photon]
        prev_t = np.where(last_p >= 0, tps[np.maximum(last_p, 0)], self.last_sync_ps)
        micro = np.where(prev_t >= 0, times - prev_t, -1)
        if idx_sync.size:
            self.last_sync_ps = int(tps[idx_sync[-1]])
        return micro

    def _decode_ph(self, rec: np.ndarray, fmt: RecordFormat) -> PhotonChunk:
        chan = (rec >> np.uint32(28)).astype(np.int8)
        if fmt.mode == "t2":
            tt = (rec & np.uint32(0x0FFFFFFF)).astype(np.int64)
            special = chan == 0xF
            ovf = special & ((tt & 0xF) == 0)
            ocount = np.cumsum(ovf, dtype=np.int64) + self.overflow
            self.overflow = int(ocount[-1]) if ocount.size else self.overflow
            unit_ps = self.header.global_resolution_s * 1e12
            total = ocount * PH_T2_WRAP + tt
            scale = int(round(unit_ps))
            tps = total * scale if abs(unit_ps - scale) < 1e-6 else np.rint(total * unit_ps).astype(np.int64)
            photon = ~special
            end = int(tps[-1]) if tps.size else 0
            return PhotonChunk(tps[photon], chan[photon], None, end, int(rec.size))
        nsync = (rec & np.uint32(0xFFFF)).astype(np.int64)
        dtime = ((rec >> np.uint32(16)) & np.uint32(0xFFF)).astype(np.int64)
        special = chan == 0xF
        ovf = special & (dtime == 0)
        ocount = np.cumsum(ovf, dtype=np.int64) + self.overflow
        self.overflow = int(ocount[-1]) if ocount.size else self.overflow
        macro = self.t3_macro_ps(ocount * PH_T3_WRAP + nsync)
        photon = (~special) & (chan >= 1) & (chan <= 4)
        micro = np.rint(dtime[photon] * self.header.resolution_s * 1e12).astype(np.int64)
        end = int(macro[-1]) if macro.size else 0
        return PhotonChunk(macro[photon] + micro, (chan[photon] - 1).astype(np.int8), micro, end, int(rec.size))


def channel_selector(selection) -> np.ndarray | None:
    """Lookup table (indexed by ``channel & 0xFF``) for :func:`select_channels`; None = all."""
    if selection is None:
        return None
    lut = np.zeros(256, dtype=bool)
    lut[np.asarray(selection, dtype=np.int64) & 0xFF] = True
    return lut


def select_channels(channels: np.ndarray, lut: np.ndarray | None) -> np.ndarray | None:
    """Boolean mask of photons in the selected channels, or None when every photon is selected."""
    if lut is None or channels.size == 0:
        return None
    lo, hi = int(channels.min()), int(channels.max())
    if lut[np.arange(lo, hi + 1) & 0xFF].all():
        return None
    return lut[channels.view(np.uint8)]


def memmap_records(header: PtuHeader) -> np.ndarray:
    """Read-only memory map of the raw uint32 records (nothing is loaded until touched)."""
    if header.n_records == 0:
        return np.zeros(0, dtype=np.uint32)
    return np.memmap(
        header.path, dtype="<u4", mode="r", offset=header.data_offset, shape=(header.n_records,)
    )


def iter_ptu_chunks(
    path: str | os.PathLike[str] | PtuHeader,
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    *,
    allow_truncated: bool = False,
    use_numba: bool | None = None,
) -> Iterator[PhotonChunk]:
    """Yield :class:`PhotonChunk` objects for consecutive blocks of ``chunk_records`` records.

    ``use_numba``: None = automatic (numba installed and >= 4e6 records, see
    :mod:`surfchem.experiment._fastdecode`); the result is identical either way.

    Memory use is O(chunk_records) regardless of file length: each block is read with one
    sequential ``readinto`` into a numpy buffer and decoded vectorised. (A memory map,
    :func:`memmap_records`, is available for random access, but its touched file pages count in
    the process RSS until unmapped, so sequential reads keep the peak RSS flat.)
    """
    if chunk_records < 1:
        raise InputError(f"chunk_records must be >= 1, got {chunk_records}")
    header = path if isinstance(path, PtuHeader) else read_header(path, allow_truncated=allow_truncated)
    if use_numba is None:
        use_numba = _fastdecode.enabled(header.n_records)
    dec = RecordDecoder(header, use_numba=bool(use_numba))
    size = header.record_format.record_bytes
    with open(header.path, "rb") as fh:
        fh.seek(header.data_offset)
        remaining = header.n_records
        while remaining > 0:
            n = min(chunk_records, remaining)
            block = np.empty(n, dtype="<u4") if size == 4 else np.empty((n, size), dtype=np.uint8)
            got = fh.readinto(memoryview(block).cast("B"))
            if got != size * n:
                raise FileFormatError(f"{header.path!r}: file shrank while reading (short read)")
            remaining -= n
            yield dec.decode(block)


# ----------------------------------------------------------------------------------- writer


def _tag(name: str, typ: int, value: Any, idx: int = -1) -> bytes:
    ident = name.encode("ascii")[:32].ljust(32, b"\x00")
    if typ in (TY_INT8, TY_BITSET64, TY_COLOR8):
        return struct.pack("<32siIq", ident, idx, typ, int(value))
    if typ == TY_BOOL8:
        return struct.pack("<32siIq", ident, idx, typ, int(bool(value)))
    if typ in (TY_FLOAT8, TY_DATETIME):
        return struct.pack("<32siId", ident, idx, typ, float(value))
    if typ == TY_EMPTY8:
        return struct.pack("<32siIq", ident, idx, typ, 0)
    if typ == TY_ANSISTRING:
        payload = str(value).encode("windows-1252", "replace") + b"\x00"
        payload = payload.ljust((len(payload) + 7) // 8 * 8, b"\x00")
        return struct.pack("<32siIq", ident, idx, typ, len(payload)) + payload
    raise InputError(f"cannot write tag {name!r} of type {typ:#x}")


def _interleave(records_per_event: np.ndarray, ovf_counts: np.ndarray, event_records: np.ndarray,
                ovf_record) -> np.ndarray:
    """Build the record stream: before event i, ``records_per_event[i]`` overflow records."""
    n_ovf = int(records_per_event.sum())
    out = np.empty(event_records.size + n_ovf, dtype=np.uint32)
    pos_event = np.arange(event_records.size) + np.cumsum(records_per_event)
    out[pos_event] = event_records
    if n_ovf:
        mask = np.ones(out.size, dtype=bool)
        mask[pos_event] = False
        out[mask] = ovf_record(ovf_counts)
    return out


def _split_overflows(delta: np.ndarray, max_per_record: int) -> tuple[np.ndarray, np.ndarray]:
    """Split per-event overflow increments into records carrying at most ``max_per_record``."""
    n_rec = -(-delta // max_per_record)  # ceil
    total = int(n_rec.sum())
    counts = np.full(total, max_per_record, dtype=np.int64)
    if total:
        last = np.cumsum(n_rec)[n_rec > 0] - 1
        rem = delta[n_rec > 0] - (n_rec[n_rec > 0] - 1) * max_per_record
        counts[last] = rem
    return n_rec, counts


#: overflow count per T2 record written by :func:`encode_hh_t2`. The format allows 2^25 - 1, but
#: ptufile 2026.2.6 reads only the low 7 bits of the count (measured: a count of 128 decodes as
#: 0), so by default we write at most 127 per record, which every reader decodes identically.
T2_MAX_OVERFLOW_PER_RECORD = 127


def encode_hh_t2(
    times: np.ndarray, channels: np.ndarray, *, unit_ps: int = 1, ofl_start: int = 0,
    max_overflow_per_record: int = T2_MAX_OVERFLOW_PER_RECORD,
) -> np.ndarray:
    """Encode HydraHarp v2 T2 records (channels >= 0 photons, -1 sync) with overflow records.

    ``ofl_start``: overflows already written before this block (for block-wise writing).
    """
    if not 1 <= max_overflow_per_record <= HH_T2_WRAP_V2 - 1:
        raise InputError("max_overflow_per_record must be in 1 .. 2^25 - 1")
    times = np.asarray(times, dtype=np.int64)
    if times.size and (np.any(np.diff(times) < 0) or times[0] < 0):
        raise InputError("times must be non-negative and sorted to encode T2 records")
    tt = times // unit_ps
    ofl = tt // HH_T2_WRAP_V2
    delta = np.diff(ofl, prepend=ofl_start)
    rest = (tt - ofl * HH_T2_WRAP_V2).astype(np.uint32)
    ch = np.asarray(channels, dtype=np.int64)
    if np.any(ch > 62) or np.any(ch < -1):
        raise InputError("T2 detector channels must be in 0..62 (or -1 for sync)")
    ev = np.where(
        ch < 0,
        (np.uint32(1) << np.uint32(31)) | rest,
        (ch.astype(np.uint32) << np.uint32(25)) | rest,
    ).astype(np.uint32)
    n_rec, counts = _split_overflows(delta, max_overflow_per_record)
    return _interleave(
        n_rec, counts, ev,
        lambda c: (np.uint32(0xFE000000) | c.astype(np.uint32)).astype(np.uint32),
    )


def encode_hh_t3(
    nsync: np.ndarray, dtime: np.ndarray, channels: np.ndarray, *, ofl_start: int = 0
) -> np.ndarray:
    """Encode HydraHarp v2 T3 records from absolute sync numbers and dtime bins."""
    nsync = np.asarray(nsync, dtype=np.int64)
    if nsync.size and (np.any(np.diff(nsync) < 0) or nsync[0] < 0):
        raise InputError("sync numbers must be non-negative and sorted to encode T3 records")
    dtime = np.asarray(dtime, dtype=np.int64)
    if np.any((dtime < 0) | (dtime > 0x7FFF)):
        raise InputError("T3 dtime must be in 0..32767 bins; increase the resolution")
    ch = np.asarray(channels, dtype=np.int64)
    if np.any((ch < 0) | (ch > 62)):
        raise InputError("T3 detector channels must be in 0..62")
    ofl = nsync // HH_T3_WRAP
    delta = np.diff(ofl, prepend=ofl_start)
    rest = (nsync - ofl * HH_T3_WRAP).astype(np.uint32)
    ev = ((ch.astype(np.uint32) << np.uint32(25)) | (dtime.astype(np.uint32) << np.uint32(10)) | rest).astype(np.uint32)
    n_rec, counts = _split_overflows(delta, 1023)
    return _interleave(
        n_rec, counts, ev,
        lambda c: (np.uint32(0xFE000000) | c.astype(np.uint32)).astype(np.uint32),
    )


def write_ptu(
    path: str | os.PathLike[str],
    records: np.ndarray,
    *,
    mode: str,
    global_resolution_s: float,
    resolution_s: float,
    sync_rate_hz: float,
    acquisition_time_s: float | None = None,
    comment: str = "written by surfchem",
    record_type: int | None = None,
) -> str:
    """Write raw uint32 records with a point-mode PTU header (HydraHarp v2 by default).

    Header tags follow PicoQuant's point-measurement files: ``Measurement_Mode`` 2/3,
    ``Measurement_SubMode`` 0 (point), ``TTResult_NumberOfRecords`` etc.
    """
    if mode not in ("t2", "t3"):
        raise InputError(f"mode must be 't2' or 't3', got {mode!r}")
    if record_type is None:
        record_type = RECORD_TYPE_BY_NAME["HydraHarp2T2" if mode == "t2" else "HydraHarp2T3"]
    records = np.ascontiguousarray(records, dtype="<u4")
    parts = [MAGIC, b"1.0.00".ljust(8, b"\x00")]
    parts.append(_tag("File_Comment", TY_ANSISTRING, comment))
    now = (datetime.now() - datetime(1899, 12, 30)).total_seconds() / 86400.0
    parts.append(_tag("File_CreatingTime", TY_DATETIME, now))
    parts.append(_tag("CreatorSW_Name", TY_ANSISTRING, "surfchem"))  # read by phconvert's loader
    parts.append(_tag("CreatorSW_Version", TY_ANSISTRING, surfchem.__version__))
    parts.append(_tag("Measurement_Mode", TY_INT8, 2 if mode == "t2" else 3))
    parts.append(_tag("Measurement_SubMode", TY_INT8, 0))
    parts.append(_tag("HW_Type", TY_ANSISTRING, "HydraHarp"))
    parts.append(_tag("HW_InpChannels", TY_INT8, 2))
    parts.append(_tag("MeasDesc_BinningFactor", TY_INT8, 1))
    parts.append(_tag("MeasDesc_GlobalResolution", TY_FLOAT8, global_resolution_s))
    parts.append(_tag("MeasDesc_Resolution", TY_FLOAT8, resolution_s))
    if acquisition_time_s is not None:
        parts.append(_tag("MeasDesc_AcquisitionTime", TY_INT8, int(round(acquisition_time_s * 1e3))))
    parts.append(_tag("TTResult_SyncRate", TY_INT8, int(round(sync_rate_hz))))
    parts.append(_tag("TTResult_NumberOfRecords", TY_INT8, records.size))
    parts.append(_tag("TTResultFormat_TTTRRecType", TY_INT8, record_type))
    parts.append(_tag("TTResultFormat_BitsPerRecord", TY_INT8, 32))
    parts.append(_tag("Header_End", TY_EMPTY8, None))
    path = os.fspath(path)
    with open(path, "wb") as fh:
        fh.write(b"".join(parts))
        fh.write(records.tobytes())
    return path
