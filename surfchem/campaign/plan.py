"""What a campaign computes, known before it runs: :class:`CampaignPlan`.

Per stage (a funnel: stage 0 relaxes everything planned, stage s > 0 recomputes the ``keep``
lowest-energy arrangements per (ligand, N) of stage s-1 with its own calculator):

1. references: cubic EOS of the perovskite and of the CsX salt, the ligand ion pairs (unless the
   user gave the ligand's chemical potential);
2. the bare slab at the stage's own a0;
3. the ligand slabs: in ``grow`` mode one per N = 1 .. max(N) per ligand (the grow chain of
   :mod:`surfchem.trust.chain`), else the planned arrangements of each requested N.

The stage planner (:class:`surfchem.campaign.stage.StagePlanner`) submits exactly these tasks
(plus the consistency sweeps, which are counted as they come); :attr:`CampaignPlan.n_tasks`
counts them. With an ``[anchor]`` table, one anchor task per ligand follows the last stage
(:meth:`CampaignPlan.anchor_tasks`).
"""

from __future__ import annotations

from pathlib import Path

from ase import Atoms

from surfchem.build.arrangements import Arrangement, grow_order, site_permutations
from surfchem.build.arrangements import arrangements as enumerate_arrangements
from surfchem.build.bulk import Material, get_material
from surfchem.build.ligands import LigandSpec, resolve_ligand
from surfchem.build.slab import slab as build_slab
from surfchem.calculators import preset_parameters
from surfchem.campaign.spec import CampaignSpec
from surfchem.campaign.task import Task
from surfchem.validate.anchor import ANCHOR_PROTOCOL, anchor_parameters


class CampaignPlan:
    """The fixed part of a campaign: coverages, slab template, ligands, arrangements, task count.

    Attributes
    ----------
    material
        The perovskite (:class:`surfchem.build.bulk.Material`).
    n_values
        Requested coverages (ligands per slab).
    template
        The ideal slab (labelled surface sites) the arrangements and the grow order refer to.
    perms
        Site permutations of the template's symmetry (:func:`surfchem.build.arrangements.site_permutations`).
    ligands
        The resolved ligands (name, canonical SMILES).
    order
        Surface sites in grow order (:func:`surfchem.build.arrangements.grow_order`).
    """

    def __init__(self, spec: CampaignSpec):
        self.spec = spec
        self.material: Material = get_material(spec.material)
        self.n_values = spec.n_values()
        self.template: Atoms = build_slab(self.material.name, size=spec.slab.size, layers=spec.slab.layers,
                                          vacuum=spec.slab.vacuum_A)
        self.perms = site_permutations(self.template)
        self.ligands: list[LigandSpec] = [resolve_ligand(lig) for lig in spec.ligands]
        self.order: list[int] = list(grow_order(self.template))
        self._arrangements: dict[int, list[Arrangement]] = {}

    @property
    def n_max(self) -> int:
        return max(self.n_values)

    def arrangements(self, k: int) -> list[Arrangement]:
        """The arrangements of N = ``k`` a first stage computes outside ``grow`` mode (``all``,
        ``first`` or the first ``arrangements`` symmetry-distinct ones)."""
        if k not in self._arrangements:
            arr = self.spec.arrangements
            limit = None if arr == "all" else (1 if arr == "first" else int(arr))
            self._arrangements[k] = list(enumerate_arrangements(k, self.template))[:limit]
        return self._arrangements[k]

    def n_reference_tasks(self) -> int:
        """Per stage: bulk and salt EOS, one ion pair per ligand without a user chemical potential."""
        return 2 + sum(1 for lig in self.ligands if lig.name not in self.spec.references.mu_LX_eV)

    def slab_counts(self) -> list[dict[int, int]]:
        """Per stage: planned ligand-slab tasks per N for each ligand (the bare slab aside)."""
        counts: list[dict[int, int]] = []
        for s, stage in enumerate(self.spec.stages):
            if s == 0 and self.spec.arrangements == "grow":
                per_n = {k: 1 for k in range(1, self.n_max + 1)}
            elif s == 0:
                per_n = {k: len(self.arrangements(k)) for k in self.n_values if k > 0}
            else:
                per_n = {k: min(stage.keep, m) for k, m in counts[-1].items()}
            counts.append(per_n)
        return counts

    @property
    def n_tasks(self) -> int:
        """Tasks the campaign runs in all (references, bare slab and ligand slabs of every
        stage; the consistency sweeps are not known in advance and count as they come)."""
        per_stage = self.n_reference_tasks() + 1
        n_anchor = len(self.ligands) if self.spec.anchor is not None else 0
        return n_anchor + sum(per_stage + len(self.ligands) * sum(per_n.values()) for per_n in self.slab_counts())

    def anchor_tasks(self, out: Path) -> list[Task]:
        """One anchor task per ligand (empty without an ``[anchor]`` table): the ligand's exchange
        reaction on a small slab with the last stage's calculator and the anchor's DFT preset
        (:func:`surfchem.validate.anchor.ligand_anchor`); single points cached in ``OUT/anchors``.

        Parameters
        ----------
        out : Path
            The campaign's output directory.

        Returns
        -------
        list of Task
        """
        a = self.spec.anchor
        if a is None:
            return []
        last = self.spec.stages[-1]
        params = anchor_parameters(a.dft, a.params)
        settings = {"dft": a.dft, "params": params, "dft_preset": preset_parameters(a.dft, **params),
                    "protocol": ANCHOR_PROTOCOL,
                    "size": list(a.size) if a.size else None, "layers": a.layers, "dir": str(out / "anchors")}
        return [Task(kind="anchor", mode="anchor", record={"ligand": lig.name, "smiles": lig.smiles},
                     material=self.material.name, calculator=last.calculator, calc_params=dict(last.params),
                     preset=preset_parameters(last.calculator, **last.params), anchor=settings,
                     mpi_ranks=a.mpi_ranks)
                for lig in self.ligands]
