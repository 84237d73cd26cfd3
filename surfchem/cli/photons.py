"""``surfchem photons``: single-dot photon statistics from TTTR files.

Subcommands::

    surfchem photons analyze FILE [--bin 10ms] [--threshold 0.5] [--channels 0,1] [--method cpa] [--json] [--plot DIR]
    surfchem photons simulate --mode t2|t3 --duration S [--on-fraction F ...] --out FILE.ptu
    surfchem photons batch DIR --out table.csv
    surfchem photons changepoints FILE [--alpha 0.05] [--channels 0,1] [--json]
    surfchem photons convert FILE.ptu OUT.h5
    surfchem photons spectrum SPECTRUM.csv [--axis nm|eV]     (split-Voigt fit, size)
    surfchem photons excitation --size-nm 4.3 --rep-rate 2e6 (--power-density W/cm2 | --power W --spot-nm D)

FILE is a PicoQuant PTU, legacy PicoQuant (.pt3/.pt2 PicoHarp 300, .ht3/.ht2 HydraHarp 1.0/2.0, .t3r TimeHarp 200
5.0/6.0), Becker & Hickl .spc or
Photon-HDF5 file, recognised by its content, not its extension (except .spc, which has no magic:
its extension, then its first record).

Thin layer: parse, call :mod:`surfchem.experiment`, print. It needs only the photons half,
``pip install 'surfchem[photons]'`` (no torch, GPAW or ASE). The defaults are those of the API's option classes
(:class:`~surfchem.experiment.analyze.AnalysisOptions`,
:class:`~surfchem.experiment.simulate.SimulationParams`,
:class:`~surfchem.experiment.changepoint.ChangePointOptions`), read from them, not repeated.
"""

from __future__ import annotations

import argparse
import csv
import glob
import os
import re
import sys

import numpy as np

from surfchem.cli._common import print_json
from surfchem.errors import InputError, SurfchemError
from surfchem.experiment import changepoint, excitation, spectra, stream
from surfchem.experiment.analyze import AnalysisOptions, analyze_file
from surfchem.experiment.photonhdf5 import convert_to_photon_hdf5
from surfchem.experiment.ptu import DEFAULT_CHUNK_RECORDS
from surfchem.experiment.simulate import SimulationParams, write_simulated_ptu
from surfchem.plot.photons import plot_analysis

#: keys printed by ``analyze --json`` (the API contract), in order
JSON_KEYS = (
    "n_photons", "duration_s", "count_rate_cps", "on_fraction", "mandel_q", "k_on", "k_off",
    "g2_0_raw", "g2_0", "background_fraction", "lifetime_ns",
)

_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "ps": 1e-12}

#: ``photons simulate`` writes a realistic file: 2 % background unless told otherwise
SIMULATE_BACKGROUND_FRACTION = 0.02


def parse_duration(text: str) -> float:
    """``"10ms"`` -> 0.01; a bare number is seconds.

    Parameters
    ----------
    text : str
        A time with unit s, ms, us, ns or ps, e.g. ``"10ms"``.

    Returns
    -------
    float
        The time, s.
    """
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zµ]*)\s*", str(text))
    if not m or (m.group(2) and m.group(2) not in _UNITS):
        raise InputError(f"cannot read time {text!r}; use a number with unit s, ms, us, ns or ps (e.g. 10ms)")
    v = float(m.group(1)) * _UNITS.get(m.group(2) or "s", 1.0)
    if v <= 0:
        raise InputError(f"time {text!r} must be > 0")
    return v


def parse_channels(text: str) -> tuple[int, int]:
    """Two different detector channels from ``"0,1"``.

    Parameters
    ----------
    text : str
        Two non-negative integers separated by a comma.

    Returns
    -------
    tuple of int
        The two channels.
    """
    try:
        parts = [int(p) for p in str(text).split(",")]
    except ValueError:
        parts = []
    if len(parts) != 2 or parts[0] == parts[1] or min(parts) < 0:
        raise InputError(f"--channels must be two different non-negative detector channels like 0,1; got {text!r}")
    return parts[0], parts[1]


