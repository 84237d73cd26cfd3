"""What a photon stream is: :class:`StreamInfo`, shared by every reader and by :mod:`.stream`.

Its own module so that the format readers (:mod:`.ptu`, :mod:`.legacy`, :mod:`.bhspc`,
:mod:`.photonhdf5_reader`) sit below :mod:`.stream`, which dispatches to them, and the Photon-HDF5
writer (:mod:`.photonhdf5`) above it, with no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: highest detector channel: channels are int8 inside surfchem
MAX_CHANNEL = 127


@dataclass
class StreamInfo:
    """Metadata of a photon stream (units in the names)."""

    path: str | None
    source: str  # "ptu", legacy "pt3"/"pt2"/"ht3"/"ht2"/"t3r", "spc", "photon-hdf5", "array"
    mode: str  # "t2" or "t3"
    n_records: int
    sync_period_ps: float | None  # laser period (None: cw / unknown)
    microtime_bin_ps: float | None  # T3 dtime bin (None: T2)
    acquisition_time_s: float | None = None
    record_type: str = ""
    extra: dict = field(default_factory=dict)
