"""The base layer: what every other layer may import, and which imports no other layer.

* :mod:`surfchem.core.units`: physical constants and unit conversions (one definition each);
* :mod:`surfchem.core.hashing`: content hashes of tasks (the cache keys);
* :mod:`surfchem.core.store`: the result store (ASE database addressed by task hash);
* :mod:`surfchem.core.screendir`: the screen output directory (``results.csv``, ``summary.csv``,
  ``references.json``, ``structures/``, ``results.db``): its file names and column order, one
  writer and reader (:class:`~surfchem.core.screendir.ScreenDir`);
* :mod:`surfchem.core.spec`: spec primitives (strict pydantic base, TOML reading, one-line
  errors, coverage ranges);
* :mod:`surfchem.core.slurm`: Slurm resources and ``#SBATCH`` directives;
* :mod:`surfchem.core.slabgeom`: slab geometry helpers (atomic layers).

Errors live in :mod:`surfchem.errors` (below this package).
"""
