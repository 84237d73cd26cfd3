"""surfchem: surface chemistry of halide-perovskite quantum dots, tied to single-dot photophysics.

Layers, each importing only those below it (``pyproject.toml`` ``[tool.importlinter]``):
``core`` (units, hashing, store, spec primitives) -> ``build`` -> ``calculators`` -> ``relax``
-> ``thermo`` -> ``trust`` | ``validate`` -> ``campaign`` -> ``link`` -> ``plot`` -> ``cli``;
``experiment`` (photon statistics) stands alone on the base layer. Heavy packages (torch, gpaw, tblite, rdkit,
parsl) are imported inside the functions that need them, so ``import surfchem`` is fast.

The public API is re-exported lazily from here (see ``__all__``).
"""

from __future__ import annotations

import importlib
from typing import Any

from surfchem.errors import SurfchemError

__version__ = "0.1.0"

_LAZY = {
    "bulk": "surfchem.build.bulk",
    "build_slab": "surfchem.build.slab",
    "slab": "surfchem.build.slab",
    "ligand": "surfchem.build.ligands",
    "arrangements": "surfchem.build.arrangements",
    "decorate": "surfchem.build.decorate",
    "get_calculator": "surfchem.calculators",
    "screen": "surfchem.campaign.screen",
    "run_campaign": "surfchem.campaign.run",
    "load_spec": "surfchem.campaign.spec",
    "minimum_search": "surfchem.trust.search",
    "analyze_file": "surfchem.experiment.analyze",
}

__all__ = ["SurfchemError", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'surfchem' has no attribute {name!r}")