def register(subparsers) -> None:
    """Add ``surfchem photons`` to the CLI.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``surfchem`` subparsers.
    """
    p = subparsers.add_parser("photons", help="single-dot photon statistics (PTU / Photon-HDF5)",
                              description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="photons_command", metavar="ACTION")
    sub.required = True

    a = sub.add_parser("analyze", help="analyse one PTU, legacy PicoQuant (pt3/pt2/ht3/ht2/t3r), B&H .spc or Photon-HDF5 file")
    a.add_argument("file")
    _analysis_args(a)
    a.add_argument("--json", action="store_true", help="print the result as JSON")
    a.add_argument("--full", action="store_true", help="with --json: print every field, not only the contract keys")
    a.add_argument("--plot", metavar="DIR", help="write trace/histogram, g2, decay and FLID figures to DIR")
    a.set_defaults(func=cmd_analyze)

    sim = SimulationParams()
    s = sub.add_parser("simulate", help="write a simulated PTU file and FILE.truth.json")
    s.add_argument("--mode", choices=("t2", "t3"), required=True)
    s.add_argument("--duration", type=float, required=True, help="seconds")
    s.add_argument("--out", required=True, help="output .ptu path")
    s.add_argument("--on-fraction", type=float, default=sim.on_fraction)
    s.add_argument("--blinking", choices=("none", "exponential", "powerlaw"), default=sim.blinking)
    s.add_argument("--cycle", type=float, default=sim.cycle_s, help="exponential blinking: mean ON+OFF time (s)")
    s.add_argument("--k-on", type=float, default=sim.k_on)
    s.add_argument("--k-off", type=float, default=sim.k_off)
    s.add_argument("--t-min", type=float, default=sim.t_min_s, help="power-law dwell minimum (s)")
    s.add_argument("--count-rate", type=float, default=sim.count_rate_on_cps, help="detected ON-state rate (counts/s)")
    s.add_argument("--rep-rate", type=float, default=sim.rep_rate_hz, help="laser repetition rate (Hz); 0 = cw (T2 only)")
    s.add_argument("--lifetime-ns", type=float, default=sim.lifetime_ns)
    s.add_argument("--g2-0", type=float, default=sim.g2_0)
    s.add_argument("--background-fraction", type=float, default=SIMULATE_BACKGROUND_FRACTION,
                   help=f"background share of the photons (default {SIMULATE_BACKGROUND_FRACTION}: "
                        "a measured dot has some; the API's default is none)")
    s.add_argument("--t2-sync-divider", type=int, default=sim.t2_sync_divider,
                   help="T2: record every n-th laser sync (needed for lifetimes from T2)")
    s.add_argument("--seed", type=int, default=sim.seed)
    s.set_defaults(func=cmd_simulate)

    b = sub.add_parser("batch", help="analyse every photon file in DIR into one CSV table")
    b.add_argument("dir")
    b.add_argument("--out", required=True, help="output CSV path")
    b.add_argument("--pattern", default="*.ptu,*.pt3,*.pt2,*.ht3,*.ht2,*.h5,*.hdf5",
                   help="comma-separated glob patterns (files are recognised by content)")
    _analysis_args(b)
    b.add_argument("--no-progress", action="store_true")
    b.set_defaults(func=cmd_batch)

    cpo = changepoint.ChangePointOptions()
    cp = sub.add_parser("changepoints", help="photon-by-photon change points and intensity levels "
                        "(Watkins & Yang 2005)")
    cp.add_argument("file")
    cp.add_argument("--alpha", type=float, default=cpo.alpha, help="false-positive probability per test")
    cp.add_argument("--channels", default=None, help="comma-separated detector channels (default: all)")
    cp.add_argument("--max-levels", type=int, default=cpo.max_levels)
    cp.add_argument("--window", type=int, default=cpo.window_photons, help="photons analysed at once (memory bound)")
    cp.add_argument("--chunk-records", type=int, default=DEFAULT_CHUNK_RECORDS)
    cp.add_argument("--allow-truncated", action="store_true")
    cp.add_argument("--json", action="store_true", help="print the result as JSON")
    cp.set_defaults(func=cmd_changepoints)

    c = sub.add_parser("convert", help="stream a photon file into Photon-HDF5 (written and validated by phconvert)")
    c.add_argument("file")
    c.add_argument("out", help="output .h5 path")
    c.set_defaults(func=cmd_convert)

    sp = sub.add_parser("spectrum", help="fit a single-dot PL spectrum (two-column CSV) with the split Voigt")
    sp.add_argument("file", help="CSV/whitespace text: x, intensity (header lines starting with # skipped)")
    sp.add_argument("--axis", choices=("nm", "eV"), default="nm", help="unit of the first column")
    sp.set_defaults(func=cmd_spectrum)

    ex = sub.add_parser("excitation", help="<N> = sigma j for pulsed excitation of a dot")
    ex.add_argument("--size-nm", type=float, required=True)
    ex.add_argument("--rep-rate", type=float, required=True, help="Hz")
    ex.add_argument("--wavelength-nm", type=float, default=405.0)
    ex.add_argument("--power-density", type=float, default=None, help="average W/cm^2")
    ex.add_argument("--power", type=float, default=None, help="average power at the sample (W)")
    ex.add_argument("--spot-nm", type=float, default=None, help="beam diameter (nm), top-hat")
    ex.add_argument("--mu-i", type=float, default=None, help="intrinsic absorption coefficient (cm^-1)")
    ex.set_defaults(func=cmd_excitation)


