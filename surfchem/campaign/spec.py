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

from pydantic import Field, field_validator, model_validator

from surfchem.build.bulk import get_material
from surfchem.build.ligands import resolve_ligand
from surfchem.campaign.spec_compute import (
    AnchorSpec,
    ReferencesSpec,
    SlabSpec,
    StageSpec,
)
from surfchem.campaign.spec_run import DatabaseSpec, ExecutorSpec
from surfchem.core.screendir import DATABASE
from surfchem.core.spec import Strict, parse_n_range, read_toml, validate_model


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
                             "corrects an ML calculator with a DFT one (e.g. dft = 'gpaw-pbe-d3-pw')")
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
