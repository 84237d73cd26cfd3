"""surfchem.experiment: single-dot photon statistics from TTTR files (science brief section 3).

Imports only numpy/scipy at module level (numba, h5py, phconvert, PyTables and powerlaw lazily: the
``photons`` extra) - never torch, GPAW or RDKit.

Modules and main entry points (photon times are int64 picoseconds; API edges use SI seconds):

* :mod:`.ptu` - ``read_header``, ``iter_ptu_chunks`` (chunked T2/T3 decoding, HydraHarp v1/v2,
  TimeHarp 260, MultiHarp/generic, PicoHarp 300), ``encode_hh_t2``/``encode_hh_t3``/``write_ptu``.
* :mod:`.legacy` - ``read_header`` of legacy PicoQuant ``.pt3``/``.pt2``/``.ht3``/``.ht2`` files
  (decoded by ``ptu.iter_ptu_chunks``).
* :mod:`.bhspc` - ``read_header`` of Becker & Hickl ``.spc`` FIFO files (SPC-130 family,
  SPC-600/630 256/4096 channels; decoded by ``ptu.iter_ptu_chunks``).
* :mod:`.photonhdf5_reader` - ``open_photon_hdf5`` (chunked Photon-HDF5 reader, h5py).
* :mod:`.streaminfo` - ``StreamInfo`` (what a stream is; shared by the readers and :mod:`.stream`).
* :mod:`.stream` - ``open_stream`` (PTU, legacy PicoQuant, B&H .spc or Photon-HDF5 -> ``StreamInfo`` +
  chunk iterator),
  ``array_stream``, ``run`` (one pass feeding accumulators).
* :mod:`.photonhdf5` - Photon-HDF5 writers (through phconvert, validated): ``write_photon_hdf5``,
  ``convert_to_photon_hdf5`` (any supported file, streamed).
* :mod:`.trace` - ``bin_counts``, ``TraceAccumulator``, ``threshold``, ``on_fraction``,
  ``mandel_q``, ``bin_width_scan``, ``intensity_histogram``.
* :mod:`.dwell` - ``dwell_times``, ``fit_power_law`` (discrete CSN 2009 MLE, KS t_min,
  exponential / truncated-power-law comparisons).
* :mod:`.g2` - ``G2Accumulator``/``cross_correlate`` (exact streaming), ``pulsed_g2_zero``,
  ``correct_background`` (paper / exact), ``fit_cw_g2``.
* :mod:`.decay` - ``DecayAccumulator``, ``fit_lifetime`` (IRF reconvolution, Poisson MLE),
  ``background_fraction``, ``flid``.
* :mod:`.changepoint` - photon-by-photon change points (Watkins & Yang 2005), BIC level
  grouping, dwell times: ``ChangePointAccumulator``, ``analyze_chunks``, ``group_levels``.
* :mod:`.spectra` - ``fit_spectrum`` (split Voigt), ``SizingCurve``.
* :mod:`.excitation` - ``excitation_density`` (<N> = sigma j), ``paper_check``.
* :mod:`.simulate` - ``SimulationParams``, ``simulate_photons``, ``simulate_trace_counts``,
  ``write_simulated_ptu`` (+ ``.truth.json``).
* :mod:`.analyze` - ``analyze_file``/``analyze_stream`` -> ``PhotonAnalysis`` (dataclass with
  unit-suffixed fields; ``to_dict()`` for JSON).
"""