def _analysis_args(p: argparse.ArgumentParser) -> None:
    d = AnalysisOptions()
    p.add_argument("--bin", default=f"{d.bin_s * 1e3:g}ms", help="trace bin width (default %(default)s)")
    p.add_argument("--threshold", type=float, default=d.threshold, help="ON threshold as a fraction of the robust maximum")
    p.add_argument("--threshold-method", choices=("max_fraction", "counts", "two_level", "hmm"), default=d.threshold_method)
    p.add_argument("--threshold-counts", type=float, default=d.threshold_counts, help="fixed threshold (counts/bin) for --threshold-method counts")
    p.add_argument("--channels", default=",".join(map(str, d.channels)),
                   help="the two HBT detector channels (0-based), default %(default)s")
    p.add_argument("--g2-correction", choices=("paper", "exact"), default=d.g2_correction)
    p.add_argument("--dwell-tmin", type=float, default=d.dwell_t_min_s, help="power-law t_min (s); default: KS choice")
    p.add_argument("--chunk-records", type=int, default=d.chunk_records)
    p.add_argument("--allow-truncated", action="store_true", help="analyse the complete records of a truncated file")
    p.add_argument("--irf", default=d.irf_path, help="measured IRF file (PTU/Photon-HDF5) for the lifetime reconvolution")
    p.add_argument("--method", choices=("binned", "cpa"), default=d.method,
                   help="cpa: also photon-by-photon change points (Watkins & Yang 2005): intensity "
                        "levels, dwell times, level lifetimes, FLID/FDID of the segments")
    p.add_argument("--alpha", type=float, default=d.cpa_alpha,
                   help="--method cpa: false-positive probability of each change-point test (default %(default)s)")
    p.add_argument("--max-levels", type=int, default=d.cpa_max_levels, help="--method cpa: most intensity levels tried")


