"""File-level analysis of one quantum dot: one streaming pass, then the statistics.

:func:`analyze_file` reads a PTU or Photon-HDF5 file once in chunks and feeds

* a fine trace (``bin_s / 10``, counts only) for the bin-width scan of ON fraction and Q,
* the main trace (``bin_s``) with per-bin microtime sums (FLID),
* the cross-correlation histogram of the two ``channels`` (g2),
* the microtime histogram (decay, when the file has laser syncs),

then derives the numbers of the paper (science brief section 3) into :class:`PhotonAnalysis`.

Method ``"cpa"`` adds photon-by-photon change points (:mod:`surfchem.experiment.changepoint`,
Watkins & Yang 2005) of the same channels in the same pass: ``PhotonAnalysis.changepoints`` holds
the intensity levels, their time fractions and dwell statistics, and per level the lifetime fitted
to the level's decay histogram (a second pass over the file, same bins and IRF handling as the
whole decay) and the background-corrected first moment; ``PhotonData`` holds the segments, their
first-moment lifetimes and their FLID and FDID. Default ``cpa_alpha = 0.01``: on simulated two-
and three-level files with background, 0.05 gave one spurious extra level (a short false segment
that BIC keeps as its own level) in 4 of 14 files, 0.01 in 1 of 14.
Fields that the acquisition mode does not allow are ``None`` (e.g. ``lifetime_ns`` for T2
without syncs; for cw excitation ``g2_0_raw = g2_0_cw_fit`` is the antibunching-model fit and
``g2_0`` is ``None``, since no decay floor gives the background fraction).

Empty results (documented): a file with zero photons gives ``n_photons = 0`` and ``None`` for
every statistic, with a warning; an empty g2 channel gives ``None`` g2 fields with a warning.

g2 background correction: ``g2_0`` applies ``opt.g2_correction`` (default: the paper's
``g2_0_raw - background_fraction``); ``g2_0_exact`` applies the exact uncorrelated-background
relation (see :mod:`surfchem.experiment.g2`) with ``background_fraction_on``, the background rate
divided by the mean ON-state count rate. Blinking bunches the side peaks by ``1/on_fraction``
while the background does not blink, so the ON-state ratio is the one that enters the relation
(for non-blinking dots both fractions coincide).

Duration: ``MeasDesc_AcquisitionTime`` (Photon-HDF5: ``acquisition_duration``) unless the
records run past it (then the last record, with a warning): a dark (OFF) tail produces no
records, so the last record would cut it off and bias the ON fraction. For a truncated file
(``allow_truncated``) the last record is used. Only complete bins enter the trace.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from surfchem.errors import InputError
from surfchem.experiment import changepoint, decay, dwell, g2, stream, trace
from surfchem.experiment.ptu import DEFAULT_CHUNK_RECORDS, PhotonChunk


@dataclass
class AnalysisOptions:
    """Settings of :func:`analyze_file` / :func:`analyze_stream` (CLI: ``surfchem photons analyze``).

    Attributes
    ----------
    bin_s : float, default 0.01
        Trace bin width, s.
    threshold : float, default 0.5
        ON/OFF threshold as a fraction of the robust maximum (method ``max_fraction``).
    threshold_method : str, default "max_fraction"
        ``"max_fraction"``, ``"counts"``, ``"two_level"`` or ``"hmm"``.
    threshold_counts : float, optional
        Threshold in counts per bin (method ``counts``).
    max_percentile : float, default 99.5
        Percentile of the trace taken as its robust maximum.
    channels : tuple of int, default (0, 1)
        Detector channels (the two arms of the g2).
    chunk_records : int
        Records decoded at once (memory bound).
    g2_bin_s : float, optional
        g2 bin width, s (default 1 ns pulsed, 0.2 ns CW).
    g2_tau_max_s : float, optional
        Largest g2 delay, s (default (n_side + 0.5) periods pulsed, 100 ns CW).
    g2_n_side : int, default 4
        Side peaks averaged for the pulsed g2(0).
    g2_correction : {"paper", "exact"}, default "paper"
        Background correction of ``g2_0``.
    decay_bin_ps : float, optional
        Decay histogram bin, ps (default: T3 native resolution, T2 16 ps).
    scan_factors : tuple of int
        Multiples of ``bin_s`` of the bin-width scan.
    dwell_t_min_s : float, optional
        Lower cut of the dwell-time power-law fits, s (default: Kolmogorov-Smirnov choice).
    min_dwell_events : int, default 50
        Fewest dwell events for a fit.
    allow_truncated : bool, default False
        Analyse a truncated file up to its last whole record.
    keep_data : bool, default True
        Keep the arrays (trace, histograms) for plotting.
    irf_path : str, optional
        Measured IRF (scatter) file for the reconvolution.
    method : {"binned", "cpa"}, default "binned"
        ``"cpa"`` adds photon-by-photon change points (Watkins & Yang 2005).
    cpa_alpha : float, default 0.01
        False-positive probability of each change-point test.
    cpa_max_levels : int, default 6
        Most intensity levels.
    cpa_window_photons : int
        Photons analysed at once (memory bound).
    cpa_min_fit_photons : int, default 100
        Segments with fewer photons get no fitted lifetime.
    """
    bin_s: float = 0.01
    threshold: float = 0.5  # fraction of the robust maximum (method max_fraction)
    threshold_method: str = "max_fraction"  # "max_fraction", "counts", "two_level", "hmm"
    threshold_counts: float | None = None  # for method "counts"
    max_percentile: float = 99.5
    channels: tuple[int, int] = (0, 1)
    chunk_records: int = DEFAULT_CHUNK_RECORDS
    g2_bin_s: float | None = None  # default: 1 ns pulsed, 0.2 ns cw
    g2_tau_max_s: float | None = None  # default: (n_side + 0.5) periods pulsed, 100 ns cw
    g2_n_side: int = 4
    g2_correction: str = "paper"  # "paper" or "exact"
    decay_bin_ps: float | None = None  # default: T3 native resolution, T2 16 ps
    scan_factors: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100)
    dwell_t_min_s: float | None = None  # None: Clauset-Shalizi-Newman KS choice
    min_dwell_events: int = 50
    allow_truncated: bool = False
    keep_data: bool = True
    irf_path: str | None = None  # measured IRF (scatter) file: reconvolution with it
    method: str = "binned"  # "binned", or "cpa": binned + photon-by-photon change points
    cpa_alpha: float = 0.01  # false-positive probability of each test (0.05: extra levels, see below)
    cpa_max_levels: int = 6
    cpa_window_photons: int = 1 << 17  # photons analysed at once (memory bound)
    cpa_min_fit_photons: int = 100  # segments with fewer photons get no fitted lifetime


@dataclass
class PhotonData:
    """Arrays behind the numbers (for plots); not serialised."""

    trace_counts: np.ndarray | None = None
    bin_s: float = 0.01
    threshold_counts: float | None = None
    g2: g2.G2Histogram | None = None
    sync_period_ps: float | None = None
    decay_hist: np.ndarray | None = None
    decay_bin_ps: float | None = None
    lifetime_fit: decay.LifetimeFit | None = None
    flid: decay.Flid | None = None
    on_dwell_s: np.ndarray | None = None
    off_dwell_s: np.ndarray | None = None
    cpa: changepoint.ChangePointResult | None = None  # segments, levels, dwell times
    cpa_segment_lifetime_ns: np.ndarray | None = None  # fixed-IRF MLE per segment (NaN: not fitted)
    cpa_segment_lifetime_err_ns: np.ndarray | None = None
    cpa_segment_mean_delay_lifetime_ns: np.ndarray | None = None  # first moment, background removed
    cpa_level_decay_hist: np.ndarray | None = None  # (n_levels, n_bins), bins of decay_bin_ps
    cpa_flid: decay.Flid | None = None  # segments weighted by their length in trace bins; fitted
    # segment lifetimes where the second pass ran, else first moments
    cpa_fdid: decay.Fdid | None = None


@dataclass
class PhotonAnalysis:
    """Result of :func:`analyze_file` (units in the field names)."""

    path: str | None
    mode: str
    record_type: str
    n_records: int
    n_photons: int
    duration_s: float
    count_rate_cps: float
    photons_per_channel: dict[str, int]
    channels: list[int]
    sync_rate_hz: float | None
    bin_s: float
    threshold_method: str
    threshold_counts: float | None
    robust_max_counts: float | None
    on_fraction: float | None
    mandel_q: float | None
    bin_scan: list[dict]
    k_on: float | None
    k_on_err: float | None
    k_off: float | None
    k_off_err: float | None
    t_min_on_s: float | None
    t_min_off_s: float | None
    n_on_dwells: int
    n_off_dwells: int
    dwell_model_comparison: dict
    g2_0_raw: float | None
    g2_0: float | None
    g2_0_exact: float | None
    g2_correction: str
    g2_0_cw_fit: float | None
    antibunching_time_ns: float | None
    background_fraction: float | None
    background_fraction_on: float | None
    lifetime_ns: float | None
    lifetime_err_ns: float | None
    irf_sigma_ns: float | None
    changepoints: dict | None = None  # method "cpa": levels, dwell statistics, level lifetimes
    warnings: list[str] = field(default_factory=list)
    data: PhotonData | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """All fields except the arrays (``data``), for JSON."""
        d = asdict(self)
        d.pop("data", None)
        return d


def fold_microtimes(chunks: Iterator[PhotonChunk], period_ps: float | None) -> Iterator[PhotonChunk]:
    """Fold microtimes into one laser period (T2 delays with sync dividers > 1, Photon-HDF5).

    A microtime t >= period becomes t mod period (rounded to the ps for a non-integer period);
    unknown microtimes (-1) and chunks without microtimes pass unchanged. The input arrays are
    never modified in place.

    Parameters
    ----------
    chunks : iterator of PhotonChunk
        Photon chunks (:func:`surfchem.experiment.stream.open_stream`).
    period_ps : float or None
        Laser period, ps; None or 0 passes every chunk unchanged.

    Yields
    ------
    PhotonChunk
        The chunks, microtimes folded into [0, period).
    """
    p_int = int(round(period_ps)) if period_ps else 0
    exact = bool(period_ps) and abs(period_ps - p_int) < 1e-9
    for c in chunks:
        if period_ps and c.microtimes_ps is not None and c.microtimes_ps.size:
            m = c.microtimes_ps
            if exact:  # integer period; -1 (unknown) stays -1; never modifies the input arrays
                if int(m.max()) >= p_int:
                    c.microtimes_ps = np.where(m >= p_int, m % p_int, m)
            else:
                ok = m >= period_ps
                if np.any(ok):
                    m = m.copy()
                    m[ok] = np.rint(np.fmod(m[ok].astype(np.float64), period_ps)).astype(np.int64)
                    c.microtimes_ps = m
        yield c


def _validate(opt: AnalysisOptions) -> None:
    """Reject bad options before the (possibly long) pass over the file."""
    if not opt.bin_s > 0:
        raise InputError(f"bin width must be > 0 s, got {opt.bin_s}")
    methods = ("max_fraction", "counts", "two_level", "hmm")
    if opt.threshold_method not in methods:
        raise InputError(f"unknown threshold method {opt.threshold_method!r}; use one of {methods}")
    if opt.threshold_method == "counts" and (opt.threshold_counts is None or opt.threshold_counts < 0):
        raise InputError("threshold method 'counts' needs threshold_counts >= 0 (counts per bin)")
    if not 0 < opt.threshold <= 1:
        raise InputError(f"threshold fraction must be in (0, 1], got {opt.threshold}")
    if opt.g2_correction not in ("paper", "exact"):
        raise InputError(f"g2_correction must be 'paper' or 'exact', got {opt.g2_correction!r}")
    if len(opt.channels) != 2 or int(opt.channels[0]) == int(opt.channels[1]):
        raise InputError(f"channels must be two different detector channels, got {opt.channels}")
    if opt.chunk_records < 1:
        raise InputError(f"chunk_records must be >= 1, got {opt.chunk_records}")
    if opt.irf_path is not None and not os.path.exists(opt.irf_path):
        raise InputError(f"IRF file {opt.irf_path!r} does not exist")
    if opt.method not in ("binned", "cpa"):
        raise InputError(f"unknown analysis method {opt.method!r}; use 'binned' or 'cpa' "
                         "(binned + photon-by-photon change points)")
    if opt.method == "cpa":
        _cpa_options(opt).validate()


def _cpa_options(opt: AnalysisOptions) -> changepoint.ChangePointOptions:
    return changepoint.ChangePointOptions(
        alpha=opt.cpa_alpha, max_levels=opt.cpa_max_levels, window_photons=opt.cpa_window_photons,
        channels=tuple(int(c) for c in opt.channels))


def _irf_histogram(opt: AnalysisOptions, dacc: decay.DecayAccumulator) -> np.ndarray:
    """Decay histogram of a measured IRF file on the same bins (selected channels)."""
    info, chunks = stream.open_stream(opt.irf_path, opt.chunk_records)
    acc = decay.DecayAccumulator(dacc.bin_ps, dacc.n_bins, tuple(int(c) for c in opt.channels))
    stream.run(fold_microtimes(chunks, info.sync_period_ps), [acc])
    if acc.hist.sum() < 100:
        raise InputError(f"IRF file {opt.irf_path!r} has {int(acc.hist.sum())} photons with microtimes (< 100)")
    return acc.hist


def analyze_file(
    path: str | os.PathLike[str],
    options: AnalysisOptions | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> PhotonAnalysis:
    """Analyse one photon file in one streaming pass (two with ``method="cpa"``).

    Formats: PicoQuant PTU, legacy PicoQuant ``.pt3``/``.pt2``/``.ht3``/``.ht2``, TimeHarp ``.t3r``,
    Becker & Hickl ``.spc`` and Photon-HDF5, recognised by content. Memory is bounded (chunks from a
    memory map); method ``"cpa"`` reads the file a second time for the decay histogram of each
    intensity level.

    Parameters
    ----------
    path : str or os.PathLike
        The photon file.
    options : AnalysisOptions, optional
        Bin width (``bin_s``, s), ON/OFF threshold, channels, g2 and decay binning, change-point
        settings (default :class:`AnalysisOptions`: 10 ms bins, threshold 50 % of a robust maximum).
    progress : callable, optional
        Called after each chunk with the number of records it held (e.g. a progress bar update).

    Returns
    -------
    PhotonAnalysis
        Unit-suffixed fields: ``n_photons``, ``duration_s``, ``count_rate_cps``, ``on_fraction``
        (0..1), ``mandel_q``, ``k_on``/``k_off`` (power-law exponents of the ON/OFF dwell times,
        P(t) ~ t^-k, maximum likelihood, Clauset, Shalizi & Newman 2009),
        ``g2_0``, ``background_fraction``, ``lifetime_ns``; ``to_dict()`` for JSON. Fields the
        acquisition mode does not allow are ``None`` (e.g. ``lifetime_ns`` for T2 data).

    Raises
    ------
    surfchem.errors.FileFormatError
        Truncated file, wrong magic or unsupported record type (one-line message).
    surfchem.errors.InputError
        Bad options.

    Examples
    --------
    >>> from surfchem import analyze_file
    >>> res = analyze_file("dot.ptu")  # doctest: +SKIP
    >>> res.on_fraction, res.mandel_q, res.lifetime_ns  # doctest: +SKIP
    """
    opt = options or AnalysisOptions()
    info, chunks = stream.open_stream(path, opt.chunk_records, allow_truncated=opt.allow_truncated)

    def reopen() -> Iterator[PhotonChunk]:
        return stream.open_stream(path, opt.chunk_records, allow_truncated=opt.allow_truncated)[1]

    return analyze_stream(info, chunks, opt, progress=progress, reopen=reopen)


def analyze_stream(
    info: stream.StreamInfo,
    chunks: Iterator[PhotonChunk],
    options: AnalysisOptions | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    reopen: Callable[[], Iterator[PhotonChunk]] | None = None,
) -> PhotonAnalysis:
    """Analyse a chunk stream (see :func:`analyze_file`).

    ``reopen``: a fresh iterator over the same chunks, for the per-level decay histograms of
    method ``"cpa"`` (without it, level lifetimes are the mean-delay ones only).
    """
    opt = options or AnalysisOptions()
    _validate(opt)
    ch_a, ch_b = (int(c) for c in opt.channels)
    sel = (ch_a, ch_b)
    period = info.sync_period_ps
    pulsed = bool(period)
    warn: list[str] = []

    fine_bin = opt.bin_s / 10.0
    if info.acquisition_time_s and info.acquisition_time_s / fine_bin > 2e9:
        raise InputError(
            f"bin width {opt.bin_s} s is too short for a {info.acquisition_time_s:.0f} s measurement "
            f"(> 2e8 bins); use --bin of at least {info.acquisition_time_s / 2e8:.2g} s"
        )
    acq = info.acquisition_time_s
    tr_fine = trace.TraceAccumulator(fine_bin, sel, with_microtimes=False, dtype=np.int32,
                                     expected_duration_s=acq)
    tr = trace.TraceAccumulator(opt.bin_s, sel, expected_duration_s=acq)
    if pulsed:
        g_bin = opt.g2_bin_s or 1e-9
        g_tmax = opt.g2_tau_max_s or (opt.g2_n_side + 0.5) * period * 1e-12
    else:
        g_bin = opt.g2_bin_s or 2e-10
        g_tmax = opt.g2_tau_max_s or 1e-7
    gacc = g2.G2Accumulator(ch_a, ch_b, tau_max_s=g_tmax, bin_s=g_bin)
    accs: list = [tr_fine, tr, gacc]
    dacc = None
    if pulsed:
        dbin = opt.decay_bin_ps or (info.microtime_bin_ps if info.microtime_bin_ps else 16.0)
        dacc = decay.DecayAccumulator(dbin, int(np.ceil(period / dbin)), sel)
        accs.append(dacc)
    cpacc = changepoint.ChangePointAccumulator(_cpa_options(opt)) if opt.method == "cpa" else None
    if cpacc is not None:
        accs.append(cpacc)
    src = fold_microtimes(chunks, period) if pulsed else chunks  # T2 delays / sync dividers: one period
    st = stream.run(src, accs, progress=progress)

    # duration
    end = st.end_time_ps
    if info.acquisition_time_s:
        acq_ps = int(round(info.acquisition_time_s * 1e12))
        if acq_ps >= end:  # trailing dark time has no records: the header knows the length
            end = acq_ps
        else:
            warn.append(f"records run to {end * 1e-12:.3f} s, past the header acquisition time "
                        f"{info.acquisition_time_s:.3f} s: using the records")
    if info.extra.get("truncated"):
        warn.append(f"truncated file: analysed {info.n_records} of {info.extra.get('declared_records')} "
                    "declared records (duration = last record)")
    duration_s = end * 1e-12
    per_ch = {str(k): v for k, v in sorted(st.photons_per_channel.items())}
    n_sel = sum(st.photons_per_channel.get(c, 0) for c in sel)

    res = PhotonAnalysis(
        path=info.path, mode=info.mode, record_type=info.record_type, n_records=st.n_records,
        n_photons=st.n_photons, duration_s=duration_s,
        count_rate_cps=st.n_photons / duration_s if duration_s > 0 else 0.0,
        photons_per_channel=per_ch, channels=list(sel),
        sync_rate_hz=1e12 / period if period else None, bin_s=opt.bin_s,
        threshold_method=opt.threshold_method, threshold_counts=None, robust_max_counts=None,
        on_fraction=None, mandel_q=None, bin_scan=[], k_on=None, k_on_err=None, k_off=None,
        k_off_err=None, t_min_on_s=None, t_min_off_s=None, n_on_dwells=0, n_off_dwells=0,
        dwell_model_comparison={}, g2_0_raw=None, g2_0=None, g2_0_exact=None,
        g2_correction=opt.g2_correction, g2_0_cw_fit=None, antibunching_time_ns=None,
        background_fraction=None, background_fraction_on=None, lifetime_ns=None, lifetime_err_ns=None, irf_sigma_ns=None,
        warnings=warn,
    )
    data = PhotonData(bin_s=opt.bin_s, sync_period_ps=period)
    if opt.keep_data:
        res.data = data
    if st.n_photons == 0:
        warn.append("the file contains no photon records: all statistics are null")
        return res
    if n_sel == 0:
        raise InputError(
            f"channels {list(sel)} have no photons; channels with photons: "
            f"{sorted(st.photons_per_channel)} (use --channels)"
        )

    # trace, threshold, ON fraction, Q
    on_state = None
    counts = tr.result(end)
    data.trace_counts = counts
    if counts.size < 2:
        warn.append(f"measurement ({duration_s:.3g} s) shorter than two {opt.bin_s} s bins: no trace statistics")
    else:
        on, thr = trace.classify(counts, opt.threshold_method, fraction=opt.threshold,
                                 max_percentile=opt.max_percentile, counts_value=opt.threshold_counts)
        res.threshold_counts = thr.value_counts
        res.robust_max_counts = thr.robust_max_counts
        data.threshold_counts = thr.value_counts
        res.on_fraction = float(on.mean())
        res.mandel_q = trace.mandel_q(counts)
        fine = tr_fine.result(end)
        res.bin_scan = [asdict(r) for r in trace.bin_width_scan(
            fine, fine_bin, opt.scan_factors, fraction=opt.threshold, max_percentile=opt.max_percentile)]
        on_state = on
        ton, toff = dwell.dwell_times(on, opt.bin_s)
        data.on_dwell_s, data.off_dwell_s = ton, toff
        res.n_on_dwells, res.n_off_dwells = int(ton.size), int(toff.size)
        for name, d in (("on", ton), ("off", toff)):
            if d.size < opt.min_dwell_events:
                warn.append(f"only {d.size} {name.upper()} dwell events (< {opt.min_dwell_events}): k_{name} not fitted")
                continue
            try:
                f = dwell.fit_power_law(d, opt.bin_s, t_min_s=opt.dwell_t_min_s, min_tail=opt.min_dwell_events)
            except InputError as exc:
                warn.append(f"k_{name} not fitted: {exc}")
                continue
            setattr(res, f"k_{name}", f.k)
            setattr(res, f"k_{name}_err", f.k_err)
            setattr(res, f"t_min_{name}_s", f.t_min_s)
            res.dwell_model_comparison[name] = f.comparisons

    # decay, lifetime, background
    lf = irf = None
    if dacc is not None and dacc.hist.sum() > 0:
        data.decay_hist = dacc.hist
        data.decay_bin_ps = dacc.bin_ps
        try:
            irf = _irf_histogram(opt, dacc) if opt.irf_path else None  # kept for the level fits
            lf = decay.fit_lifetime(dacc.hist, dacc.bin_ps, period, irf=irf)
            if irf is not None:  # t0 of a measured IRF = its centroid + the fitted shift
                centroid = float(((np.arange(irf.size) + 0.5) * dacc.bin_ps * irf).sum() / irf.sum())
                lf.t0_ns = lf.t0_ns + centroid / 1e3
            res.lifetime_ns, res.lifetime_err_ns, res.irf_sigma_ns = lf.lifetime_ns, lf.lifetime_err_ns, lf.irf_sigma_ns
            data.lifetime_fit = lf
        except Exception as exc:  # noqa: BLE001 - a failed fit is reported, the rest stands
            warn.append(f"lifetime fit failed: {exc}")
        bf = decay.background_fraction(
            dacc.hist, dacc.bin_ps,
            lifetime_ps=lf.lifetime_ns * 1e3 if lf else None,
            irf_sigma_ps=lf.irf_sigma_ns * 1e3 if lf and np.isfinite(lf.irf_sigma_ns) else 100.0,
            fit_background_per_bin=lf.background_per_bin if lf else None,
            t0_ps=lf.t0_ns * 1e3 if lf else None,
        )
        res.background_fraction = bf if np.isfinite(bf) else None
        if res.background_fraction is not None and on_state is not None:
            # background relative to the ON-state intensity (what the g2 side peaks see)
            on_counts = counts[on_state]
            bg_per_bin = bf * n_sel * opt.bin_s / duration_s
            if on_counts.size and on_counts.mean() > 0:
                res.background_fraction_on = float(min(bg_per_bin / on_counts.mean(), 1.0))
        if tr.has_micro and lf is not None:
            mt = tr.mean_microtime_ps(end)
            data.flid = decay.flid(counts, mt, lf.t0_ns * 1e3)
    elif pulsed:
        warn.append("no microtimes (T2 file without sync records): lifetime and background fraction are null")

    if cpacc is not None:
        levels = _LevelInputs(opt, res, dacc, lf, irf, period, n_sel, duration_s,
                              (lambda: fold_microtimes(reopen(), period)) if reopen and pulsed else None)
        _change_points(cpacc, levels, data, warn)

    # g2
    if st.photons_per_channel.get(ch_a, 0) == 0 or st.photons_per_channel.get(ch_b, 0) == 0:
        empty = [c for c in sel if st.photons_per_channel.get(c, 0) == 0]
        warn.append(f"channel(s) {empty} have no photons: g2 is null")
    else:
        h = gacc.result(end)
        data.g2 = h
        if pulsed:
            pg = g2.pulsed_g2_zero(h, period, n_side=opt.g2_n_side)
            res.g2_0_raw = pg.g2_0_raw
            if res.background_fraction is not None:
                res.g2_0 = g2.correct_background(pg.g2_0_raw, res.background_fraction, opt.g2_correction)
                b_on = res.background_fraction_on
                res.g2_0_exact = g2.correct_background(
                    pg.g2_0_raw, b_on if b_on is not None else res.background_fraction, "exact")
            else:
                warn.append("background fraction unknown (no decay histogram): g2_0 not corrected")
        else:
            try:
                fit = g2.fit_cw_g2(h)
                res.g2_0_cw_fit, res.antibunching_time_ns = fit.g2_0, fit.tau_ab_ns
                res.g2_0_raw = fit.g2_0  # cw: the antibunching model's g2(0), not background corrected
            except Exception as exc:  # noqa: BLE001
                warn.append(f"cw g2 fit failed: {exc}")
    return res


@dataclass
class _LevelInputs:
    """What the change-point report takes from the binned analysis (one plain record)."""

    opt: AnalysisOptions
    res: PhotonAnalysis
    dacc: decay.DecayAccumulator | None
    lifetime_fit: decay.LifetimeFit | None
    irf: np.ndarray | None
    period_ps: float | None
    n_selected: int
    duration_s: float
    reopen: Callable[[], Iterator[PhotonChunk]] | None


def _segment_fits(cp: changepoint.ChangePointResult, li: _LevelInputs, background_cps: float,
                  data: PhotonData, warn: list[str]) -> list[decay.LifetimeFit | None]:
    """Second pass: each segment's decay (fixed-IRF lifetime) and each level's (free fit).

    Fills ``data.cpa_level_decay_hist`` and the segment lifetimes; returns the level fits.
    """
    if li.dacc is None:
        return []
    if li.reopen is None:
        warn.append("change-point level lifetimes not fitted: the stream cannot be read a second time "
                    "(pass reopen=, or use analyze_file); first-moment lifetimes only")
        return []
    lf, segs, nb = li.lifetime_fit, cp.segments, li.dacc.n_bins
    fit_segments = li.irf is None and np.isfinite(lf.irf_sigma_ns)
    if not fit_segments:
        warn.append("segment lifetimes are first moments: fixed-IRF segment fits need the Gaussian IRF model "
                    "(not a measured IRF)")
    tau, err = np.full(segs.start_ps.size, np.nan), np.full(segs.start_ps.size, np.nan)
    level_hist = np.zeros((cp.n_levels, nb))
    for j, h in changepoint.segment_decay_histograms(
            li.reopen(), segs.start_ps, li.dacc.bin_ps, nb, tuple(int(c) for c in li.opt.channels)):
        level_hist[cp.segment_level[j]] += h
        if fit_segments and h.sum() >= li.opt.cpa_min_fit_photons:
            f = decay.fit_lifetime_fixed_irf(
                h, li.dacc.bin_ps, li.period_ps, t0_ps=lf.t0_ns * 1e3, sigma_ps=lf.irf_sigma_ns * 1e3,
                background_per_bin=background_cps * segs.duration_s[j] / nb, min_counts=li.opt.cpa_min_fit_photons)
            tau[j], err[j] = f.lifetime_ns, f.lifetime_err_ns
    data.cpa_level_decay_hist = level_hist
    if fit_segments:
        data.cpa_segment_lifetime_ns, data.cpa_segment_lifetime_err_ns = tau, err
    fits: list[decay.LifetimeFit | None] = []
    for j, h in enumerate(level_hist):
        try:
            fits.append(decay.fit_lifetime(h, li.dacc.bin_ps, li.period_ps, irf=li.irf))
        except Exception as exc:  # noqa: BLE001 - one failed level fit is reported, the rest stands
            warn.append(f"lifetime fit of change-point level {j} failed: {exc}")
            fits.append(None)
    return fits


def _change_points(acc: changepoint.ChangePointAccumulator, li: _LevelInputs, data: PhotonData,
                   warn: list[str]) -> None:
    """Method "cpa": levels and dwell times, level and segment lifetimes, FLID and FDID of the segments.

    Lifetimes use the IRF of the whole-decay fit (``t0`` and width, as the binned FLID) and its
    background rate: per level a free reconvolution fit of the level's decay histogram, per
    segment a one-parameter fit with IRF and background fixed (:func:`decay.fit_lifetime_fixed_irf`;
    segments with at least ``cpa_min_fit_photons``), and as a cross-check the background-corrected
    first moments (:func:`changepoint.mean_delay_lifetime_ns`), which need no second pass but are
    sensitive to the background rate (lever arm: half the period).
    """
    cp = changepoint.summarize(acc.segments(), acc.n_photons, li.opt.cpa_max_levels)
    data.cpa = cp
    out = cp.to_dict()
    out["alpha"] = li.opt.cpa_alpha
    out["n_segments"] = int(cp.segments.start_ps.size)
    lf, res, segs = li.lifetime_fit, li.res, cp.segments
    if lf is not None and segs.micro_n.sum() > 0:
        bg_cps = (res.background_fraction or 0.0) * li.n_selected / li.duration_s
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = segs.n_photons / segs.duration_s
            mean_delay = np.where(segs.micro_n > 0, segs.micro_sum_ps / segs.micro_n, np.nan)
        kw = {"period_ps": li.period_ps, "background_cps": bg_cps}
        first_moment = changepoint.mean_delay_lifetime_ns(mean_delay, rate, lf.t0_ns * 1e3, **kw)
        data.cpa_segment_mean_delay_lifetime_ns = first_moment
        out["background_cps"] = bg_cps
        out["level_mean_delay_lifetime_ns"] = changepoint.json_floats(changepoint.mean_delay_lifetime_ns(
            cp.level_mean_microtime_ns * 1e3, cp.level_rates_cps, lf.t0_ns * 1e3, **kw))
        fits = _segment_fits(cp, li, bg_cps, data, warn)
        if fits:
            out["level_lifetime_ns"] = [f.lifetime_ns if f else None for f in fits]
            out["level_lifetime_err_ns"] = [f.lifetime_err_ns if f else None for f in fits]
        fitted = data.cpa_segment_lifetime_ns
        tau = fitted if fitted is not None else first_moment
        out["segment_lifetime_method"] = "fixed_irf_fit" if fitted is not None else "first_moment"
        out["n_segments_with_lifetime"] = int(np.isfinite(tau).sum())
        counts, weight = rate * li.opt.bin_s, segs.duration_s / li.opt.bin_s  # axes of the binned FLID
        data.cpa_flid = decay.flid(counts, tau * 1e3, 0.0, weights=weight)
        data.cpa_fdid = decay.fdid(counts, tau, weights=weight)
    res.changepoints = out
