"""What a campaign computes: the ``[slab]``, ``[[stages]]`` (with ``[stages.search]``),
``[references]`` and ``[anchor]`` tables of a campaign spec (:mod:`surfchem.campaign.spec`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator

from surfchem.calculators import PRESETS
from surfchem.core.spec import Strict


def known_preset(name: str) -> str:
    """A calculator preset name of a spec, lower-cased (the validator of :data:`PresetName`).

    Parameters
    ----------
    name : str
        Preset name as written in the TOML file.

    Returns
    -------
    str
        The name in :data:`surfchem.calculators.PRESETS`.

    Raises
    ------
    ValueError
        Not a preset (pydantic reports it with the key).
    """
    if name.lower() not in PRESETS:
        raise ValueError(f"unknown calculator preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return name.lower()


#: a calculator preset name in a spec, checked and lower-cased by :func:`known_preset`
PresetName = Annotated[str, AfterValidator(known_preset)]


class SlabSpec(Strict):
    """The ``[slab]`` table: the symmetric AX-terminated (100) slab.

    Attributes
    ----------
    size : tuple of int, default (2, 2)
        In-plane repetitions.
    layers : int, default 5
        Atomic layers, odd and >= 3.
    vacuum_A : float, default 15.0
        Vacuum between the ligand tips of neighbouring images, Å.
    """
    size: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] = (2, 2)
    layers: Annotated[int, Field(ge=3)] = 5
    vacuum_A: Annotated[float, Field(ge=0)] = 15.0

    @field_validator("layers")
    @classmethod
    def _odd(cls, v: int) -> int:
        if v % 2 == 0:
            raise ValueError("layers must be odd (AX ... AX termination), e.g. 5")
        return v


class SearchSpec(Strict):
    """Multi-start minimum search per ligand slab (:mod:`surfchem.trust.search`).

    ``sweeps``, ``regrow``, ``bare_starts`` and ``direct_start`` plan the work around the
    searches (:data:`surfchem.campaign.task.SEARCH_PLAN_KEYS`, :mod:`surfchem.trust.chain`).

    Attributes
    ----------
    n_starts : int, default 4
        Starts at most per search.
    patience : int, default 2
        Stop after this many starts without improvement by more than ``tol_eV``.
    tol_eV : float, default 0.05
        Improvement that counts, eV.
    depths_A : list of float, default [0.0, 0.8, 1.6]
        Head depths of perturbed starts (heads with N-H), Å.
    rattle_A : float, default 0.05
        Rattle of perturbed starts, Å.
    anneal_steps : int, default 0
        Langevin MD steps before each perturbed start (0 = no anneal).
    anneal_T_K : float, default 300.0
        Anneal temperature, K.
    direct_start : bool, default True
        Grow mode: also relax the arrangement built directly.
    seed : int, default 0
        Random seed.
    sweeps : int, default 3
        Grow mode: rounds of consistency sweeps after the chain (shrink from N+1, [regrow from
        N-1], mirror/splice whole faces) until a round improves nothing by more than ``tol_eV``.
    regrow : bool, default False
        Sweeps also regrow N from N-1 (measured on C6A/PEA it never gave a reported minimum).
    bare_starts : int, default 8
        Starts of the bare slab's search (cheap, framework tilts).
    """

    n_starts: Annotated[int, Field(ge=1)] = 4
    patience: Annotated[int, Field(ge=1)] = 2
    tol_eV: Annotated[float, Field(ge=0)] = 0.05
    depths_A: list[float] = Field(default_factory=lambda: [0.0, 0.8, 1.6])
    rattle_A: Annotated[float, Field(ge=0)] = 0.05
    anneal_steps: Annotated[int, Field(ge=0)] = 0
    anneal_T_K: Annotated[float, Field(gt=0)] = 300.0
    direct_start: bool = True  # in grow mode, also relax the arrangement built directly
    seed: int = 0
    # grow mode: rounds of single relaxations after the chain (surfchem.trust.chain): shrink from
    # N+1, [regrow from N-1], mirror/splice whole faces; until a round improves nothing by more
    # than tol_eV, at most `sweeps` rounds. regrow is off by default: measured on C6A/PEA it never
    # gave a reported minimum (32 relaxations, 28 % of the sweep time)
    sweeps: Annotated[int, Field(ge=0)] = 3
    regrow: bool = False
    bare_starts: Annotated[int, Field(ge=1)] = 8  # starts for the bare slab (cheap, framework tilts)


class StageSpec(Strict):
    """One level of the funnel (a ``[[stages]]`` table).

    Attributes
    ----------
    calculator : str, default "chgnet-d3"
        Calculator preset.
    params : dict, default {}
        Parameters passed to the preset.
    mode : {"relax", "single_point"}, default "relax"
        Relax the structures, or evaluate those of the previous stage.
    fmax_eV_A : float, default 0.05
        Force convergence, eV/Å.
    steps : int, default 300
        Optimiser steps at most.
    optimizer : {"BFGS", "FIRE", "LBFGS", "BFGSLineSearch"}, default "BFGS"
        ASE optimiser.
    fix : {"none", "center", "bottom"}, default "none"
        Inorganic layers held fixed.
    keep : int, default 1
        Lowest arrangements per (ligand, N) of the previous stage this stage recomputes (ignored
        for the first stage).
    mpi_ranks : int, default 1
        MPI ranks per task.
    search : SearchSpec, optional
        Multi-start minimum search per ligand slab (None: single relaxations).
    bulk_tilt_starts : int, default 3
        Rattled 2x2x2 starts of the bulk perovskite reference (octahedral tilts;
        :func:`surfchem.relax.bulk_tilt_minimum`); 0 = the cubic 5-atom cell only.
    diagnostics_tol_eV : float, default 0.15
        Tolerance of the consistency diagnostics, eV.
    """

    calculator: PresetName = "chgnet-d3"
    params: dict[str, Any] = Field(default_factory=dict)
    mode: Literal["relax", "single_point"] = "relax"
    fmax_eV_A: Annotated[float, Field(gt=0)] = 0.05
    steps: Annotated[int, Field(ge=0)] = 300
    optimizer: Literal["BFGS", "FIRE", "LBFGS", "BFGSLineSearch"] = "BFGS"
    fix: Literal["none", "center", "bottom"] = "none"
    keep: Annotated[int, Field(ge=1)] = 1
    mpi_ranks: Annotated[int, Field(ge=1)] = 1
    search: SearchSpec | None = None
    # bulk perovskite reference: rattled 2x2x2 starts at the cubic a0 (octahedral tilts, as the
    # slab may tilt; surfchem.relax.bulk_tilt_minimum); 0 = the cubic 5-atom cell only
    bulk_tilt_starts: Annotated[int, Field(ge=0)] = 3
    diagnostics_tol_eV: Annotated[float, Field(gt=0)] = 0.15


class ReferencesSpec(Strict):
    """The ``[references]`` table.

    Attributes
    ----------
    mu_LX_eV : dict of str to float, default {}
        User chemical potentials of the ligand salts per ligand, eV (default: the relaxed ion
        pair).
    """
    mu_LX_eV: dict[str, float] = Field(default_factory=dict)


class AnchorSpec(Strict):
    """The ``[anchor]`` table: per-ligand DFT anchors (:mod:`surfchem.thermo.anchors`).

    The exchange reaction of one ligand on a small slab with ``dft`` and with the last stage's ML
    calculator, on the ML geometries; the results gain anchored gamma and dG columns beside the
    plain ones.

    Attributes
    ----------
    dft : str, default "gpaw-pbe-d3-pw"
        DFT preset. Plane waves by default: LCAO dzp overbinds the exchange by 0.89-1.25 eV
        against plane waves, by an amount that differs between ligands (docs/anchors.md).
    params : dict or None
        Overrides of the DFT preset's parameters (they enter the hash); default: the validation's
        ``here`` settings (:func:`surfchem.validate.anchor.anchor_parameters`).
    size : tuple of int or None
        In-plane size of the anchor slab; default: the first of 1x1, 2x1, 2x2 the ligand fits.
    layers : int, default 3
        Layers of the anchor slab.
    mpi_ranks : int, default 1
        MPI ranks of an anchor task (as for a stage).
    """

    dft: PresetName = "gpaw-pbe-d3-pw"
    params: dict[str, Any] | None = None
    size: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] | None = None
    layers: Annotated[int, Field(ge=3)] = 3
    mpi_ranks: Annotated[int, Field(ge=1)] = 1