def _options(args):
    if not 0 < args.threshold <= 1:
        raise InputError(f"--threshold must be in (0, 1], got {args.threshold}")
    if args.chunk_records < 1:
        raise InputError(f"--chunk-records must be >= 1, got {args.chunk_records}")
    return AnalysisOptions(
        bin_s=parse_duration(args.bin), threshold=args.threshold, threshold_method=args.threshold_method,
        threshold_counts=args.threshold_counts, channels=parse_channels(args.channels),
        g2_correction=args.g2_correction, dwell_t_min_s=args.dwell_tmin,
        chunk_records=args.chunk_records, allow_truncated=args.allow_truncated, irf_path=args.irf,
        method=args.method, cpa_alpha=args.alpha, cpa_max_levels=args.max_levels,
    )


def cmd_analyze(args) -> int:
    """Run ``surfchem photons analyze`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem photons analyze --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    opt = _options(args)
    res = analyze_file(args.file, opt)
    full = res.to_dict()
    if args.plot:
        full["figures"] = plot_analysis(res, args.plot)
    if args.json:
        if args.full:
            print_json(full)
        else:
            out = {k: full[k] for k in JSON_KEYS}
            if full["changepoints"] is not None:
                out["changepoints"] = full["changepoints"]
            out["warnings"] = full["warnings"]
            if "figures" in full:
                out["figures"] = full["figures"]
            print_json(out)
    else:
        for k in JSON_KEYS:
            v = full[k]
            print(f"{k:22s} {v:.6g}" if isinstance(v, float) else f"{k:22s} {v}")
        for k, v in (full["changepoints"] or {}).items():
            if k != "bic":
                print(f"cpa {k:26s} {v}")
        for w in full["warnings"]:
            print(f"warning: {w}", file=sys.stderr)
    return 0


def cmd_simulate(args) -> int:
    """Run ``surfchem photons simulate`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem photons simulate --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    if not args.out.lower().endswith(".ptu"):
        raise InputError(f"--out must end in .ptu, got {args.out!r}")
    p = SimulationParams(
        duration_s=args.duration, mode=args.mode, rep_rate_hz=args.rep_rate or None,
        count_rate_on_cps=args.count_rate, blinking=args.blinking, on_fraction=args.on_fraction,
        cycle_s=args.cycle, k_on=args.k_on, k_off=args.k_off, t_min_s=args.t_min,
        lifetime_ns=args.lifetime_ns, g2_0=args.g2_0, background_fraction=args.background_fraction,
        t2_sync_divider=args.t2_sync_divider, seed=args.seed,
    )
    truth = write_simulated_ptu(p, args.out)
    truth = {k: v for k, v in truth.items() if k != "params"}
    truth["file"] = args.out
    print_json(truth)
    return 0


#: batch columns of method cpa (lists joined by ';')
CPA_COLUMNS = ("n_levels", "n_switches", "level_rates_cps", "level_time_fraction", "level_lifetime_ns")


def _cpa_row(cp: dict | None) -> dict:
    """Batch-table cells of the change-point block (empty without ``--method cpa``)."""
    def cell(v):
        return ";".join("" if x is None else f"{x:.6g}" for x in v) if isinstance(v, list) else v

    return {f"cpa_{k}": cell((cp or {}).get(k)) for k in CPA_COLUMNS}


def cmd_batch(args) -> int:
    """Run ``surfchem photons batch`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem photons batch --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    from tqdm import tqdm  # the photons extra (lazy: the light core runs the other commands)

    if not os.path.isdir(args.dir):
        raise InputError(f"batch directory {args.dir!r} does not exist")
    files = sorted({f for pat in args.pattern.split(",") for f in glob.glob(os.path.join(args.dir, pat.strip()))})
    if not files:
        raise InputError(f"no files matching {args.pattern!r} in {args.dir!r}")
    opt = _options(args)
    opt.keep_data = False
    rows, failed = [], []
    for f in tqdm(files, desc="photons batch", unit="file", disable=args.no_progress, file=sys.stderr):
        try:
            r = analyze_file(f, opt).to_dict()
        except (SurfchemError, OSError, ValueError) as exc:
            failed.append(f)
            tqdm.write(f"surfchem: skipped {f}: {exc}", file=sys.stderr)
            continue
        row = {"file": os.path.basename(f)}
        row.update({k: r[k] for k in JSON_KEYS})
        row.update({k: r[k] for k in ("mode", "g2_0_exact", "k_on_err", "k_off_err", "lifetime_err_ns")})
        if opt.method == "cpa":
            row.update(_cpa_row(r["changepoints"]))
        row["warnings"] = " | ".join(r["warnings"])
        rows.append(row)
    cols = ["file", *JSON_KEYS, "mode", "g2_0_exact", "k_on_err", "k_off_err", "lifetime_err_ns"]
    if opt.method == "cpa":
        cols += [f"cpa_{k}" for k in CPA_COLUMNS]
    cols.append("warnings")
    with open(args.out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for row in rows:
            w.writerow({k: ("" if row[k] is None else row[k]) for k in cols})
    print(f"analysed {len(rows)} of {len(files)} files -> {args.out}" + (f"; {len(failed)} skipped" if failed else ""),
          file=sys.stderr)
    return 1 if failed else 0


def _channel_list(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        chans = tuple(int(p) for p in text.split(","))
    except ValueError:
        chans = ()
    if not chans or min(chans) < 0:
        raise InputError(f"--channels must be non-negative detector channels like 0,1; got {text!r}")
    return chans


def cmd_changepoints(args) -> int:
    """Run ``surfchem photons changepoints`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem photons changepoints --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    opt = changepoint.ChangePointOptions(
        alpha=args.alpha, window_photons=args.window, max_levels=args.max_levels,
        channels=_channel_list(args.channels))
    opt.validate()
    if args.chunk_records < 1:
        raise InputError(f"--chunk-records must be >= 1, got {args.chunk_records}")
    _, chunks = stream.open_stream(args.file, args.chunk_records, allow_truncated=args.allow_truncated)
    out = changepoint.analyze_chunks(chunks, opt).to_dict()
    if args.json:
        print_json(out)
    else:
        for k, v in out.items():
            print(f"{k:24s} {v}")
    return 0


def cmd_convert(args) -> int:
    """Run ``surfchem photons convert`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem photons convert --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    if not args.out.lower().endswith((".h5", ".hdf5")):
        raise InputError(f"output must end in .h5 or .hdf5, got {args.out!r}")
    print_json(convert_to_photon_hdf5(args.file, args.out))
    return 0


def cmd_spectrum(args) -> int:
    """Run ``surfchem photons spectrum`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem photons spectrum --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    try:
        data = np.loadtxt(args.file, delimiter=None if not args.file.endswith(".csv") else ",", comments="#",
                          ndmin=2)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read spectrum {args.file!r} as two numeric columns: {exc}") from exc
    if data.shape[1] < 2:
        raise InputError(f"spectrum {args.file!r} needs two columns (x, intensity)")
    x, y = data[:, 0], data[:, 1]
    E, inten = spectra.wavelength_to_energy(x, y) if args.axis == "nm" else (x, y)
    fit = spectra.fit_spectrum(E, inten)
    out = dict(fit.__dict__)
    try:
        out["size_nm"] = spectra.CSPBBR3_SIZING.size_nm(fit.peak_eV)
    except InputError as exc:
        out["size_nm"] = None
        out["size_warning"] = str(exc)
    out["sizing_curve"] = spectra.CSPBBR3_SIZING.source
    print_json(out)
    return 0


def cmd_excitation(args) -> int:
    """Run ``surfchem photons excitation`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem photons excitation --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    kw = {}
    if args.mu_i is not None:
        kw["mu_i_cm"] = args.mu_i
    ex = excitation.excitation_density(
        args.size_nm, rep_rate_hz=args.rep_rate, wavelength_nm=args.wavelength_nm,
        power_density_W_cm2=args.power_density, power_W=args.power, spot_diameter_nm=args.spot_nm, **kw)
    print_json(dict(ex.__dict__))
    return 0
