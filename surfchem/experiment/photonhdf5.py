"""Photon-HDF5 (Ingargiola et al., Biophys. J. 110, 26 (2016); photon-hdf5.org) writers.

The fields are those the reader uses (:mod:`surfchem.experiment.photonhdf5_reader`). The writers go through phconvert's :func:`phconvert.hdf5.save_photon_hdf5`, the format's
reference library: it writes the spec's descriptions (``TITLE`` attributes), the ``/identity``
group and ``/setup/detectors``, and validates the file (Photon-HDF5 0.5). The measurement is
``generic`` with one beam-split channel per detector (an HBT setup: 2 detectors, 1 spectral and
1 polarisation channel). :func:`convert_to_photon_hdf5` streams the photons into extendable
arrays first and hands them to phconvert as PyTables arrays, so memory stays bounded while
writing; phconvert's validation then reads the ``detectors`` array once (1 byte per photon), which
is skipped above ``validate_max_photons``.

Nanotimes are ``uint16`` in TCSPC units for T3 data (PicoQuant dtimes fit 15 bits); T2 delays to
the last recorded sync are ``int64`` in ps (``tcspc_unit = 1 ps``) with -1 for photons before the
first sync (no known delay). Timestamps are written in ps (``timestamps_unit`` = 1e-12 s).
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings

import numpy as np

import surfchem
from surfchem.errors import FileFormatError, InputError
from surfchem.experiment.stream import open_stream
from surfchem.experiment.streaminfo import MAX_CHANNEL

#: validation of streamed conversions reads ``detectors`` whole (1 byte/photon); skipped above this
VALIDATE_MAX_PHOTONS = 1 << 26


# ------------------------------------------------------------------------------------- writer


def _duration_covering(last_ps: int) -> float:
    """Smallest float seconds ``d`` with ``round(d * 1e12) >= last_ps`` (readers take it as the end)."""
    d = last_ps * 1e-12
    while round(d * 1e12) < last_ps:
        d = float(np.nextafter(d, np.inf))
    return d


def _nanotime_dtype(mode: str) -> type:
    """uint16 TCSPC bins for T3 (PicoQuant dtimes < 2**15); int64 ps (-1 = unknown) for T2 delays."""
    return np.uint16 if mode == "t3" else np.int64


def _to_bins(nanotimes_ps: np.ndarray, unit_ps: float, dtype: type) -> np.ndarray:
    """Nanotimes (ps, -1 = unknown) in TCSPC units of ``dtype``; raises if they do not fit."""
    m = np.asarray(nanotimes_ps)
    b = np.where(m >= 0, np.rint(m / unit_ps), -1)
    if b.size and dtype == np.uint16 and (b.min() < 0 or b.max() > np.iinfo(np.uint16).max):
        raise InputError(f"T3 nanotimes must be 0..65535 TCSPC bins of {unit_ps} ps, got "
                         f"{int(b.min())}..{int(b.max())} (negative = photon without a delay)")
    return b.astype(dtype)


def photon_hdf5_dict(
    *,
    timestamps,
    detectors,
    detector_counts: dict[int, int],
    nanotimes=None,
    tcspc_unit_s: float | None = None,
    laser_rate_hz: float | None = None,
    duration_s: float,
    description: str,
    provenance: dict | None = None,
) -> dict:
    """The phconvert ``data_dict`` of a single-spot, single-colour measurement (timestamps in ps).

    Parameters
    ----------
    timestamps, detectors, nanotimes : ndarray or tables.Array
        Photon arrays (int64 ps; uint8 detector ids; TCSPC bins), numpy or already-written
        PyTables arrays (phconvert then only sets their descriptions).
    detector_counts : dict
        Photons per detector id (``/setup/detectors``: phconvert checks them against the data).
    nanotimes, tcspc_unit_s : optional
        TCSPC bins and their width (s); written only with a pulsed ``laser_rate_hz`` (Hz),
        since Photon-HDF5 forbids lifetime data without a pulsed source.
    duration_s : float
        ``/acquisition_duration`` (s): the end of the measurement, timestamps start at 0.
    """
    pulsed = bool(laser_rate_hz)
    lifetime = nanotimes is not None and pulsed
    ids = sorted(detector_counts) or [0]
    meas: dict = {"measurement_type": "generic",
                  "detectors_specs": {f"split_ch{i + 1}": np.array([d], np.uint8) for i, d in enumerate(ids)}}
    pd: dict = {"timestamps": timestamps, "detectors": detectors,
                "timestamps_specs": {"timestamps_unit": 1e-12}, "measurement_specs": meas}
    setup: dict = {
        "num_pixels": len(ids), "num_spots": 1, "num_spectral_ch": 1, "num_polarization_ch": 1,
        "num_split_ch": len(ids), "modulated_excitation": False, "excitation_alternated": [False],
        "lifetime": lifetime, "excitation_cw": [not pulsed],
        "detectors": {"id": np.array(ids, np.uint8), "id_hardware": np.array(ids, np.uint8),
                      "counts": np.array([detector_counts.get(d, 0) for d in ids], np.int64)},
    }
    if pulsed:
        setup["laser_repetition_rates"] = [float(laser_rate_hz)]
        meas["laser_repetition_rate"] = float(laser_rate_hz)
    if lifetime:
        pd["nanotimes"] = nanotimes
        pd["nanotimes_specs"] = {"tcspc_unit": float(tcspc_unit_s),
                                 "tcspc_num_bins": int(np.ceil(1.0 / (laser_rate_hz * tcspc_unit_s) - 1e-9)),
                                 "tcspc_range": 1.0 / float(laser_rate_hz)}
    data = {"description": description, "acquisition_duration": float(duration_s),
            "photon_data": pd, "setup": setup,
            "identity": {"creator": f"surfchem {surfchem.__version__}"}}
    if provenance:
        data["provenance"] = provenance
    return data


def _save(data: dict, path: str, *, h5file=None, validate: bool = True) -> None:
    """phconvert's ``save_photon_hdf5`` (validated), without its prints and missing-author warnings."""
    from phconvert import hdf5 as phc_hdf5

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            phc_hdf5.save_photon_hdf5(data, h5_fname=path, h5file=h5file, overwrite=True,
                                      validate=validate, warnings=False)
        except phc_hdf5.Invalid_PhotonHDF5 as exc:
            raise FileFormatError(f"{path!r}: phconvert rejected the Photon-HDF5 data: {exc}") from exc


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
    """Write in-memory photons as a validated Photon-HDF5 file (through phconvert).

    Parameters
    ----------
    path : str or path-like
        Output file (overwritten).
    times_ps : ndarray of int64
        Sorted photon times (ps from the start of the measurement).
    channels : ndarray of int
        Detector channel of each photon (0 .. 127).
    nanotimes_ps : ndarray, optional
        Delay after the laser pulse (ps; -1 = unknown); stored in bins of ``tcspc_unit_s`` (s),
        as uint16 when all fit, else int64. Needs ``laser_rate_hz``.
    laser_rate_hz : float, optional
        Pulsed excitation rate (Hz); None = cw.
    duration_s : float, optional
        Measurement length (s); default: up to the last photon.

    Returns
    -------
    str
        ``path``.
    """
    path = os.fspath(path)
    t = np.asarray(times_ps, np.int64)
    c = np.asarray(channels)
    if c.shape != t.shape:
        raise InputError(f"times_ps ({t.size}) and channels ({c.size}) must have the same length")
    if c.size and (c.min() < 0 or c.max() > MAX_CHANNEL):
        raise InputError(f"channels must be 0..{MAX_CHANNEL}, got {int(c.min())}..{int(c.max())}")
    if nanotimes_ps is not None and not laser_rate_hz:
        raise InputError("nanotimes_ps need the pulsed laser_rate_hz (Photon-HDF5 has no lifetime data for cw)")
    ids, cnt = np.unique(c, return_counts=True)
    nano = None
    if nanotimes_ps is not None:
        m = np.asarray(nanotimes_ps)
        fits16 = m.size == 0 or (m.min() >= 0 and np.rint(m.max() / (tcspc_unit_s * 1e12)) <= 65535)
        nano = _to_bins(m, tcspc_unit_s * 1e12, np.uint16 if fits16 else np.int64)
    data = photon_hdf5_dict(
        timestamps=t, detectors=c.astype(np.uint8),
        detector_counts={int(i): int(k) for i, k in zip(ids, cnt, strict=True)},
        nanotimes=nano, tcspc_unit_s=tcspc_unit_s, laser_rate_hz=laser_rate_hz,
        duration_s=duration_s if duration_s is not None else _duration_covering(int(t[-1]) if t.size else 0),
        description=description)
    _save(data, path)
    return path


