"""DFT reference level and validation of the fast calculators against it.

The GPAW settings live in :data:`surfchem.calculators.GPAW_DEFAULTS` (presets ``gpaw-pbe-pw``,
``gpaw-pbe-lcao`` and their ``-d3`` twins). This package measures how far the fast calculators
(the ML default ``chgnet-d3``, SevenNet, GFN1/GFN2-xTB) are from GPAW on exactly our systems:

- :func:`bulk_a0` - cubic a0 by EOS fit (vs experiment and published PBE, :data:`LATTICE_REFERENCES`)
- :func:`surface_gamma` - unrelaxed gamma of the bare CsBr-terminated (100) slab vs layers
- :func:`binding_systems` / :func:`ligand_exchange` - Cs+ -> ligand exchange energy
- :func:`stacking_systems` / :func:`stacking_energy` - PEA-PEA interaction in the slab geometry
- :func:`convergence_scan` - cutoff / k-point convergence of the bulk energy and a0 (table)
- :func:`run_validation` - a profile (``quick``, ``here``, ``cluster``) -> tables, parity, plot

Energies are cached by content hash (:class:`Evaluator`), GPAW writes ``.txt`` + ``.gpw`` per task.
Spin-orbit coupling is out of scope throughout.
"""

from surfchem.validate.convergence import ConvergenceRow, convergence_scan
from surfchem.validate.engine import ALIASES, EnergyRecord, Evaluator, kpts_for, resolve_calculator
from surfchem.validate.literature import LATTICE_REFERENCES, LatticeReference
from surfchem.validate.recipes import (
    BindingRecord,
    BulkA0Record,
    StackingRecord,
    SurfaceRecord,
    binding_systems,
    bulk_a0,
    ligand_exchange,
    stacking_energy,
    stacking_systems,
    surface_gamma,
)
from surfchem.validate.suite import (
    DEFAULT_CALCULATORS,
    PROFILES,
    ValidationResult,
    parity_rows,
    parity_summary,
    run_validation,
)

__all__ = [
    "ALIASES", "BindingRecord", "BulkA0Record", "ConvergenceRow", "DEFAULT_CALCULATORS",
    "EnergyRecord", "Evaluator", "LATTICE_REFERENCES", "LatticeReference", "PROFILES",
    "StackingRecord", "SurfaceRecord", "ValidationResult", "binding_systems", "bulk_a0",
    "convergence_scan", "kpts_for", "ligand_exchange", "parity_rows", "parity_summary",
    "resolve_calculator", "run_validation", "stacking_energy", "stacking_systems", "surface_gamma",
]
