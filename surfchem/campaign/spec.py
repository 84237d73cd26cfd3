"""Campaign specification: a declarative TOML file checked against a schema before any work.

The schema is written with pydantic v2 (``extra="forbid"`` everywhere, so a misspelt key is an
error), in the spirit of CAT's ``validation_schemas``. Example (``calculations/paper_fig1.toml``)::

    name = "paper_fig1"
    material = "CsPbBr3"
    ligands = ["C6A", "PEA"]
    n = "0-8"
    arrangements = "grow"            # grow | first | all | <k>

    [slab]
    size = [2, 2]
    layers = 5
    vacuum_A = 15.0

    [[stages]]                       # a funnel: each stage refines the best `keep` per (ligand, N)
    calculator = "chgnet-d3"
    fmax_eV_A = 0.05
    steps = 300
    [stages.search]                  # optional multi-start minimum search per ligand slab
    n_starts = 4

    [[stages]]
    calculator = "gfn2"
    mode = "single_point"            # relax | single_point
    keep = 1

    [references]
    mu_LX_eV = { }                   # user chemical potentials per ligand; default: ion pair

    [executor]
    kind = "threads"                 # threads | processes | slurm
    workers = 1

    [database]
    url = "results/paper_fig1/results.db"   # or postgresql://user@host/db

Errors name the key, the value and what would be right; :func:`load_spec` raises
:class:`surfchem.errors.InputError` with one line per problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import Field, field_validator, model_validator

from surfchem.build.bulk import get_material
from surfchem.build.ligands import resolve_ligand
from surfchem.calculators import PRESETS
from surfchem.core.screendir import DATABASE
from surfchem.core.slurm import SlurmResources
from surfchem.core.spec import Strict, parse_n_range, read_toml, validate_model


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

    calculator: str = "chgnet-d3"
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

    @field_validator("calculator")
    @classmethod
    def _known(cls, v: str) -> str:
        if v.lower() not in PRESETS:
            raise ValueError(f"unknown calculator preset {v!r}; choose one of: {', '.join(PRESETS)}")
        return v.lower()


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
    dft : str, default "gpaw-pbe-d3-lcao"
        DFT preset.
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

    dft: str = "gpaw-pbe-d3-lcao"
    params: dict[str, Any] | None = None
    size: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] | None = None
    layers: Annotated[int, Field(ge=3)] = 3
    mpi_ranks: Annotated[int, Field(ge=1)] = 1

    @field_validator("dft")
    @classmethod
    def _known(cls, v: str) -> str:
        if v.lower() not in PRESETS:
            raise ValueError(f"unknown anchor calculator preset {v!r}; choose one of: {', '.join(PRESETS)}")
        return v.lower()


class SlurmSpec(SlurmResources):
    """``[executor.slurm]``: the Parsl blocks (pilot jobs) of a campaign on Slurm.

    Besides the keys of :class:`surfchem.core.slurm.SlurmResources` (``partition``, ``account``,
    ``qos``, ``walltime``, ``worker_init``):

    Attributes
    ----------
    nodes_per_block : int, default 1
        Nodes per pilot job.
    cores_per_node : int, optional
        Cores per node (default: Slurm's).
    max_blocks : int, default 1
        Pilot jobs at most.
    scheduler_options : str, default ""
        Extra ``#SBATCH`` lines.
    mpi_launcher : str, default "srun --overlap"
        Launcher of MPI tasks inside a pilot job (``--overlap`` lets the MPI step share the
        worker step's CPUs; add ``--mpi=pmix`` where the site's Slurm has no default PMI plugin).
    heartbeat_s : int, default 30
        Parsl worker heartbeat, s: a worker silent for 4 heartbeats is lost.
    """

    nodes_per_block: Annotated[int, Field(ge=1)] = 1
    cores_per_node: Annotated[int, Field(ge=1)] | None = None
    max_blocks: Annotated[int, Field(ge=1)] = 1
    scheduler_options: str = ""
    # MPI tasks (mpi_ranks > 1) start as a job step inside the Parsl pilot job, whose worker step
    # holds the node's CPUs: plain srun waits forever ("step creation temporarily disabled"),
    # --overlap lets the MPI step share them. Add --mpi=pmix (or pmi2) where the site's Slurm
    # does not default to a PMI plugin Open MPI/MPICH can use (MpiDefault=none).
    mpi_launcher: str = "srun --overlap"
    # Parsl worker heartbeat: a worker silent for 4 heartbeats is lost (job preempted/cancelled)
    heartbeat_s: Annotated[int, Field(ge=1)] = 30


class ExecutorSpec(Strict):
    """The ``[executor]`` table: where the tasks run.

    Attributes
    ----------
    kind : {"threads", "processes", "slurm"}, default "threads"
        Parsl executor.
    workers : int, default 1
        Parallel workers.
    retries : int, default 0
        Parsl retries of a failed task.
    retry_failed : bool, default True
        Recompute tasks stored as failed by an earlier run.
    claim_timeout_s : float, default 600.0
        Shared database: a task claimed by a driver whose heartbeat is older than this is taken
        over, s.
    slurm : SlurmSpec
        Resources of ``kind = "slurm"``.
    """
    kind: Literal["threads", "processes", "slurm"] = "threads"
    workers: Annotated[int, Field(ge=1)] = 1
    retries: Annotated[int, Field(ge=0)] = 0
    retry_failed: bool = True
    # shared database: a task claimed by a driver whose heartbeat is older than this is taken over
    claim_timeout_s: Annotated[float, Field(gt=0)] = 600.0
    slurm: SlurmSpec = Field(default_factory=SlurmSpec)


class DatabaseSpec(Strict):
    """The ``[database]`` table.

    Attributes
    ----------
    url : str or None
        A file path, ``sqlite:///path`` or ``postgresql://user:pass@host:port/dbname`` (default
        ``<out>/results.db``).
    """
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None or "://" not in v:
            return v
        u = urlparse(v)
        if u.scheme not in ("postgresql", "sqlite"):
            raise ValueError(f"database URL scheme {u.scheme!r} not supported: use a file path, "
                             "sqlite:///path or postgresql://user:pass@host:port/dbname")
        if u.scheme == "postgresql" and not u.hostname:
            raise ValueError(f"postgresql URL {v!r} has no host: postgresql://user:pass@host:port/dbname")
        return v


class CampaignSpec(Strict):
    """A campaign: the validated TOML spec (``calculations/*.toml``).

    Attributes
    ----------
    name : str
        Letters, digits, ``_ . -``; the default output directory is ``results/<name>``.
    material : str, default "CsPbBr3"
        A perovskite.
    ligands : list of str
        Names or ammonium SMILES, distinct.
    n : str or list of int, default "0-8"
        Coverages.
    arrangements : {"grow", "first", "all"} or int, default "grow"
        Arrangement policy (docs: "What the screen computes").
    slab : SlabSpec
    stages : list of StageSpec
        The funnel, in order (stage 0 relaxes every planned structure).
    references : ReferencesSpec
    anchor : AnchorSpec or None
        Per-ligand DFT anchors (table ``[anchor]``); none by default.
    executor : ExecutorSpec
    database : DatabaseSpec
    out : str or None
        Output directory.
    """
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    material: str = "CsPbBr3"
    ligands: Annotated[list[str], Field(min_length=1)]
    n: str | list[int] = "0-8"
    arrangements: Literal["grow", "first", "all"] | Annotated[int, Field(ge=1)] = "grow"
    slab: SlabSpec = Field(default_factory=SlabSpec)
    stages: Annotated[list[StageSpec], Field(min_length=1)] = Field(default_factory=lambda: [StageSpec()])
    references: ReferencesSpec = Field(default_factory=ReferencesSpec)
    anchor: AnchorSpec | None = None
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    database: DatabaseSpec = Field(default_factory=DatabaseSpec)
    out: str | None = None

    @field_validator("material")
    @classmethod
    def _material(cls, v: str) -> str:
        mat = get_material(v)
        if mat.kind != "perovskite":
            raise ValueError(f"material must be a perovskite (CsPbBr3, CsPbI3), got {v!r}")
        return mat.name

    @field_validator("ligands")
    @classmethod
    def _ligands(cls, v: list[str]) -> list[str]:
        for lig in v:
            resolve_ligand(lig)  # raises InputError naming the ligand
        if len(set(v)) != len(v):
            raise ValueError(f"ligands must be distinct, got {v}")
        return v

    @model_validator(mode="after")
    def _check_n(self) -> CampaignSpec:
        self.n_values()
        unknown = sorted(set(self.references.mu_LX_eV) - set(self.ligands))
        if unknown:
            raise ValueError(f"references.mu_LX_eV names ligands {unknown} that are not in ligands")
        if self.anchor is not None and self.anchor.dft == self.stages[-1].calculator:
            raise ValueError(f"anchor.dft {self.anchor.dft!r} is the last stage's calculator: an anchor "
                             "corrects an ML calculator with a DFT one (e.g. dft = 'gpaw-pbe-d3-lcao')")
        return self

    def n_values(self) -> list[int]:
        """The requested coverages (ligands per slab).

        Returns
        -------
        list of int
            Sorted, each within the slab's ``2 * size[0] * size[1]`` surface sites.
        """
        n_sites = 2 * self.slab.size[0] * self.slab.size[1]
        return parse_n_range(self.n if isinstance(self.n, str) else list(self.n), n_sites)

    def out_dir(self, base: Path | None = None) -> Path:
        """Output directory: ``out`` if given, else ``results/<name>``.

        Parameters
        ----------
        base : Path, optional
            Directory a relative path is taken against (default: as given).

        Returns
        -------
        Path
        """
        root = Path(self.out) if self.out else Path("results") / self.name
        return root if root.is_absolute() or base is None else base / root

    def database_url(self, base: Path | None = None) -> str:
        """Database URL: ``database.url`` if given, else ``<out>/results.db``.

        Parameters
        ----------
        base : Path, optional
            Directory a relative output path is taken against.

        Returns
        -------
        str
        """
        return self.database.url or str(self.out_dir(base) / DATABASE)


def parse_spec(data: dict[str, Any], source: str = "spec") -> CampaignSpec:
    """Validate a campaign spec given as a dict (e.g. parsed TOML).

    Parameters
    ----------
    data : dict
        The spec's tables and keys (as in ``calculations/*.toml``).
    source : str, default "spec"
        Name used in error messages.

    Returns
    -------
    CampaignSpec

    Raises
    ------
    surfchem.errors.InputError
        One line per validation problem.
    """
    return validate_model(CampaignSpec, data, source)


def load_spec(path: str | Path) -> CampaignSpec:
    """Read and validate a campaign TOML file.

    Relative ``out`` and database paths stay relative to the current directory (as the CLI is
    run). Examples: ``calculations/paper_fig1.toml``, ``calculations/tiny.toml``.

    Parameters
    ----------
    path : str or Path
        The TOML file.

    Returns
    -------
    CampaignSpec
        The validated spec (pydantic model).

    Raises
    ------
    surfchem.errors.InputError
        Unreadable TOML, or a spec that fails validation (unknown keys, wrong types, unknown
        ligands or calculators, bad database URLs: one line per problem).
    """
    return parse_spec(read_toml(path, "campaign spec"), str(path))
