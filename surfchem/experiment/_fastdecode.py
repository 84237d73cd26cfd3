"""Optional numba kernel for HydraHarp-family T2/T3 records (one pass per chunk).

Same arithmetic as the numpy decoder in :mod:`surfchem.experiment.ptu` (integer overflow
bookkeeping, ``np.rint`` for non-integer picosecond scales), so both give identical arrays; the
tests compare them. Used automatically for large files when numba is installed (import ~0.5 s,
compiled once and cached); ``SURFCHEM_NUMBA=0`` disables it, ``=1`` forces it.
"""

from __future__ import annotations

import os

import numpy as np

_KERNEL = None
_PAIR_KERNEL = None
_AUTO_MIN_RECORDS = 4_000_000


def loaded() -> bool:
    """True when numba is already imported (by the decoder for a large file) or forced on."""
    import sys

    flag = os.environ.get("SURFCHEM_NUMBA", "").strip()
    if flag == "0":
        return False
    if flag == "1":
        return enabled(0)
    return "numba" in sys.modules and _selftest()


def pair_kernel():
    """Histogram of ``b - a`` in ``[-tau_max, tau_max)`` over all pairs (two-pointer sweep)."""
    global _PAIR_KERNEL
    if _PAIR_KERNEL is None:
        from numba import njit

        @njit(cache=True, nogil=True)
        def pair_hist(a, b, tau_max, w, out):
            lo = 0
            na = a.size
            for j in range(b.size):
                bj = b[j]
                while lo < na and a[lo] <= bj - tau_max:
                    lo += 1
                i = lo
                while i < na and a[i] <= bj + tau_max:
                    out[(bj - a[i] + tau_max) // w] += 1
                    i += 1

        _PAIR_KERNEL = pair_hist
    return _PAIR_KERNEL


_STATUS: bool | None = None  # None: not checked; False: numba missing or broken


def _selftest() -> bool:
    """Compile (or load from cache) every kernel on tiny inputs; any failure disables numba."""
    global _STATUS
    if _STATUS is None:
        try:
            import numba  # noqa: F401

            rec = np.array([0x02000005, 0xFE000001, 0x80000000 | 3], dtype=np.uint32)
            for t3 in (True, False):
                out = [np.empty(3, np.int64), np.empty(3, np.int8), np.empty(3, np.int64), np.empty(3, np.int64)]
                kernel()(rec, t3, True, 1024, 1, 1.0, True, 500, 0.0, 16.0,
                         np.array([0, -1], np.int64), *out)
            a = np.array([1, 5, 9], np.int64)
            pair_kernel()(a, a, 4, 2, np.zeros(4, np.int64))
            lut = np.ones(256, bool)
            ch = np.zeros(3, np.int8)
            for dt in (np.int32, np.int64):
                trace_kernel()(a, ch, a, True, lut, False, 4, np.zeros(4, dt), np.zeros(4),
                               np.zeros(4, np.int64), True, 0, 100)
            trace_kernel()(a, ch, a, False, lut, True, 4, np.zeros(4, np.int32), np.zeros(0),
                           np.zeros(0, np.int64), False, 0, 100)
            decay_kernel()(a, ch, lut, False, 2, np.zeros(8, np.int64))
            _STATUS = True
        except Exception:  # noqa: BLE001 - missing or broken numba: the numpy path is used
            _STATUS = False
    return _STATUS


def enabled(n_records: int) -> bool:
    flag = os.environ.get("SURFCHEM_NUMBA", "").strip()
    if flag == "0":
        return False
    if flag != "1" and n_records < _AUTO_MIN_RECORDS:
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return _selftest()


def kernel():
    global _KERNEL
    if _KERNEL is None:
        from numba import njit

        @njit(cache=True, nogil=True)
        def decode_hh(rec, t3, v2, wrap, unit_int, unit_f, use_int, per_whole, per_frac, res_ps,
                      state, out_t, out_c, out_m, out_s):
            ofl = state[0]
            last_sync = state[1]
            n_ph = 0
            n_sync = 0
            end = 0
            for i in range(rec.size):
                r = np.int64(rec[i])
                special = (r >> 31) & 1
                ch = (r >> 25) & 0x3F
                if t3:
                    nsync = r & 0x3FF
                    if special == 1 and ch == 0x3F:
                        if v2:
                            ofl += nsync if nsync != 0 else 1
                        else:
                            ofl += 1
                        ns = ofl * wrap
                        end = ns * per_whole + np.int64(np.rint(ns * per_frac))
                        continue
                    ns = ofl * wrap + nsync
                    macro = ns * per_whole + np.int64(np.rint(ns * per_frac))
                    end = macro
                    if special == 1:
                        continue
                    dtime = (r >> 10) & 0x7FFF
                    micro = np.int64(np.rint(dtime * res_ps))
                    out_t[n_ph] = macro + micro
                    out_c[n_ph] = ch
                    out_m[n_ph] = micro
                    n_ph += 1
                else:
                    tt = r & 0x1FFFFFF
                    if special == 1 and ch == 0x3F:
                        if v2:
                            ofl += tt if tt != 0 else 1
                        else:
                            ofl += 1
                        total = ofl * wrap
                    else:
                        total = ofl * wrap + tt
                    if use_int:
                        tps = total * unit_int
                    else:
                        tps = np.int64(np.rint(total * unit_f))
                    end = tps
                    if special == 1:
                        if ch == 0:
                            last_sync = tps
                            out_s[n_sync] = tps
                            n_sync += 1
                        continue
                    out_t[n_ph] = tps
                    out_c[n_ph] = ch
                    out_m[n_ph] = tps - last_sync if last_sync >= 0 else -1
                    n_ph += 1
            state[0] = ofl
            state[1] = last_sync
            return n_ph, n_sync, end

        _KERNEL = decode_hh
    return _KERNEL


_TRACE_KERNEL = None
_DECAY_KERNEL = None


def trace_kernel():
    """counts[t // w - lo] += 1 (and microtime sums) for photons whose channel is selected."""
    global _TRACE_KERNEL
    if _TRACE_KERNEL is None:
        from numba import njit

        @njit(cache=True, nogil=True)
        def trace_add(t, ch, micro, has_micro, lut, use_lut, w, counts, msum, mn, with_micro, wlo, whi):
            for i in range(t.size):
                if use_lut and not lut[np.uint8(ch[i])]:
                    continue
                b = t[i] // w
                counts[b] += 1
                if with_micro and has_micro:
                    m = micro[i]
                    if m >= wlo and m < whi:
                        msum[b] += m
                        mn[b] += 1

        _TRACE_KERNEL = trace_add
    return _TRACE_KERNEL


def decay_kernel():
    """hist[m // w] += 1 for selected photons with 0 <= m < n_bins * w; returns the rejects."""
    global _DECAY_KERNEL
    if _DECAY_KERNEL is None:
        from numba import njit

        @njit(cache=True, nogil=True)
        def decay_add(micro, ch, lut, use_lut, w, hist):
            rejected = 0
            nb = hist.size
            for i in range(micro.size):
                if use_lut and not lut[np.uint8(ch[i])]:
                    continue
                m = micro[i]
                if m < 0:
                    rejected += 1
                    continue
                b = m // w
                if b >= nb:
                    rejected += 1
                    continue
                hist[b] += 1
            return rejected

        _DECAY_KERNEL = decay_add
    return _DECAY_KERNEL
