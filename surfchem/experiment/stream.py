"""Chunked photon streams and the single pass that feeds accumulators.

A *stream* is :class:`StreamInfo` (what the file is) plus an iterator of
:class:`~surfchem.experiment.ptu.PhotonChunk` (int64 picosecond macrotimes, int8 channels,
optional int64 picosecond microtimes). Accumulators (trace, g2, decay) expose ``add(chunk)``;
:func:`run` reads the file once and feeds every accumulator, so the memory is bounded by the
chunk size plus the accumulators' own (small) state.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from surfchem.errors import FileFormatError, InputError
from surfchem.experiment import bhspc, legacy, photonhdf5_reader, ptu
from surfchem.experiment.ptu import PhotonChunk
from surfchem.experiment.streaminfo import StreamInfo

__all__ = ["Accumulator", "StreamInfo", "StreamStats", "array_stream", "header_info", "open_stream", "run"]


class Accumulator(Protocol):
    """Protocol of the streaming analyses: ``add(chunk)`` is called once per chunk of photons."""

    def add(self, chunk: PhotonChunk) -> None:
        """Consume one :class:`PhotonChunk`."""
        ...


def open_stream(
    path: str | os.PathLike[str],
    chunk_records: int = ptu.DEFAULT_CHUNK_RECORDS,
    *,
    allow_truncated: bool = False,
) -> tuple[StreamInfo, Iterator[PhotonChunk]]:
    """Open a photon file as a chunked stream, recognising it by content (not by extension).

    Parameters
    ----------
    path : str or path-like
        A PicoQuant PTU file (magic ``PQTTTR``), a legacy PicoQuant file (ident
        ``PicoHarp 300``: ``.pt2``/``.pt3``; ``HydraHarp``: ``.ht2``/``.ht3``; ``TimeHarp 200``:
        ``.t3r``), a Photon-HDF5
        file, or a Becker & Hickl FIFO file. The last has no magic: it is the one format
        recognised by its extension (``.spc``, any case), tried after the magic-based ones, and
        its first record is validated (:mod:`surfchem.experiment.bhspc`).
    chunk_records : int
        Records decoded per chunk (bounds the memory).
    allow_truncated : bool
        Analyse the complete records of a file shorter than its header declares.

    Raises
    ------
    InputError
        Missing file, or (as :class:`FileFormatError`) a file of none of these kinds or a
        truncated one; the one-line message names the file and what was expected.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"photon file {path!r} does not exist")
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head[:8] == ptu.MAGIC:
        hdr = ptu.read_header(path, allow_truncated=allow_truncated)
        return header_info(hdr), ptu.iter_ptu_chunks(hdr, chunk_records)
    if legacy.is_legacy(head):
        hdr = legacy.read_header(path, allow_truncated=allow_truncated)
        return header_info(hdr), ptu.iter_ptu_chunks(hdr, chunk_records)
    if head[:8] == b"\x89HDF\r\n\x1a\n":
        return photonhdf5_reader.open_photon_hdf5(path, chunk_records)
    if path.lower().endswith(".spc"):
        hdr = bhspc.read_header(path, allow_truncated=allow_truncated)
        return header_info(hdr), ptu.iter_ptu_chunks(hdr, chunk_records)
    raise FileFormatError(
        f"{path!r}: unknown photon file (magic {head[:8]!r}); expected a PicoQuant PTU "
        "('PQTTTR'), a legacy PicoQuant file (ident 'PicoHarp 300', 'HydraHarp' or "
        "'TimeHarp 200'), a "
        "Photon-HDF5 file or a Becker & Hickl FIFO file named *.spc"
    )


def header_info(hdr: ptu.PtuHeader) -> StreamInfo:
    """:class:`StreamInfo` of a PTU or legacy PicoQuant header (``source`` = its container)."""
    acq = hdr.tags.get("MeasDesc_AcquisitionTime")
    if hdr.mode == "t3":
        period = hdr.global_resolution_s * 1e12
    elif hdr.sync_rate_hz:
        period = 1e12 / hdr.sync_rate_hz
    else:
        period = _peek_sync_period(hdr)
    return StreamInfo(
        path=hdr.path,
        source=hdr.container,
        mode=hdr.mode,
        n_records=hdr.n_records,
        sync_period_ps=period,
        microtime_bin_ps=hdr.resolution_s * 1e12 if hdr.mode == "t3" else None,
        # a truncated file's acquisition time overstates what the records cover
        acquisition_time_s=float(acq) * 1e-3 if acq and not hdr.truncated else None,
        record_type=hdr.record_format.name,
        extra={"truncated": hdr.truncated, "declared_records": hdr.declared_records,
               **({"microtime_bin_source": hdr.tags["MicrotimeBinSource"]}
                  if "MicrotimeBinSource" in hdr.tags else {})},
    )


