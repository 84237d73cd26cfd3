"""Throughput benchmark: surfchem photon streaming vs tttrlib on the same T2 PTU file.

Usage::

    python benchmarks/bench_photons.py --records 1e8 [--file /tmp/bench_t2.ptu] [--keep]

1. Generates (if absent) a HydraHarp v2 T2 file with about ``--records`` records: a dot at
   ``--rate`` detected counts/s on two detectors plus laser syncs (10 MHz, divider 20).
2. Runs, each in its own subprocess (so peak RSS is per tool):
   * ours: one streaming pass with the trace (10 ms), g2 (+-4.5 periods, 1 ns bins) and decay
     (16 ps bins, delays to the last sync) accumulators, then the full ``analyze_file``;
   * tttrlib: ``TTTR(file, "PTU")`` (reads everything into memory), intensity trace (10 ms),
     multi-tau cross-correlation channel 0 x 1 (``n_bins=10, n_casc=18``: lags up to ~2.6 us at
     1 ps resolution, beyond our g2 range of +-450 ns) and the microtime histogram.
3. Prints records/s for both, their ratio (ours / tttrlib) and the peak RSS of each process.

Not a test: run by hand. Results are machine dependent.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def peak_rss_mib() -> float:
    """Peak RSS of this process image (VmHWM). ``ru_maxrss`` is not used: on Linux it keeps the
    parent's high-water mark across fork+exec, which would charge the file generator to us."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def generate(path: str, n_records: float, rate: float, duration_s: float | None = None) -> dict:
    from surfchem.experiment import simulate

    if duration_s:  # long sparse T3 measurement (memory check of the accumulators)
        p = simulate.SimulationParams(
            duration_s=duration_s, mode="t3", rep_rate_hz=2e6, blinking="exponential",
            on_fraction=0.8, count_rate_on_cps=rate / 0.8, background_fraction=0.02, block_s=20.0, seed=1)
    else:
        # records per second: photons + syncs (10 MHz / 20) + T2 overflows (~30 k/s)
        per_s = rate + 10e6 / 20 + 1e12 / 33554432
        duration = float(n_records) / per_s
        p = simulate.SimulationParams(
            duration_s=duration, mode="t2", rep_rate_hz=10e6, t2_sync_divider=20, blinking="exponential",
            on_fraction=0.8, count_rate_on_cps=rate / 0.8, background_fraction=0.02, block_s=2.0, seed=1)
    t0 = time.perf_counter()
    truth = simulate.write_simulated_ptu(p, path)
    truth["generate_s"] = time.perf_counter() - t0
    return truth


def run_ours(path: str, chunk: int) -> dict:
    import numpy as np

    from surfchem.experiment import decay, g2, stream, trace
    from surfchem.experiment.analyze import AnalysisOptions, analyze_file

    t0 = time.perf_counter()
    info, chunks = stream.open_stream(path, chunk)
    period = info.sync_period_ps
    tr = trace.TraceAccumulator(0.01, (0, 1))
    ga = g2.G2Accumulator(0, 1, tau_max_s=4.5 * period * 1e-12, bin_s=1e-9)
    da = decay.DecayAccumulator(16, int(np.ceil(period / 16)), (0, 1))
    from surfchem.experiment.analyze import fold_microtimes

    st = stream.run(fold_microtimes(chunks, period), [tr, ga, da])
    t_pass = time.perf_counter() - t0
    n_coinc = int(ga.hist.sum())
    del tr, ga, da  # the analyses below build their own accumulators
    # the same without g2 (to compare with tttrlib's read + trace + microtime histogram)
    t2 = time.perf_counter()
    info, chunks = stream.open_stream(path, chunk)
    stream.run(fold_microtimes(chunks, period), [trace.TraceAccumulator(0.01, (0, 1)),
                                       decay.DecayAccumulator(16, int(np.ceil(period / 16)), (0, 1))])
    t_nog2 = time.perf_counter() - t2
    t1 = time.perf_counter()
    r = analyze_file(path, AnalysisOptions(chunk_records=chunk))
    t_full = time.perf_counter() - t1
    return {
        "tool": "surfchem", "n_records": st.n_records, "n_photons": st.n_photons,
        "seconds_trace_g2_decay": t_pass, "seconds_trace_decay_no_g2": t_nog2,
        "seconds_full_analysis": t_full,
        "records_per_s": st.n_records / t_pass, "peak_rss_mib": peak_rss_mib(),
        "g2_coincidences": n_coinc, "g2_0_raw": r.g2_0_raw, "lifetime_ns": r.lifetime_ns,
    }


