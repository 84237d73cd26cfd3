"""Photon-HDF5 (Ingargiola et al., Biophys. J. 110, 26 (2016); photon-hdf5.org) reader and writer.

Fields used (single-spot, ``/photon_data``):

* ``timestamps`` (int64) with ``timestamps_specs/timestamps_unit`` (s),
* ``detectors`` (integer detector ids; used as our 0-based channels),
* optional ``nanotimes`` with ``nanotimes_specs/tcspc_unit`` (s) and ``tcspc_num_bins``,
* ``/setup/laser_repetition_rates`` (Hz) or ``timestamps_specs/laser_repetition_rate``.

The reader slices the datasets chunk by chunk (h5py reads only the requested slices), so memory
stays bounded. The writers (:func:`write_photon_hdf5` from arrays, :func:`convert_to_photon_hdf5`
streaming from a PTU file) produce these fields plus the ``/description``, ``/identity`` and
``/setup`` groups of Photon-HDF5 v0.4 (a minimal subset; not checked with phconvert). A
nanotime of -1 marks a photon without a known delay (T2 photons before the first sync).
Timestamps of foreign T3 exports are usually sync-based; they are used as given.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from surfchem.errors import FileFormatError
from surfchem.experiment.ptu import PhotonChunk


def open_photon_hdf5(path: str, chunk_records: int):
    import h5py

    from surfchem.experiment.stream import StreamInfo

    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise FileFormatError(f"{path!r}: cannot open as HDF5 ({exc})") from exc
    if "photon_data" not in fh or "timestamps" not in fh["photon_data"]:
        fh.close()
        raise FileFormatError(f"{path!r} is HDF5 but not Photon-HDF5: no /photon_data/timestamps")
    pd = fh["photon_data"]
    try:
        unit = float(pd["timestamps_specs"]["timestamps_unit"][()])
    except KeyError as exc:
        fh.close()
        raise FileFormatError(f"{path!r}: missing /photon_data/timestamps_specs/timestamps_unit") from exc
    has_nano = "nanotimes" in pd
    tcspc_unit = float(pd["nanotimes_specs"]["tcspc_unit"][()]) if has_nano else None
    rate = None
    if "setup" in fh and "laser_repetition_rates" in fh["setup"]:
        rr = np.atleast_1d(fh["setup"]["laser_repetition_rates"][()])
        rate = float(rr[0]) if rr.size and rr[0] > 0 else None
    if rate is None and "laser_repetition_rate" in pd["timestamps_specs"]:
        rate = float(pd["timestamps_specs"]["laser_repetition_rate"][()])
    acq = None
    if "acquisition_duration" in fh:
        acq = float(fh["acquisition_duration"][()])
    n = int(pd["timestamps"].shape[0])
    info = StreamInfo(
        path=path, source="photon-hdf5", mode="t3" if has_nano else "t2", n_records=n,
        sync_period_ps=1e12 / rate if rate else None,
        microtime_bin_ps=tcspc_unit * 1e12 if tcspc_unit else None,
        acquisition_time_s=acq, record_type="Photon-HDF5",
    )
    unit_ps = unit * 1e12

    def gen() -> Iterator[PhotonChunk]:
        try:
            ts = pd["timestamps"]
            det = pd["detectors"] if "detectors" in pd else None
            nano = pd["nanotimes"] if has_nano else None
            for i in range(0, n, chunk_records):
                t = ts[i : i + chunk_records].astype(np.int64)
                t = np.rint(t * unit_ps).astype(np.int64) if abs(unit_ps - round(unit_ps)) > 1e-9 else t * int(round(unit_ps))
                c = det[i : i + chunk_records].astype(np.int8) if det is not None else np.zeros(t.size, np.int8)
                m = None
                if nano is not None:
                    raw = nano[i : i + chunk_records].astype(np.int64)
                    m = np.where(raw >= 0, np.rint(raw * (tcspc_unit * 1e12)), -1).astype(np.int64)
                end = int(t[-1]) if t.size else 0
                yield PhotonChunk(t, c, m, end, int(t.size))
        finally:
            fh.close()

    return info, gen()


def write_photon_hdf5(
    path: str | os.PathLike[str],
    times_ps: np.ndarray,
    channels: np.ndarray,
    *,
    nanotimes_ps: np.ndarray | None = None,
    tcspc_unit_s: float = 16e-12,
    laser_rate_hz: float | None = None,
    duration_s: float | None = None,
    description: str = "written by surfchem",
) -> str:
    """Write photons (int64 ps) as a Photon-HDF5 file (timestamps unit 1 ps)."""
    import h5py

    path = os.fspath(path)
    t = np.asarray(times_ps, np.int64)
    with h5py.File(path, "w") as fh:
        fh.attrs["format_name"] = np.bytes_("Photon-HDF5")
        fh.attrs["format_version"] = np.bytes_("0.4")
        fh["description"] = np.bytes_(description)
        if duration_s is not None:
            fh["acquisition_duration"] = float(duration_s)
        pd = fh.create_group("photon_data")
        pd.create_dataset("timestamps", data=t, chunks=True)
        pd.create_dataset("detectors", data=np.asarray(channels, np.uint8), chunks=True)
        pd.create_group("timestamps_specs")["timestamps_unit"] = 1e-12
        if laser_rate_hz:
            pd["timestamps_specs"]["laser_repetition_rate"] = float(laser_rate_hz)
        if nanotimes_ps is not None:
            nb = np.rint(np.asarray(nanotimes_ps, float) / (tcspc_unit_s * 1e12)).astype(np.uint16)
            pd.create_dataset("nanotimes", data=nb, chunks=True)
            ns = pd.create_group("nanotimes_specs")
            ns["tcspc_unit"] = float(tcspc_unit_s)
            ns["tcspc_num_bins"] = int(nb.max()) + 1 if nb.size else 1
            if laser_rate_hz:
                ns["tcspc_range"] = 1.0 / float(laser_rate_hz)
        setup = fh.create_group("setup")
        setup["num_pixels"] = 2
        setup["num_spots"] = 1
        setup["num_spectral_ch"] = 1
        setup["num_polarization_ch"] = 1
        setup["num_split_ch"] = 2
        setup["modulated_excitation"] = False
        setup["lifetime"] = nanotimes_ps is not None
        setup["excitation_cw"] = [not laser_rate_hz]
        if laser_rate_hz:
            setup["laser_repetition_rates"] = [float(laser_rate_hz)]
        ident = fh.create_group("identity")
        ident["software"] = np.bytes_("surfchem")
    return path


def convert_to_photon_hdf5(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, chunk_records: int = 1 << 20,
) -> dict:
    """Stream any supported photon file (PTU T2/T3) into a Photon-HDF5 file.

    Timestamps are written as int64 picoseconds (unit 1e-12 s); T3 microtimes (and T2 delays to
    the last sync) as ``nanotimes`` in units of the T3 resolution (T2: 1 ps). Datasets are
    resizable and appended chunk by chunk, so memory stays bounded.
    """
    import h5py

    from surfchem.experiment.stream import open_stream

    info, chunks = open_stream(src, chunk_records)
    unit_ps = info.microtime_bin_ps or 1.0
    rate = 1e12 / info.sync_period_ps if info.sync_period_ps else None
    dst = os.fspath(dst)
    n = 0
    with h5py.File(dst, "w") as fh:
        fh.attrs["format_name"] = np.bytes_("Photon-HDF5")
        fh.attrs["format_version"] = np.bytes_("0.4")
        fh["description"] = np.bytes_(f"converted by surfchem from {os.path.basename(os.fspath(src))}")
        if info.acquisition_time_s:
            fh["acquisition_duration"] = float(info.acquisition_time_s)
        pd = fh.create_group("photon_data")
        ts = pd.create_dataset("timestamps", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(1 << 16,))
        det = pd.create_dataset("detectors", shape=(0,), maxshape=(None,), dtype=np.uint8, chunks=(1 << 16,))
        pd.create_group("timestamps_specs")["timestamps_unit"] = 1e-12
        if rate:
            pd["timestamps_specs"]["laser_repetition_rate"] = rate
        nano = None
        for c in chunks:
            k = len(c)
            if k == 0:
                continue
            if c.microtimes_ps is not None and nano is None and n == 0:
                nano = pd.create_dataset("nanotimes", shape=(0,), maxshape=(None,), dtype=np.int64,
                                         chunks=(1 << 16,))
                ns = pd.create_group("nanotimes_specs")
                ns["tcspc_unit"] = unit_ps * 1e-12
                if info.sync_period_ps:
                    ns["tcspc_range"] = info.sync_period_ps * 1e-12
                    ns["tcspc_num_bins"] = int(np.ceil(info.sync_period_ps / unit_ps))
            for dset, arr in ((ts, c.times_ps), (det, c.channels.astype(np.uint8))):
                dset.resize((n + k,))
                dset[n:] = arr
            if nano is not None:
                m = c.microtimes_ps if c.microtimes_ps is not None else np.full(k, -1, np.int64)
                nano.resize((n + k,))
                nano[n:] = np.where(m >= 0, np.rint(m / unit_ps), -1).astype(np.int64)
            n += k
        setup = fh.create_group("setup")
        setup["num_pixels"] = 2
        setup["num_spots"] = 1
        setup["num_spectral_ch"] = 1
        setup["num_polarization_ch"] = 1
        setup["num_split_ch"] = 2
        setup["modulated_excitation"] = False
        setup["lifetime"] = nano is not None
        setup["excitation_cw"] = [rate is None]
        if rate:
            setup["laser_repetition_rates"] = [rate]
        fh.create_group("identity")["software"] = np.bytes_("surfchem")
    return {"source": os.fspath(src), "output": dst, "n_photons": n, "mode": info.mode}