def _peek_sync_period(hdr: ptu.PtuHeader, n_peek: int = 1 << 16) -> float | None:
    """T2 file without ``TTResult_SyncRate``: median spacing of the first recorded syncs.

    Correct when every sync is recorded (divider 1); with a sync divider the spacing is a
    multiple of the laser period, so pulsed analyses need the header rate.
    """
    first = next(ptu.iter_ptu_chunks(hdr, n_peek), None)
    if first is None or first.sync_times_ps is None or first.sync_times_ps.size < 3:
        return None
    return float(np.median(np.diff(first.sync_times_ps)))


def array_stream(
    times_ps: np.ndarray,
    channels: np.ndarray,
    microtimes_ps: np.ndarray | None = None,
    *,
    chunk_size: int = 1 << 20,
    sync_period_ps: float | None = None,
    microtime_bin_ps: float | None = None,
    end_time_ps: int | None = None,
) -> tuple[StreamInfo, Iterator[PhotonChunk]]:
    """Wrap in-memory arrays (sorted int64 ps) as a chunked stream (for tests and notebooks)."""
    t = np.asarray(times_ps, dtype=np.int64)
    c = np.asarray(channels, dtype=np.int8)
    m = None if microtimes_ps is None else np.asarray(microtimes_ps, dtype=np.int64)
    if t.shape != c.shape or (m is not None and m.shape != t.shape):
        raise InputError("times_ps, channels (and microtimes_ps) must have the same length")
    if t.size and np.any(np.diff(t) < 0):
        raise InputError("times_ps must be sorted (non-decreasing)")
    info = StreamInfo(
        path=None,
        source="array",
        mode="t3" if m is not None else "t2",
        n_records=int(t.size),
        sync_period_ps=sync_period_ps,
        microtime_bin_ps=microtime_bin_ps,
    )

    def gen() -> Iterator[PhotonChunk]:
        for i in range(0, t.size, chunk_size):
            sl = slice(i, i + chunk_size)
            tt = t[sl]
            end = int(tt[-1]) if tt.size else 0
            if end_time_ps is not None and i + chunk_size >= t.size:
                end = max(end, int(end_time_ps))
            yield PhotonChunk(tt, c[sl], None if m is None else m[sl], end, int(tt.size))

    return info, gen()


@dataclass
class StreamStats:
    """Totals seen by :func:`run`."""

    n_records: int = 0
    n_photons: int = 0
    first_time_ps: int | None = None
    last_photon_ps: int = 0
    end_time_ps: int = 0
    photons_per_channel: dict[int, int] = field(default_factory=dict)
    has_microtimes: bool = False
    sync_spacing_ps: float | None = None

    def add(self, chunk: PhotonChunk) -> None:
        """Count the records and photons of one chunk and track the end time and sync spacing (ps)."""
        self.n_records += chunk.n_records
        n = len(chunk)
        self.end_time_ps = max(self.end_time_ps, chunk.end_time_ps)
        if chunk.sync_times_ps is not None and chunk.sync_times_ps.size > 1 and self.sync_spacing_ps is None:
            self.sync_spacing_ps = float(np.median(np.diff(chunk.sync_times_ps)))
        if n == 0:
            return
        self.n_photons += n
        if self.first_time_ps is None:
            self.first_time_ps = int(chunk.times_ps[0])
        self.last_photon_ps = int(chunk.times_ps[-1])
        self.end_time_ps = max(self.end_time_ps, self.last_photon_ps)
        if chunk.microtimes_ps is not None:
            self.has_microtimes = True
        cnt = np.bincount(chunk.channels.astype(np.int64) + 1)  # channel -1 never occurs here
        for ch in np.flatnonzero(cnt):
            key = int(ch) - 1
            self.photons_per_channel[key] = self.photons_per_channel.get(key, 0) + int(cnt[ch])


def run(chunks: Iterable[PhotonChunk], accumulators: Iterable[Accumulator], progress=None) -> StreamStats:
    """Consume ``chunks`` once, feeding every accumulator; return the stream totals."""
    stats = StreamStats()
    accs = list(accumulators)
    for chunk in chunks:
        stats.add(chunk)
        for acc in accs:
            acc.add(chunk)
        if progress is not None:
            progress(chunk.n_records)
    return stats
