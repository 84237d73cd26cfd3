"""Compute per-ligand DFT anchors (:class:`surfchem.thermo.anchors.Anchor`) with the validation recipes.

An anchor is the exchange reaction of :func:`surfchem.validate.recipes.ligand_exchange` on a small
slab (default one ligand on the 1x1, 3-layer CsBr-terminated slab) against the relaxed bare slab
(as in the screen), all geometries relaxed with the ML calculator, energies with the ML and the
DFT calculator on the same geometries. The relaxed bare slab matters: against a bulk-terminated
one each calculator's exchange energy carries its own framework relaxation, and the anchor
fitted that way does not carry over to the 2x2 slab (measured, ``docs/anchors.md``). Every single
point is cached by content hash in the evaluator's store, so a rerun costs nothing and a killed
run resumes.

Measured here (GPAW PBE+D3 LCAO dzp against CHGNet+D3, 1x1x3): 15-40 s of GPAW per ligand on
one core; the whole scheme and its held-out validation are in ``docs/anchors.md``.
"""

from __future__ import annotations

from surfchem.build.ligands import resolve_ligand
from surfchem.core.hashing import task_hash
from surfchem.errors import CalculatorError, InputError
from surfchem.thermo.anchors import Anchor
from surfchem.validate.engine import Evaluator, base_preset, resolve_calculator
from surfchem.validate.recipes import binding_systems, ligand_exchange
from surfchem.validate.suite import GPAW_HERE

#: the anchor's slab: one ligand on the 1x1 in-plane cell, 3 layers (cheap enough for GPAW on
#: a workstation: 20-29 atoms for IPA, PEA, DDA2); bulkier ligands take the next size that fits
ANCHOR_SIZES: tuple[tuple[int, int], ...] = ((1, 1), (2, 1), (2, 2))
ANCHOR_LAYERS = 3
#: version of the anchor protocol, part of an anchor task's key (2: against the relaxed bare slab)
ANCHOR_PROTOCOL = 2


def anchor_parameters(dft: str, params: dict | None = None) -> dict:
    """The DFT parameters of an anchor: ``params`` if given, else the validation's ``here`` settings
    of the DFT preset (:data:`surfchem.validate.suite.GPAW_HERE`: plane waves 400 eV with k-point
    density 3 Å; LCAO dzp, h = 0.22 Å, k-point density 2 Å), so an anchor is the validation's
    exchange measurement.

    Parameters
    ----------
    dft : str
        DFT preset (a ``-d3`` preset takes its base preset's settings).
    params : dict, optional
        Explicit overrides.

    Returns
    -------
    dict
    """
    if params is not None:
        return dict(params)
    return dict(GPAW_HERE.get(base_preset(resolve_calculator(dft))[0], {}))


def ligand_anchor(ligand: str, ev: Evaluator, ml: str = "chgnet-d3", dft: str = "gpaw-pbe-d3-pw",
                  material: str = "CsPbBr3", size: tuple[int, int] | None = None,
                  layers: int = ANCHOR_LAYERS, vacuum: float = 10.0) -> Anchor:
    """The anchor of one ligand: E_exch(DFT) and E_exch(ML) on the same small-slab geometries.

    Parameters
    ----------
    ligand : str
        Ligand name or SMILES (:func:`surfchem.build.ligands.resolve_ligand`).
    ev : Evaluator
        Cached energy evaluator (its overrides set the GPAW parameters; they enter the hash).
    ml : str, default "chgnet-d3"
        The screen's ML preset; it also relaxes the geometries.
    dft : str, default "gpaw-pbe-d3-pw"
        The DFT preset (or validation alias, e.g. ``gpaw-d3-lcao``).
    material : str, default "CsPbBr3"
    size : tuple of int, optional
        In-plane size of the anchor slab; default: the first of :data:`ANCHOR_SIZES` on which the
        ligand fits (one that overlaps its own periodic image is skipped).
    layers : int, default 3
    vacuum : float, default 10.0
        Å.

    Returns
    -------
    Anchor
        ``delta_eV`` = E_exch(DFT) - E_exch(ML), eV.

    Raises
    ------
    surfchem.errors.InputError
        The ligand fits none of the sizes, or ``dft`` is the ML preset itself.
    surfchem.errors.CalculatorError
        A calculation failed (e.g. the SCF did not converge; the message names the log file).

    Examples
    --------
    A real anchor needs GPAW (the default plane waves: 10-25 min per ligand on one core here;
    ``dft="gpaw-pbe-d3-lcao"``: a few minutes, but 0.9-1.25 eV overbound); the same
    machinery measures any calculator pair, e.g. what D3 adds to CHGNet's exchange energy:

    >>> from surfchem.validate import Evaluator
    >>> a = ligand_anchor("MA", Evaluator(), ml="chgnet", dft="chgnet-d3")  # doctest: +SKIP
    >>> a.system, a.delta_eV < 0  # doctest: +SKIP
    ('1x1x3', True)
    """
    ml, dft = resolve_calculator(ml), resolve_calculator(dft)
    if ml == dft:
        raise InputError(f"an anchor compares two calculators; got {ml!r} twice")
    spec = resolve_ligand(ligand)
    sizes = (tuple(size),) if size is not None else ANCHOR_SIZES
    systems, why = None, []
    for sz in sizes:
        try:
            systems = binding_systems(spec.name if spec.name else ligand, ev, material=material, size=sz,
                                      layers=layers, vacuum=vacuum, geometry_calculator=ml, relax_bare=True)
            break
        except InputError as exc:  # the ligand does not fit this cell: try the next size
            why.append(f"{sz[0]}x{sz[1]}: {exc}")
    if systems is None:
        raise InputError(f"ligand {ligand!r} fits none of the anchor slabs: " + "; ".join(why))
    rec_ml = ligand_exchange(systems, ml, ev)
    rec_dft = ligand_exchange(systems, dft, ev)
    for r in (rec_ml, rec_dft):
        if r.error:  # pragma: no cover - ligand_exchange raises; records from the suite may not
            raise CalculatorError(f"anchor of {ligand} with {r.calculator}: {r.error}")
    key = task_hash(systems.decorated, {"ml": ev.params(ml), "dft": ev.params(dft)},
                    {"kind": "anchor", "ion_pair": task_hash(systems.ion_pair, {}, {}),
                     "bare": task_hash(systems.bare, {}, {}), "protocol": ANCHOR_PROTOCOL})
    return Anchor(ligand=spec.name, smiles=spec.smiles, exchange_ml_eV=rec_ml.exchange_energy_eV,
                  exchange_dft_eV=rec_dft.exchange_energy_eV, ml=ml, dft=dft, system=systems.slab_tag,
                  n_atoms=len(systems.decorated), key=key)