def run_tttrlib(path: str) -> dict:
    import numpy as np
    import tttrlib

    t0 = time.perf_counter()
    d = tttrlib.TTTR(path, "PTU")
    t_read = time.perf_counter() - t0
    tr = d.get_intensity_trace(0.01)
    ch = np.asarray(d.routing_channels)
    t1 = time.perf_counter()
    corr = tttrlib.Correlator(channels=([0], [1]), tttr=d, n_bins=10, n_casc=18)
    y = np.asarray(corr.correlation)
    t_corr = time.perf_counter() - t1
    h = d.get_microtime_histogram(1)
    total = time.perf_counter() - t0
    t_no_corr = total - t_corr
    n_rec = (os.path.getsize(path) - _data_offset(path)) // 4
    n = int(d.size())
    return {
        "tool": "tttrlib", "version": tttrlib.__version__, "n_records": int(n_rec),
        "n_events": n, "seconds_read": t_read, "seconds_correlate": t_corr, "seconds_total": total,
        "seconds_without_correlation": t_no_corr,
        "records_per_s": n_rec / total, "peak_rss_mib": peak_rss_mib(),
        "trace_len": int(np.size(tr)), "corr_points": int(y.size), "channels": sorted(set(ch.tolist()))[:8],
        "hist_len": int(np.size(h[0]) if isinstance(h, tuple) else np.size(h)),
    }


def _mem_available() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _data_offset(path: str) -> int:
    from surfchem.experiment.ptu import read_header

    return read_header(path).data_offset


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=float, default=1e8)
    ap.add_argument("--rate", type=float, default=1e6, help="detected counts/s (both detectors)")
    ap.add_argument("--file", default="/tmp/surfchem_bench_t2.ptu")
    ap.add_argument("--chunk", type=int, default=1 << 20)
    ap.add_argument("--keep", action="store_true", help="keep the generated file")
    ap.add_argument("--duration-s", type=float, default=None,
                    help="instead of --records: a T3 file of this duration at --rate (e.g. 43200 = 12 h)")
    ap.add_argument("--skip-tttrlib", action="store_true")
    ap.add_argument("--run", choices=("ours", "tttrlib"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.run == "ours":
        print(json.dumps(run_ours(a.file, a.chunk)))
        return
    if a.run == "tttrlib":
        print(json.dumps(run_tttrlib(a.file)))
        return
    if not os.path.exists(a.file):
        g = generate(a.file, a.records, a.rate, a.duration_s)
        print(f"generated {a.file}: {g['n_records']:.3e} records, {g['n_photons']:.3e} photons "
              f"in {g['generate_s']:.1f} s ({os.path.getsize(a.file) / 2**20:.0f} MiB)")
    res = {}
    tools = ["ours"] + ([] if a.skip_tttrlib else ["tttrlib"])
    if "tttrlib" in tools:
        need = 110 * (os.path.getsize(a.file) // 4)  # tttrlib holds ~100 B per record in memory
        avail = _mem_available()
        if avail is not None and need > 0.8 * avail:
            print(f"skipping tttrlib: it would need ~{need / 2**30:.1f} GiB, "
                  f"{avail / 2**30:.1f} GiB available (use a smaller --records)")
            tools.remove("tttrlib")
    for tool in tools:
        out = subprocess.run([sys.executable, __file__, "--run", tool, "--file", a.file, "--chunk", str(a.chunk)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{tool} failed:\n{out.stderr[-2000:]}")
            continue
        res[tool] = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(res[tool], indent=1))
    if "ours" in res and "tttrlib" in res:
        ratio = res["ours"]["records_per_s"] / res["tttrlib"]["records_per_s"]
        nog2 = res["tttrlib"]["seconds_without_correlation"] / res["ours"]["seconds_trace_decay_no_g2"]
        print(f"without g2/correlation (read + trace + decay): ours/tttrlib speed ratio {nog2:.2f}")
        print(f"throughput ours {res['ours']['records_per_s']:.3e} rec/s, tttrlib {res['tttrlib']['records_per_s']:.3e} rec/s, "
              f"ratio {ratio:.2f}; peak RSS ours {res['ours']['peak_rss_mib']:.0f} MiB, "
              f"tttrlib {res['tttrlib']['peak_rss_mib']:.0f} MiB")
    if not a.keep and os.path.exists(a.file):
        os.remove(a.file)
        tp = a.file[:-4] + ".truth.json"
        if os.path.exists(tp):
            os.remove(tp)


if __name__ == "__main__":
    main()
