"""Trust in gamma(N): minimum search per structure, deduplication, consistency diagnostics.

Our prototype's single relaxations scattered by up to 1.4 eV per cell between local minima,
more than the coverage trend (prototype lesson 1, docs "Trustworthy minima"). This package makes every reported energy the
lowest of a documented multi-start search, with its spread, and checks the results against
consistency conditions that must hold whatever the calculator:

* :mod:`surfchem.trust.fingerprint`: rotation/translation-invariant structure fingerprints and
  deduplication of converged minima;
* :mod:`surfchem.trust.search`: multi-start minimum search (head depth, rotation about the
  normal, MD anneal + quench) with a stop rule;
* :mod:`surfchem.trust.diagnostics`: structure sanity after relaxation, face-equivalence of
  binding steps, grown-vs-direct agreement, and uncertainties of gamma and dG.
* :mod:`surfchem.trust.chain`: the grow chain and the consistency sweeps (shrink, regrow,
  mirror, splice) of one ligand, as a generator that yields starts and receives results.
"""
