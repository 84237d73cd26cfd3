"""Trust in gamma(N): minimum search per structure, deduplication, consistency diagnostics.

Our prototype's single relaxations scattered by up to 1.4 eV per cell between local minima,
more than the coverage trend (prototype lesson 1, docs "Trustworthy minima"). This package makes every reported energy the
lowest of a documented multi-start search, with its spread, and checks the results against
consistency conditions that must hold whatever the calculator:

* :mod:`surfchem.trust.fingerprint`: rotation/translation-invariant structure fingerprints and
  deduplication of converged minima;
* :mod:`surfchem.trust.search`: multi-start minimum search (start schedule, stop rule, driver);
* :mod:`surfchem.trust.moves`: the moves that make its starts (head depth, rotation about the
  normal, rattle, MD anneal before the quench);
* :mod:`surfchem.trust.checked`: relax a start only if it is physical and judge the result;
* :mod:`surfchem.trust.sanity`: geometry checks of one relaxed structure (close contacts, bond
  graph and proton transfer, head sites, Pb coordination, vacuum) and the rule for a valid minimum;
* :mod:`surfchem.trust.diagnostics`: consistency flags of a coverage table (face-equivalence of
  binding steps, grown-vs-direct agreement, single start), pooled minima, uncertainties of gamma
  and dG, and the comparison of calculator stages;
* :mod:`surfchem.trust.chain`: the grow chain and the consistency sweeps (shrink, regrow,
  mirror, splice) of one ligand, as a generator that yields starts and receives results.
"""
