"""The ligand-coverage screen (paper Fig. 1c,d): build -> relax -> gamma(N), dG(N) -> plot.

Every relaxation is a task keyed by its content hash and stored in an ASE database
(``OUT/results.db``) as soon as it finishes; its trajectory (``OUT/trajectories/<hash>.traj``)
lets an interrupted relaxation restart from its last frame. Rerunning the same screen is therefore
a no-op, and a killed screen resumes where it stopped.

Arrangement policies (``arrangements=``):

* ``"grow"`` (default): one path per ligand; the N-ligand slab is grown from the relaxed
  (N-1)-ligand slab by adding one ligand on the next site of
  :func:`surfchem.build.arrangements.grow_order`. Cheapest, and in our prototype it found lower
  minima than building each N directly (``findings.md``, lesson 1).
* ``"first"``: the first symmetry-distinct arrangement of each N, built directly on the relaxed
  bare slab.
* ``"all"`` or an int k: every (or the first k) symmetry-distinct arrangement(s) of each N.

For each N the reported gamma and dG use the lowest-energy arrangement computed; all are kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from ase import Atoms

from surfchem.build.arrangements import arrangements as enumerate_arrangements
from surfchem.build.arrangements import grow_order, identify, site_permutations
from surfchem.build.bulk import HALIDE_SALT, get_material
from surfchem.build.decorate import decorate
from surfchem.build.ligands import resolve_ligand
from surfchem.build.slab import slab as build_slab
from surfchem.calculators import DEFAULT_PRESET, calculator_name, get_calculator, preset_parameters
from surfchem.campaign.hashing import task_hash
from surfchem.campaign.store import ResultStore
from surfchem.errors import InputError
from surfchem.relax import relax, relax_bulk_lattice
from surfchem.thermo import References, coverage_table, n_min, summary


@dataclass
class ScreenResult:
    """Tables (pandas), references and output paths of a screen."""

    table: pd.DataFrame
    summary: pd.DataFrame
    references: References
    n_min: dict[str, int]
    out: Path | None
    wall_s: float
    files: dict[str, str] = field(default_factory=dict)


def parse_n_range(spec: str | Iterable[int], n_sites: int = 8) -> list[int]:
    """``"0-8"``, ``"0,2,4"``, ``"3"`` or an iterable of ints -> sorted list within 0..n_sites."""
    if isinstance(spec, str):
        values: set[int] = set()
        try:
            for part in spec.split(","):
                part = part.strip()
                if "-" in part:
                    lo, hi = (int(x) for x in part.split("-", 1))
                    values.update(range(lo, hi + 1))
                elif part:
                    values.add(int(part))
        except ValueError:
            raise InputError(f"n range {spec!r}: use forms like '0-8', '0,2,4' or '3'") from None
    else:
        values = {int(v) for v in spec}
    bad = sorted(v for v in values if not 0 <= v <= n_sites)
    if bad or not values:
        raise InputError(f"n values must lie in 0..{n_sites} (surface sites), got {sorted(values)}")
    return sorted(values)


class _Runner:
    """Runs relaxation tasks through the content-hash cache."""

    def __init__(self, store: ResultStore, calc: Any, calc_params: dict, relax_settings: dict,
                 traj_dir: Path | None, progress: Any):
        self.store, self.calc, self.calc_params = store, calc, calc_params
        self.relax_settings, self.traj_dir, self.progress = relax_settings, traj_dir, progress

    def relax(self, atoms: Atoms, record: dict[str, Any]) -> tuple[Atoms, dict[str, Any]]:
        h = task_hash(atoms, self.calc_params, self.relax_settings)
        hit = self.store.get(h)
        if hit is None:
            traj = self.traj_dir / f"{h}.traj" if self.traj_dir else None
            res = relax(atoms, self.calc, trajectory=traj, **self.relax_settings)
            final = res.atoms
            final.calc = None
            rec = {**record, **res.as_dict(), "calculator": self.calc_params["preset"],
                   "formula": atoms.get_chemical_formula(), "n_atoms": len(atoms)}
            rec.pop("trajectory", None)
            self.store.put(h, final, rec)
            hit = (final, rec)
        self.progress.update(1)
        atoms_out, rec = hit
        return atoms_out, {**rec, "task_hash": h}

    def lattice(self, material: str, kind: str) -> tuple[float, float]:
        h = task_hash(None, self.calc_params, {"task": "eos", "material": material})
        hit = self.store.get(h)
        if hit is None:
            lat = relax_bulk_lattice(material, self.calc)
            from surfchem.build.bulk import bulk

            rec = {"kind": kind, "material": material, "a0_A": lat.a0_A,
                   "energy_eV": lat.energy_per_fu_eV, "bulk_modulus_GPa": lat.bulk_modulus_GPa,
                   "calculator": self.calc_params["preset"]}
            self.store.put(h, bulk(material, a=lat.a0_A), rec)
            hit = (None, rec)
        self.progress.update(1)
        return float(hit[1]["a0_A"]), float(hit[1]["energy_eV"])


def screen(
    ligands: Sequence[str] = ("DDA6", "PEA"),
    n: str | Iterable[int] = "0-8",
    calculator: Any = DEFAULT_PRESET,
    material: str = "CsPbBr3",
    out: str | Path | None = "results/screen",
    arrangements: str | int = "grow",
    fmax: float = 0.05,
    steps: int = 300,
    optimizer: str = "BFGS",
    fix: str = "none",
    size: tuple[int, int] = (2, 2),
    layers: int = 5,
    vacuum: float = 15.0,
    mu_LX_eV: dict[str, float] | None = None,
    db: str | None = None,
    progress: bool = True,
    plot: bool = True,
    **calc_kwargs: Any,
) -> ScreenResult:
    """Run the coverage screen and write ``OUT/results.csv``, ``summary.csv``, ``fig1.png/.pdf``.

    Parameters
    ----------
    ligands: names or SMILES (see :mod:`surfchem.build.ligands`); ``DDA6`` = DDA truncated to C6.
    n: coverages, e.g. ``"0-8"``. calculator: preset name or ASE calculator (``calc_kwargs`` go
    to the preset). arrangements: ``grow`` | ``first`` | ``all`` | int (see module docs).
    fmax (eV/Å), steps, optimizer, fix: relaxation settings (:func:`surfchem.relax.relax`).
    mu_LX_eV: user chemical potentials of L-HX per ligand (eV), instead of the ion pair.
    db: database path or ``postgresql://`` URL (default ``OUT/results.db``).
    """
    t0 = time.perf_counter()
    mat = get_material(material)
    specs = [resolve_ligand(lig) for lig in ligands]
    if not specs:
        raise InputError("give at least one ligand")
    template = build_slab(mat.name, size=size, layers=layers, vacuum=vacuum)
    n_sites = len(template.info["surface_faces"])
    n_values = parse_n_range(n, n_sites)
    if not (arrangements in ("grow", "first", "all") or (isinstance(arrangements, int) and arrangements > 0)):
        raise InputError(f"arrangements must be 'grow', 'first', 'all' or a positive int, got {arrangements!r}")
    out_path = Path(out) if out is not None else None
    if out_path is None and db is None:
        raise InputError("give out= (a directory) or db= (a database) to keep results")
    if out_path is not None:
        out_path.mkdir(parents=True, exist_ok=True)
    store = ResultStore(db or out_path / "results.db")
    calc_params = preset_parameters(calculator, **calc_kwargs)
    calc = get_calculator(calculator, **calc_kwargs)
    relax_settings = {"fmax": float(fmax), "steps": int(steps), "optimizer": optimizer, "fix": fix}

    perms = site_permutations(template)
    plans: dict[str, list[tuple[int, tuple[int, ...]]]] = {}
    n_max = max(n_values)
    for spec in specs:
        if arrangements == "grow":
            order = grow_order(template)
            plans[spec.name] = [(k, tuple(order[:k])) for k in range(1, n_max + 1)]
        else:
            limit = None if arrangements == "all" else (1 if arrangements == "first" else int(arrangements))
            plans[spec.name] = [
                (k, a.sites) for k in n_values if k > 0
                for a in list(enumerate_arrangements(k, template))[:limit]
            ]
    user_mu = dict(mu_LX_eV or {})
    n_tasks = 3 + sum(len(p) + (spec.name not in user_mu) for spec, p in zip(specs, plans.values(), strict=True))

    from tqdm.auto import tqdm

    bar = tqdm(total=n_tasks, desc="screen", unit="task", disable=not progress, dynamic_ncols=True)
    runner = _Runner(store, calc, calc_params, relax_settings,
                     out_path / "trajectories" if out_path else None, bar)
    a0, g_bulk = runner.lattice(mat.name, "bulk")
    salt = HALIDE_SALT[mat.name]
    _, mu_ax = runner.lattice(salt, "salt")
    bare = build_slab(mat.name, size=size, layers=layers, vacuum=vacuum, a=a0)
    area = float(np.linalg.norm(np.cross(bare.cell[0], bare.cell[1])))
    base = {"material": mat.name, "area_A2": area, "a0_A": a0}
    bar.set_postfix_str("bare slab")
    bare_relaxed, bare_rec = runner.relax(bare, {**base, "kind": "slab", "ligand": "", "n": 0,
                                                 "sites": "", "arrangement": 0, "multiplicity": 1})
    rows = [bare_rec]
    refs = References(mat.name, g_bulk, mu_ax, a0_A=a0, calculator=calculator_name(calculator))
    structures: dict[tuple[str, int], Atoms] = {}
    from surfchem.build import ion_pair

    for spec in specs:
        if spec.name in user_mu:
            refs.mu_LX_eV[spec.name] = float(user_mu[spec.name])
            refs.mu_LX_kind[spec.name] = "user"
        else:
            bar.set_postfix_str(f"{spec.name} ion pair")
            _, rec = runner.relax(ion_pair(spec.smiles, halide=mat.x),
                                  {"kind": "ion_pair", "ligand": spec.name, "smiles": spec.smiles})
            refs.mu_LX_eV[spec.name] = float(rec["energy_eV"])
            refs.mu_LX_kind[spec.name] = "ion_pair"
        best: dict[int, tuple[float, Atoms]] = {0: (bare_rec["energy_eV"], bare_relaxed)}
        for k, sites in plans[spec.name]:
            bar.set_postfix_str(f"{spec.name} N={k}")
            if arrangements == "grow":
                parent = best[k - 1][1]
                start = decorate(parent, spec.smiles, [sites[-1]])
            else:
                start = decorate(bare_relaxed, spec.smiles, sites)
            start.info["ligand"] = spec.name
            arr = identify(sites, perms)
            relaxed, rec = runner.relax(start, {
                **base, "kind": "slab", "ligand": spec.name, "smiles": spec.smiles, "n": k,
                "sites": ",".join(map(str, sites)), "arrangement": arr.index,
                "multiplicity": arr.multiplicity, "mode": "grow" if arrangements == "grow" else "direct",
            })
            rows.append(rec)
            e = rec["energy_eV"]
            if np.isfinite(e) and (k not in best or e < best[k][0]):
                best[k] = (e, relaxed)
            if arrangements == "grow" and k not in best:
                raise InputError(f"{spec.name} N={k} failed ({rec.get('error')}); cannot grow further")
        for k, (_, at) in best.items():
            structures[(spec.name, k)] = at
    bar.close()

    df = pd.DataFrame(rows)
    df["n_A"] = [_count(r, mat.a) for r in rows]
    df["n_B"] = [_count(r, mat.b) for r in rows]
    table = coverage_table(df, refs)
    if arrangements == "grow":
        table = table[table["n"].isin(n_values)].reset_index(drop=True)
    summ = summary(table)
    result = ScreenResult(table, summ, refs, n_min(summ), out_path, time.perf_counter() - t0)
    if out_path is not None:
        write_outputs(result, structures, plot=plot)
    return result


def _count(record: dict[str, Any], symbol: str) -> int:
    from ase.symbols import string2symbols

    return string2symbols(record["formula"]).count(symbol)


TABLE_COLUMNS = [
    "ligand", "n", "arrangement", "sites", "multiplicity", "energy_eV", "G_corr_eV", "G_eV",
    "gamma_J_m2", "gamma_meV_A2", "dG_eV", "is_min", "converged", "fmax_eV_A", "n_steps",
    "wall_s", "calculator", "formula", "n_atoms", "area_A2", "task_hash", "error",
]


def write_outputs(result: ScreenResult, structures: dict[tuple[str, int], Atoms], plot: bool = True) -> None:
    """Write results.csv, summary.csv, references.json, lowest structures and the figure."""
    from ase.io import write

    out = result.out
    assert out is not None
    cols = [c for c in TABLE_COLUMNS if c in result.table.columns]
    result.table[cols].to_csv(out / "results.csv", index=False)
    result.summary.to_csv(out / "summary.csv", index=False)
    (out / "references.json").write_text(json.dumps(
        {**result.references.as_dict(), "n_min": result.n_min, "wall_s": result.wall_s}, indent=2))
    sdir = out / "structures"
    sdir.mkdir(exist_ok=True)
    for (lig, k), at in structures.items():
        write(sdir / f"{lig}_n{k}.extxyz", at)
    result.files = {"results": str(out / "results.csv"), "summary": str(out / "summary.csv")}
    if plot:
        from surfchem.plot.coverage import plot_coverage

        paths = plot_coverage(result.summary, out / "fig1", table=result.table)
        result.files.update(figure=str(paths[0]))