def convert_to_photon_hdf5(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, chunk_records: int = 1 << 20,
    validate_max_photons: int = VALIDATE_MAX_PHOTONS,
) -> dict:
    """Stream any supported photon file into a validated Photon-HDF5 file (bounded memory).

    Timestamps are int64 ps (unit 1e-12 s); T3 microtimes are uint16 ``nanotimes`` in units of
    the T3 resolution, T2 delays to the last sync int64 ps (-1 before the first sync). Photons
    are appended chunk by chunk to extendable, zlib-compressed arrays, which phconvert then
    completes with the metadata and validates (skipped above ``validate_max_photons`` photons,
    see the module docstring).

    Returns
    -------
    dict
        ``source``, ``output``, ``n_photons``, ``mode`` and ``validated``.
    """
    import tables

    info, chunks = open_stream(src, chunk_records)
    unit_ps = info.microtime_bin_ps or 1.0
    rate = 1e12 / info.sync_period_ps if info.sync_period_ps else None
    dst = os.fspath(dst)
    filt = tables.Filters(complevel=6, complib="zlib")
    h5 = tables.open_file(dst, mode="w", filters=filt)
    try:
        grp = h5.create_group("/", "photon_data")
        ts = h5.create_earray(grp, "timestamps", tables.Int64Atom(), (0,), expectedrows=max(info.n_records, 1))
        det = h5.create_earray(grp, "detectors", tables.UInt8Atom(), (0,), expectedrows=max(info.n_records, 1))
        nano = None
        nano_dtype = _nanotime_dtype(info.mode)
        counts = np.zeros(MAX_CHANNEL + 1, np.int64)
        n, last = 0, 0
        for c in chunks:
            if len(c) == 0:
                continue
            if n == 0 and c.microtimes_ps is not None and rate:
                nano = h5.create_earray(grp, "nanotimes", tables.Atom.from_dtype(np.dtype(nano_dtype)), (0,),
                                        expectedrows=max(info.n_records, 1))
            ts.append(c.times_ps)
            det.append(c.channels.astype(np.uint8))
            counts += np.bincount(c.channels.astype(np.int64), minlength=counts.size)
            if nano is not None:
                m = c.microtimes_ps if c.microtimes_ps is not None else np.full(len(c), -1, np.int64)
                nano.append(_to_bins(m, unit_ps, nano_dtype))
            n += len(c)
            last = int(c.times_ps[-1])
        acq = info.acquisition_time_s
        data = photon_hdf5_dict(
            timestamps=ts, detectors=det,
            detector_counts={int(i): int(counts[i]) for i in np.flatnonzero(counts)},
            nanotimes=nano, tcspc_unit_s=unit_ps * 1e-12, laser_rate_hz=rate,
            duration_s=acq if acq and acq * 1e12 >= last else _duration_covering(last),
            description=f"converted by surfchem from {os.path.basename(os.fspath(src))}",
            provenance={"filename": os.path.basename(os.fspath(src)),
                        "filename_full": os.path.abspath(os.fspath(src))},
        )
        validated = n <= validate_max_photons
        _save(data, dst, h5file=h5, validate=validated)
    finally:
        if h5.isopen:
            h5.close()
    return {"source": os.fspath(src), "output": dst, "n_photons": n, "mode": info.mode,
            "validated": validated}
