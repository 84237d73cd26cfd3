"""The validation suite: which systems, which calculators, the parity table against GPAW.

Profiles (:data:`PROFILES`): ``quick`` (< 15 min on 2 busy cores: CsBr/CsPbBr3 a0 with reduced
GPAW settings, gamma of 1x1 slabs with 3 and 5 layers, IPA exchange on a 1x1x3 slab), ``here``
(what fits in ~1 h here: + CsPbI3, 7 layers, IPA/PEA/DDA2 exchange, PEA-PEA stacking;
DDA2 = diethyldimethylammonium, the truncated DDA of the main job, 29 atoms on the 1x1 cell:
the two-tailed DDA4 reaches its own periodic image there) and
``cluster`` (full size: 2x2 slabs, 5-9 layers, production GPAW settings; see
``calculations/validation_cluster.toml``). Every number is cached on disk, so running ``here``
after ``quick`` recomputes only what changed.

GPAW bulk a0 always uses the PW presets (a requested ``gpaw-lcao`` runs as ``gpaw-pw`` there).

Parity reference: GPAW PBE for calculators without dispersion, GPAW PBE+D3(BJ) for the D3 presets
and for GFN-xTB (which carries D3/D4 itself); PW for bulk, LCAO for slabs and molecules when both
were computed. Errors are ``calculator - reference`` on identical geometries (a0: each method's
own minimum).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from surfchem.errors import CalculatorError, InputError
from surfchem.validate.engine import Evaluator, includes_dispersion, is_gpaw, resolve_calculator
from surfchem.validate.recipes import (
    binding_systems,
    bulk_a0,
    gamma_linear_fit,
    ligand_exchange,
    stacking_energy,
    stacking_systems,
    surface_gamma,
)

#: reduced GPAW settings of the profiles run on this machine (the cluster spec uses the defaults
#: of surfchem.calculators.GPAW_DEFAULTS: PW 400 eV, LCAO dzp, k density 3.5 Å)
GPAW_QUICK = {
    "gpaw-pbe-pw": {"ecut_eV": 300.0, "kpt_density_A": 2.0},
    "gpaw-pbe-lcao": {"basis": "dzp", "kpt_density_A": 2.0, "h_A": 0.25},
}
GPAW_HERE = {
    "gpaw-pbe-pw": {"ecut_eV": 400.0, "kpt_density_A": 3.0},
    "gpaw-pbe-lcao": {"basis": "dzp", "kpt_density_A": 2.0, "h_A": 0.22},
}


@dataclass
class Profile:
    """System sizes and GPAW settings of one validation profile (``quick``, ``here``, ``cluster``).

    Attributes
    ----------
    name : str
    materials : tuple of str
        Bulk materials of the a0 part.
    eos_points : int
    eos_strain : float
        Relative half-width of the EOS scan.
    gamma_layers : tuple of int
        Layer counts of the bare-slab gamma.
    gamma_size : tuple of int
        In-plane size of those slabs.
    ligands : tuple of str
        Ligands of the exchange part.
    binding_size : tuple of int
    binding_layers : int
    stacking : bool
        Run the PEA-PEA stacking part.
    gpaw : dict
        GPAW overrides per alias (``ecut_eV`` in eV, ``kpt_density_A`` per Å⁻¹).
    vacuum_A : float
        Å.
    """
    name: str
    materials: tuple[str, ...]
    eos_points: int
    eos_strain: float
    gamma_layers: tuple[int, ...]
    gamma_size: tuple[int, int]
    ligands: tuple[str, ...]
    binding_size: tuple[int, int]
    binding_layers: int
    stacking: bool
    gpaw: dict[str, dict] = field(default_factory=dict)
    vacuum_A: float = 10.0


PROFILES: dict[str, Profile] = {
    "quick": Profile("quick", ("CsBr", "CsPbBr3"), 5, 0.04, (3, 5), (1, 1), ("IPA",), (1, 1), 3,
                     False, GPAW_QUICK),
    "here": Profile("here", ("CsBr", "CsPbBr3", "CsPbI3"), 5, 0.04, (3, 5, 7), (1, 1),
                    ("IPA", "PEA", "DDA2"), (1, 1), 3, True, GPAW_HERE),
    "cluster": Profile("cluster", ("CsBr", "CsPbBr3", "CsPbI3"), 7, 0.04, (5, 7, 9), (2, 2),
                       ("IPA", "C6A", "PEA"), (2, 2), 5, True, {}, 15.0),
}

#: default calculators of a validation run (the ML default, both xTB, both ML, GPAW)
DEFAULT_CALCULATORS = ("chgnet", "chgnet-d3", "sevennet-d3", "gfn1", "gfn2", "gpaw-pbe-pw",
                       "gpaw-pbe-lcao")


def expand_calculators(names) -> list[str]:
    """Resolve calculator names; every GPAW preset gets its D3 twin (free: D3 is added to the same SCF).

    Parameters
    ----------
    names : iterable of str
        Preset names.

    Returns
    -------
    list of str
    """
    out: list[str] = []
    for n in names:
        p = resolve_calculator(n)
        twins = [p]
        if is_gpaw(p):
            twins = [p.replace("-d3", ""), p.replace("gpaw-pbe-", "gpaw-pbe-d3-").replace("-d3-d3-", "-d3-")]
        for t in twins:
            if t not in out:
                out.append(t)
    return out


def reference_for(kind: str, calculator: str, available: list[str]) -> str | None:
    """The GPAW preset a ``calculator`` is compared with for a system ``kind``.

    Parameters
    ----------
    kind : str
        ``"bulk"`` or ``"slab"``.
    calculator : str
        Preset name.
    available : list of str
        Presets of the run.

    Returns
    -------
    str or None
        None when no reference preset is available.
    """
    d3 = includes_dispersion(calculator)
    order = ["pw", "lcao"] if kind == "bulk" else ["lcao", "pw"]
    for mode in order:
        ref = f"gpaw-pbe-d3-{mode}" if d3 else f"gpaw-pbe-{mode}"
        if ref in available:
            return ref
    return None


@dataclass
class ValidationResult:
    """All tables of a validation run (written as CSV/JSON/Markdown by :func:`run_validation`).

    Attributes
    ----------
    profile : str
        ``"quick"``, ``"here"`` or ``"cluster"``.
    calculators : list of str
    bulk, surface, binding, stacking : list of dict
        Records of each part (:class:`BulkA0Record`, :class:`SurfaceRecord`,
        :class:`BindingRecord`, :class:`StackingRecord` as dicts).
    surface_fit : list of dict
        Per calculator, gamma from the Fiorentini-Methfessel linear fit over its layer counts.
    parity : list of dict
        :func:`parity_rows`.
    summary : list of dict
        :func:`parity_summary`.
    wall_s : float
        s.
    settings : dict
    """
    profile: str
    calculators: list[str]
    bulk: list[dict] = field(default_factory=list)
    surface: list[dict] = field(default_factory=list)
    binding: list[dict] = field(default_factory=list)
    stacking: list[dict] = field(default_factory=list)
    surface_fit: list[dict] = field(default_factory=list)
    parity: list[dict] = field(default_factory=list)
    summary: list[dict] = field(default_factory=list)
    wall_s: float = 0.0
    settings: dict = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """All tables as a plain dict (JSON).

        Returns
        -------
        dict
        """
        return dict(self.__dict__)


def _safe(fn, *args, record_type=None, keys=None, **kw):
    """Run a recipe; a CalculatorError becomes a record with ``error`` (the suite goes on)."""
    try:
        return fn(*args, **kw).as_dict()
    except CalculatorError as exc:
        return {**(keys or {}), "error": str(exc)}


def run_validation(calculators=DEFAULT_CALCULATORS, profile: str = "quick",
                   outdir: str | Path | None = "analysis/validation/run",
                   gpaw_overrides: dict | None = None, geometry_calculator: str = "chgnet-d3",
                   parts: tuple[str, ...] = ("bulk", "surface", "binding", "stacking"),
                   materials: tuple[str, ...] | None = None, log=None) -> ValidationResult:
    """Run a validation profile for some calculators and return (and write) all tables.

    Parameters
    ----------
    calculators : sequence of str, default DEFAULT_CALCULATORS
        Presets or aliases (``gpaw-pw``, ``gpaw-lcao``; their D3 twins are added).
    profile : {"quick", "here", "cluster"}, default "quick"
        System sizes and GPAW settings (:data:`PROFILES`).
    outdir : str or Path, optional
        Output directory (``validation.db``, ``gpaw/``, tables, parity plot); default
        ``analysis/validation/run``.
    gpaw_overrides : dict, optional
        Merged over the profile's GPAW settings, e.g. ``{"gpaw-pw": {"ecut_eV": 250}}`` (eV).
    geometry_calculator : str, default "chgnet-d3"
        Relaxes the exchange and stacking geometries.
    parts : tuple of str, default ("bulk", "surface", "binding", "stacking")
        Parts to run.
    materials : tuple of str, optional
        Restricts the bulk part (default: the profile's).
    log : callable, optional
        Called with progress lines.

    Returns
    -------
    ValidationResult

    Raises
    ------
    surfchem.errors.InputError
        Unknown profile, part or calculator.
    """
    if profile not in PROFILES:
        raise InputError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    bad = [p for p in parts if p not in ("bulk", "surface", "binding", "stacking")]
    if bad:
        raise InputError(f"unknown validation parts {bad}: choose from bulk, surface, binding, stacking")
    prof = PROFILES[profile]
    calcs = expand_calculators(calculators)
    overrides = {k: dict(v) for k, v in prof.gpaw.items()}
    for k, v in (gpaw_overrides or {}).items():
        overrides.setdefault(resolve_calculator(k), {}).update(v)
    for k in list(overrides):  # the D3 twins share their base settings (Evaluator uses the base)
        overrides.setdefault(k.replace("gpaw-pbe-", "gpaw-pbe-d3-"), overrides[k])
    ev = Evaluator(outdir, overrides)
    say = log or (lambda msg: None)
    t0 = time.perf_counter()
    if "bulk" in parts:
        calcs_all = calcs + [c.replace("-lcao", "-pw") for c in calcs
                             if is_gpaw(c) and c.replace("-lcao", "-pw") not in calcs]
    else:
        calcs_all = calcs
    res = ValidationResult(profile, calcs_all, settings={"gpaw_overrides": overrides,
                                                     "geometry_calculator": geometry_calculator,
                                                     "profile": prof.__dict__})
    if "bulk" in parts:
        # GPAW bulk a0 is always plane waves (LCAO on 2-5 atom cells costs 1-3 min per energy
        # here, PW 5-30 s): a requested LCAO preset is replaced by its PW twin for this part
        bulk_calcs = list(dict.fromkeys(c.replace("-lcao", "-pw") if is_gpaw(c) else c for c in calcs))
        for mat in materials or prof.materials:
            for c in bulk_calcs:
                say(f"bulk a0 {mat} {c}")
                res.bulk.append(_safe(_bulk, mat, c, ev, prof, keys={"material": mat, "calculator": c}))
    slab_calcs = [c for c in calcs if not (c.endswith("-pw") and c.replace("-pw", "-lcao") in calcs)]
    if "surface" in parts:
        for layers in prof.gamma_layers:
            for c in slab_calcs:
                say(f"gamma {layers} layers {c}")
                res.surface.append(_safe(surface_gamma, "CsPbBr3", layers, c, ev, size=prof.gamma_size,
                                         vacuum=prof.vacuum_A,
                                         keys={"layers": layers, "calculator": c}))
        res.surface_fit = surface_fits(res.surface)
    if "binding" in parts:
        for lig in prof.ligands:
            say(f"binding geometries {lig}")
            systems = binding_systems(lig, ev, size=prof.binding_size, layers=prof.binding_layers,
                                      vacuum=prof.vacuum_A, geometry_calculator=geometry_calculator)
            for c in slab_calcs:
                say(f"binding {lig} {c}")
                res.binding.append(_safe(ligand_exchange, systems, c, ev,
                                         keys={"ligand": lig, "calculator": c}))
    if "stacking" in parts and prof.stacking:
        say("stacking geometries PEA")
        systems = stacking_systems(ev, "PEA", layers=prof.binding_layers, vacuum=prof.vacuum_A,
                                   geometry_calculator=geometry_calculator)
        for c in slab_calcs:
            say(f"stacking PEA {c}")
            res.stacking.append(_safe(stacking_energy, systems, c, ev, keys={"ligand": "PEA",
                                                                             "calculator": c}))
    res.parity = parity_rows(res)
    res.summary = parity_summary(res.parity)
    res.wall_s = time.perf_counter() - t0
    from ase.parallel import world

    if outdir is not None and world.rank == 0:
        write_tables(res, outdir)
    return res


def surface_fits(surface: list[dict]) -> list[dict]:
    """Per calculator: gamma from the Fiorentini-Methfessel fit over all its layer counts.

    Parameters
    ----------
    surface : list of dict
        Slab records of the surface part (``calculator``, ``layers``, energies; ``error`` if
        failed).

    Returns
    -------
    list of dict
        One per calculator with at least two layer counts (:func:`~surfchem.validate.recipes.gamma_linear_fit`).
    """
    out = []
    ok = [r for r in surface if not r.get("error")]
    for c in dict.fromkeys(r["calculator"] for r in ok):
        recs = sorted((r for r in ok if r["calculator"] == c), key=lambda r: r["layers"])
        if len(recs) >= 2:
            fit = gamma_linear_fit(recs)
            out.append({"calculator": c, "layers": "+".join(str(r["layers"]) for r in recs),
                        "n_atoms": recs[-1]["n_atoms"], "energy_eV": fit["excess_fit_eV"], **fit})
    return out


def _bulk(mat, c, ev, prof):
    return bulk_a0(mat, c, ev, strain=prof.eos_strain, n_points=prof.eos_points, recentre=1)


# -- parity ---------------------------------------------------------------------------------
_QUANTITIES = {
    # table -> (system key, value key, unit, kind, energy key for meV/atom, atoms key)
    "bulk": ("material", "a0_A", "A", "bulk", "energy_eV", "n_atoms"),
    "surface": ("layers", "gamma_meV_A2", "meV/A2", "slab", "energy_eV", "n_atoms"),
    "surface_fit": ("layers", "gamma_fit_meV_A2", "meV/A2", "slab", "energy_eV", "n_atoms"),
    "binding": ("ligand", "exchange_energy_eV", "eV", "slab", "exchange_energy_eV", "n_atoms"),
    "stacking": ("ligand", "stacking_energy_eV", "eV", "slab", "stacking_energy_eV", "n_atoms"),
}


def parity_rows(res: ValidationResult) -> list[dict]:
    """One row per (quantity, system, calculator): value, GPAW reference, error.

    ``error_eV`` is the error of the energy the quantity is made of (a0: none; gamma: the surface
    excess energy 2 A gamma; exchange and stacking: the reaction energy); ``error_meV_atom`` divides
    it by the atoms of the largest structure involved.

    Parameters
    ----------
    res : ValidationResult

    Returns
    -------
    list of dict
        Units named in the keys.
    """
    rows = []
    for table, (skey, vkey, unit, kind, ekey, nkey) in _QUANTITIES.items():
        recs = [r for r in getattr(res, table) if not r.get("error")]
        by = {(r[skey], r["calculator"]): r for r in recs}
        calcs = [c for c in res.calculators if not is_gpaw(c)] + [c for c in res.calculators if is_gpaw(c)]
        for (system, calc), r in sorted(by.items(), key=lambda kv: (str(kv[0][0]), calcs.index(kv[0][1]) if kv[0][1] in calcs else 99)):
            ref = reference_for(kind, calc, [c for (s, c) in by if s == system])
            if ref is None or ref == calc:
                continue
            rr = by[(system, ref)]
            row = {"quantity": vkey, "table": table, "system": f"{table}:{system}", "calculator": calc,
                   "reference": ref, "value": r[vkey], "reference_value": rr[vkey],
                   "error": r[vkey] - rr[vkey], "unit": unit, "n_atoms": r[nkey]}
            if table != "bulk":
                row["error_eV"] = r[ekey] - rr[ekey]
                row["error_meV_atom"] = 1000 * row["error_eV"] / r[nkey]
            else:
                row["error_eV"] = float("nan")
                row["error_meV_atom"] = float("nan")
            rows.append(row)
    return rows


def parity_summary(rows: list[dict]) -> list[dict]:
    """Per calculator and quantity: n, MAE and max |error|.

    Parameters
    ----------
    rows : list of dict
        :func:`parity_rows`.

    Returns
    -------
    list of dict
        Errors in the quantity's own unit (Å, meV/Å², eV), in eV and in meV/atom.
    """
    out = []
    keys = sorted({(r["calculator"], r["quantity"]) for r in rows})
    for calc, q in keys:
        sel = [r for r in rows if r["calculator"] == calc and r["quantity"] == q]
        err = np.array([r["error"] for r in sel], float)
        e_ev = np.array([r["error_eV"] for r in sel], float)
        e_at = np.array([r["error_meV_atom"] for r in sel], float)
        out.append({
            "calculator": calc, "quantity": q, "unit": sel[0]["unit"], "reference": sel[0]["reference"],
            "n": len(sel), "mae": float(np.mean(np.abs(err))), "max_abs_error": float(np.max(np.abs(err))),
            "mean_signed_error": float(np.mean(err)),
            "mae_eV": float(np.mean(np.abs(e_ev))) if np.isfinite(e_ev).all() else float("nan"),
            "max_abs_error_eV": float(np.max(np.abs(e_ev))) if np.isfinite(e_ev).all() else float("nan"),
            "mae_meV_atom": float(np.mean(np.abs(e_at))) if np.isfinite(e_at).all() else float("nan"),
            "max_abs_error_meV_atom": float(np.max(np.abs(e_at))) if np.isfinite(e_at).all() else float("nan"),
        })
    # all energies together (the number that chooses the default)
    for calc in sorted({r["calculator"] for r in rows}):
        sel = [r for r in rows if r["calculator"] == calc and r["table"] not in ("bulk", "surface_fit")]
        if not sel:
            continue
        e_ev = np.array([r["error_eV"] for r in sel], float)
        e_at = np.array([r["error_meV_atom"] for r in sel], float)
        out.append({"calculator": calc, "quantity": "all_energies", "unit": "eV",
                    "reference": "gpaw (see rows)", "n": len(sel),
                    "mae": float(np.mean(np.abs(e_ev))), "max_abs_error": float(np.max(np.abs(e_ev))),
                    "mean_signed_error": float(np.mean(e_ev)),
                    "mae_eV": float(np.mean(np.abs(e_ev))), "max_abs_error_eV": float(np.max(np.abs(e_ev))),
                    "mae_meV_atom": float(np.mean(np.abs(e_at))),
                    "max_abs_error_meV_atom": float(np.max(np.abs(e_at)))})
    return out


def write_tables(res: ValidationResult, outdir: str | Path) -> dict[str, str]:
    """Write the validation tables.

    CSV per table, parity.csv, summary.csv, validation.md and results.json (the figure:
    :func:`surfchem.plot.validate.plot_validation`, drawn by ``surfchem validate``).

    Parameters
    ----------
    res : ValidationResult
        The validation.
    outdir : str or Path
        Output directory.

    Returns
    -------
    dict of str to str
        The written files by name.
    """
    import pandas as pd

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in ("bulk", "surface", "surface_fit", "binding", "stacking", "parity", "summary"):
        rows = getattr(res, name)
        if rows:
            p = out / f"{name}.csv"
            pd.DataFrame(rows).to_csv(p, index=False, float_format="%.10g")
            files[name] = str(p)
    (out / "validation.md").write_text(markdown_tables(res))
    files["markdown"] = str(out / "validation.md")
    p = out / "results.json"
    p.write_text(json.dumps(res.as_dict(), indent=1, default=str))
    files["json"] = str(p)
    return files


def cli_rows(res: ValidationResult) -> list[dict]:
    """Per system and calculator: energy_eV and a0_A where relevant (the CLI's --json rows).

    Parameters
    ----------
    res : ValidationResult
        The validation.

    Returns
    -------
    list of dict
    """
    rows = []
    for r in res.bulk:
        rows.append({"system": f"bulk:{r.get('material')}", "calculator": r.get("calculator"),
                     "energy_eV": r.get("energy_eV"), "a0_A": r.get("a0_A"), "error": r.get("error")})
    for r in res.surface:
        rows.append({"system": f"slab:CsPbBr3:{r.get('size', '')}x{r.get('layers')}", "calculator": r.get("calculator"),
                     "energy_eV": r.get("energy_eV"), "gamma_meV_A2": r.get("gamma_meV_A2"),
                     "error": r.get("error")})
    for r in res.binding:
        rows.append({"system": f"exchange:{r.get('ligand')}", "calculator": r.get("calculator"),
                     "energy_eV": r.get("exchange_energy_eV"), "error": r.get("error")})
    for r in res.stacking:
        rows.append({"system": f"stacking:{r.get('ligand')}", "calculator": r.get("calculator"),
                     "energy_eV": r.get("stacking_energy_eV"), "error": r.get("error")})
    return rows


def _f(x, fmt):
    try:
        return format(float(x), fmt) if x is not None and np.isfinite(float(x)) else "-"
    except (TypeError, ValueError):
        return "-"


def markdown_tables(res: ValidationResult) -> str:
    """a0 per calculator vs experiment / published PBE, gamma, exchange, stacking, parity summary.

    Parameters
    ----------
    res : ValidationResult
        The validation.

    Returns
    -------
    str
        Markdown.
    """
    d = res.as_dict() if not isinstance(res, dict) else res
    lines = [f"# Validation ({d['profile']} profile)", ""]
    bulk = [r for r in d["bulk"] if not r.get("error")]
    if bulk:
        mats = list(dict.fromkeys(r["material"] for r in bulk))
        lines += ["## a0 (Å), EOS fit", "",
                  "| calculator | " + " | ".join(mats) + " |", "|---|" + "---|" * len(mats)]
        for c in dict.fromkeys(r["calculator"] for r in bulk):
            cells = []
            for m in mats:
                hit = [r for r in bulk if r["material"] == m and r["calculator"] == c]
                cells.append(f"{hit[0]['a0_A']:.3f} ({100 * (hit[0]['a0_A'] / hit[0]['a0_expt_A'] - 1):+.1f} %)"
                             if hit else "-")
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
        for key, label in (("a0_expt_A", "experiment"), ("a0_pbe_lit_A", "published PBE")):
            lines.append(f"| *{label}* | " + " | ".join(
                f"{next(r for r in bulk if r['material'] == m)[key]:.2f}" for m in mats) + " |")
        lines.append("")
    for table, key, title in (("surface", "gamma_meV_A2", "gamma of the bare slab (meV/Å², unrelaxed)"),
                              ("binding", "exchange_energy_eV", "Cs+ -> ligand exchange energy (eV)"),
                              ("stacking", "stacking_energy_eV", "ligand-ligand stacking energy (eV)")):
        rows = [r for r in d[table] if not r.get("error")]
        if not rows:
            continue
        if table == "surface" and d.get("surface_fit"):
            fit = {r["calculator"]: r for r in d["surface_fit"]}
            rows = rows + [{"layers": f"fit {r['layers']}", "calculator": c, key: r["gamma_fit_meV_A2"]}
                           for c, r in fit.items()]
        sk = "layers" if table == "surface" else "ligand"
        systems = list(dict.fromkeys(r[sk] for r in rows))
        head = [f"{s} layers" if table == "surface" and isinstance(s, int) else str(s) for s in systems]
        lines += [f"## {title}", "", "| calculator | " + " | ".join(head) + " |",
                  "|---|" + "---|" * len(systems)]
        for c in dict.fromkeys(r["calculator"] for r in rows):
            cells = []
            for s_ in systems:
                hit = [r for r in rows if r[sk] == s_ and r["calculator"] == c]
                cells.append(_f(hit[0][key], ".3f") if hit else "-")
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
        lines.append("")
    if d["summary"]:
        lines += ["## Parity vs GPAW (MAE / max |error|)", "",
                  "| calculator | quantity | reference | n | MAE | max | MAE (eV) | max (eV) | MAE (meV/atom) | max (meV/atom) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in d["summary"]:
            lines.append(f"| {r['calculator']} | {r['quantity']} ({r['unit']}) | {r['reference']} | {r['n']} | "
                         f"{_f(r['mae'], '.3f')} | {_f(r['max_abs_error'], '.3f')} | {_f(r['mae_eV'], '.3f')} | "
                         f"{_f(r['max_abs_error_eV'], '.3f')} | {_f(r['mae_meV_atom'], '.1f')} | "
                         f"{_f(r['max_abs_error_meV_atom'], '.1f')} |")
        lines.append("")
    errs = [r for t in ("bulk", "surface", "binding", "stacking") for r in d[t] if r.get("error")]
    if errs:
        lines += ["## Failed tasks", ""] + [f"- {r.get('calculator')}: {r['error']}" for r in errs] + [""]
    return "\n".join(lines)
