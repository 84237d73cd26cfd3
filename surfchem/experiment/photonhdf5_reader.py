"""Photon-HDF5 reader (Ingargiola et al., Biophys. J. 110, 26 (2016); photon-hdf5.org).

Fields used (single-spot, ``/photon_data``):

* ``timestamps`` (int64) with ``timestamps_specs/timestamps_unit`` (s),
* ``detectors`` (integer detector ids; used as our 0-based channels, 0 .. 127),
* optional ``nanotimes`` with ``nanotimes_specs/tcspc_unit`` (s) and ``tcspc_num_bins`` (or the
  per-detector ``/setup/detectors/tcspc_units``),
* the laser repetition rate (Hz) from ``/setup/laser_repetition_rates``, else
  ``measurement_specs/laser_repetition_rate`` (files of surfchem < 0.2 kept it in
  ``timestamps_specs/laser_repetition_rate``, still read).

The reader slices the datasets chunk by chunk with h5py (only the requested slices are read), so
memory stays bounded; files written by phconvert (PyTables, zlib) and by any HDF5 library read
the same way. Timestamps of T3 exports are usually sync-based (``timestamps_unit`` = the laser
period, as phconvert writes PicoQuant T3 data): the reader then adds the nanotime, so photon
times equal those read from the original PTU file (sync time + microtime, the convention of
:mod:`surfchem.experiment.ptu`). The writers are in :mod:`surfchem.experiment.photonhdf5`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from surfchem.errors import FileFormatError
from surfchem.experiment.ptu import PhotonChunk
from surfchem.experiment.streaminfo import MAX_CHANNEL, StreamInfo


def _scalar(group, name: str) -> float | None:
    return float(np.ravel(group[name][()])[0]) if name in group else None


def _laser_rate_hz(fh, pd) -> float | None:
    """Repetition rate (Hz) from /setup, measurement_specs or (old surfchem) timestamps_specs."""
    if "setup" in fh and "laser_repetition_rates" in fh["setup"]:
        rr = np.atleast_1d(fh["setup"]["laser_repetition_rates"][()])
        if rr.size and rr[0] > 0:
            return float(rr[0])
    for grp in ("measurement_specs", "timestamps_specs"):
        if grp in pd:
            rate = _scalar(pd[grp], "laser_repetition_rate")
            if rate:
                return rate
    return None


def _tcspc_unit_s(fh, pd) -> float | None:
    """TCSPC bin (s) from nanotimes_specs or the per-detector /setup/detectors/tcspc_units."""
    if "nanotimes_specs" in pd and "tcspc_unit" in pd["nanotimes_specs"]:
        return _scalar(pd["nanotimes_specs"], "tcspc_unit")
    det = fh["setup"]["detectors"] if "setup" in fh and "detectors" in fh["setup"] else {}
    for name in ("tcspc_units", "tcspc_unit"):
        if name in det:
            units = np.unique(np.atleast_1d(det[name][()]))
            if units.size != 1:
                raise FileFormatError(f"detectors have different TCSPC units {units.tolist()} s; "
                                      "one unit for all detectors is supported")
            return float(units[0])
    return None


def open_photon_hdf5(path: str, chunk_records: int):
    """Open a single-spot Photon-HDF5 file as a chunked photon stream (see module docstring)."""
    import h5py

    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise FileFormatError(f"{path!r}: cannot open as HDF5 ({exc})") from exc
    try:
        if "photon_data" not in fh and "photon_data0" in fh:
            raise FileFormatError(f"{path!r} is a multispot Photon-HDF5 file (photon_data0, ...); "
                                  "only single-spot files (/photon_data) are supported")
        if "photon_data" not in fh or "timestamps" not in fh["photon_data"]:
            raise FileFormatError(f"{path!r} is HDF5 but not Photon-HDF5: no /photon_data/timestamps")
        pd = fh["photon_data"]
        if "timestamps_specs" not in pd or "timestamps_unit" not in pd["timestamps_specs"]:
            raise FileFormatError(f"{path!r}: missing /photon_data/timestamps_specs/timestamps_unit")
        unit = _scalar(pd["timestamps_specs"], "timestamps_unit")
        has_nano = "nanotimes" in pd
        tcspc_unit = _tcspc_unit_s(fh, pd) if has_nano else None
        if has_nano and not tcspc_unit:
            raise FileFormatError(f"{path!r} has nanotimes but no TCSPC unit "
                                  "(nanotimes_specs/tcspc_unit or /setup/detectors/tcspc_units)")
        rate = _laser_rate_hz(fh, pd)
        acq = _scalar(fh, "acquisition_duration")
    except BaseException:
        fh.close()
        raise
    n = int(pd["timestamps"].shape[0])
    info = StreamInfo(
        path=path, source="photon-hdf5", mode="t3" if has_nano else "t2", n_records=n,
        sync_period_ps=1e12 / rate if rate else None,
        microtime_bin_ps=tcspc_unit * 1e12 if tcspc_unit else None,
        acquisition_time_s=acq, record_type="Photon-HDF5",
    )
    unit_ps = unit * 1e12
    sync_based = bool(has_nano and rate and abs(unit * rate - 1.0) < 1e-6)

    def gen() -> Iterator[PhotonChunk]:
        try:
            ts = pd["timestamps"]
            det = pd["detectors"] if "detectors" in pd else None
            nano = pd["nanotimes"] if has_nano else None
            for i in range(0, n, chunk_records):
                t = ts[i : i + chunk_records].astype(np.int64)
                t = np.rint(t * unit_ps).astype(np.int64) if abs(unit_ps - round(unit_ps)) > 1e-9 else t * int(round(unit_ps))
                c = np.zeros(t.size, np.int8)
                if det is not None:
                    d = det[i : i + chunk_records]
                    if d.size and (int(d.max()) > MAX_CHANNEL or int(d.min()) < 0):
                        raise FileFormatError(f"{path!r}: detector ids {int(d.min())}..{int(d.max())} "
                                              f"outside 0..{MAX_CHANNEL}")
                    c = d.astype(np.int8)
                m = None
                if nano is not None:
                    raw = nano[i : i + chunk_records].astype(np.int64)
                    m = np.where(raw >= 0, np.rint(raw * (tcspc_unit * 1e12)), -1).astype(np.int64)
                    if sync_based:
                        t = t + np.maximum(m, 0)
                end = int(t[-1]) if t.size else 0
                yield PhotonChunk(t, c, m, end, int(t.size))
        finally:
            fh.close()

    return info, gen()
