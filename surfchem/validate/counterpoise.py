"""Counterpoise estimate of the basis-set superposition error (BSSE) of an LCAO exchange energy.

In a localised (LCAO) basis, a fragment of a complex borrows its partner's basis functions and is
spuriously stabilised. The Boys-Bernardi counterpoise estimate (Boys and Bernardi, Mol. Phys. 19,
553 (1970)) of that error, for a complex AB at its own geometry, is

    BSSE(AB) = [E_A(basis of AB) - E_A(basis of A)] + [E_B(basis of AB) - E_B(basis of B)]  (<= 0)

where E_A(basis of AB) is fragment A alone with the atoms of B present as ghosts (basis functions,
no nucleus, no electrons; GPAW's ``setups={i: "ghost"}``). Plane waves have no BSSE.

For the exchange reaction of :func:`surfchem.validate.recipes.ligand_exchange`,

    slab(Cs) + n L+X- (ion pair) -> slab(L) + n CsX (bulk),

the ligand is bound to the slab on the right and to its halide on the left, so the
ligand-dependent part of the error is

    BSSE_exch = BSSE(L+ | slab with n vacancies, decorated geometry) - BSSE(L+ | X-, ion pair)

and the counterpoise-corrected exchange energy is dE - BSSE_exch. The Cs+ that moves from the
bare slab into bulk CsX carries a BSSE of its own, the same for every ligand: it shifts all
anchors alike and is not computed here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from ase import Atoms

from surfchem.errors import InputError
from surfchem.validate.engine import CHARGE_KEY, Evaluator, base_preset, is_gpaw, resolve_calculator
from surfchem.validate.recipes import BindingSystems


@dataclass
class CounterpoiseRecord:
    """Counterpoise BSSE of one ligand's exchange reaction (all energies in eV).

    Attributes
    ----------
    ligand : str
    calculator : str
        The LCAO preset (without D3: dispersion has no basis).
    slab_tag : str
        The decorated slab's label (``1x1x3+rb``).
    bsse_complex_eV : float
        BSSE(L+ | slab): the ligands and the slab with their vacancies, decorated geometry.
    bsse_pair_eV : float
        BSSE(L+ | X-) of the ion pair, per ligand.
    n_ligands : int
    wall_s : float
        Time of the single points computed now (cached ones count 0).
    """

    ligand: str
    calculator: str
    slab_tag: str
    bsse_complex_eV: float
    bsse_pair_eV: float
    n_ligands: int
    wall_s: float

    @property
    def bsse_exchange_eV(self) -> float:
        """BSSE_exch = BSSE(complex) - n BSSE(ion pair), eV: the part of the LCAO exchange
        energy that is basis-set superposition (negative = LCAO overbinds the ligand)."""
        return self.bsse_complex_eV - self.n_ligands * self.bsse_pair_eV

    def as_dict(self) -> dict:
        """Plain data, with ``bsse_exchange_eV``.

        Returns
        -------
        dict
        """
        return {**asdict(self), "bsse_exchange_eV": self.bsse_exchange_eV}


def lcao_preset(calculator: str) -> str:
    """The LCAO preset that a counterpoise estimate runs: the base of a ``-d3`` preset.

    Parameters
    ----------
    calculator : str
        A GPAW LCAO preset or alias (``gpaw-pbe-d3-lcao``, ``gpaw-lcao``).

    Returns
    -------
    str
        ``gpaw-pbe-lcao``.

    Raises
    ------
    surfchem.errors.InputError
        Not a GPAW LCAO preset (plane waves have no BSSE; ML potentials have no basis).
    """
    preset = resolve_calculator(calculator)
    base, _ = base_preset(preset)
    if not (is_gpaw(base) and base.endswith("-lcao")):
        raise InputError(f"the counterpoise BSSE needs a GPAW LCAO preset (e.g. 'gpaw-pbe-lcao'), "
                         f"got {calculator!r}: plane waves and ML potentials have no basis-set "
                         "superposition error")
    return base


def fragment_bsse(atoms: Atoms, fragment: np.ndarray, charges: tuple[float, float], calculator: str,
                  ev: Evaluator, system: str = "") -> tuple[float, float]:
    """Boys-Bernardi BSSE of a two-fragment complex at its own geometry.

    Parameters
    ----------
    atoms : ase.Atoms
        The complex (its cell and periodicity are kept for every fragment).
    fragment : numpy.ndarray of int
        Indices of fragment A; fragment B is the rest.
    charges : tuple of float
        Net charges of A and B (e).
    calculator : str
        GPAW LCAO preset (:func:`lcao_preset`).
    ev : Evaluator
        Cached energy evaluator: four single points, each cached by content hash.
    system : str, default ""
        Label for the records.

    Returns
    -------
    tuple of float
        BSSE (eV, <= 0 up to SCF tolerance) and the wall time of the points computed now (s).

    Raises
    ------
    surfchem.errors.InputError
        An empty fragment, or indices out of range.
    """
    calc = lcao_preset(calculator)
    a = np.unique(np.asarray(fragment, dtype=int))
    if len(a) == 0 or len(a) == len(atoms) or a.min() < 0 or a.max() >= len(atoms):
        raise InputError(f"fragment must be a non-empty proper subset of the {len(atoms)} atoms, "
                         f"got {len(a)} indices")
    b = np.setdiff1d(np.arange(len(atoms)), a)
    total, wall = 0.0, 0.0
    for name, own, other, q in (("A", a, b, charges[0]), ("B", b, a, charges[1])):
        alone = atoms[own]
        alone.info[CHARGE_KEY] = float(q)
        ghosted = atoms.copy()
        ghosted.info[CHARGE_KEY] = float(q)
        r0 = ev.energy(alone, calc, f"{system}-{name}")
        r1 = ev.energy(ghosted, calc, f"{system}-{name}+ghost", ghosts=tuple(int(i) for i in other))
        total += r1.energy_eV - r0.energy_eV
        wall += (0.0 if r0.cached else r0.wall_s) + (0.0 if r1.cached else r1.wall_s)
    return total, wall


def exchange_bsse(systems: BindingSystems, ev: Evaluator,
                  calculator: str = "gpaw-pbe-lcao") -> CounterpoiseRecord:
    """Counterpoise BSSE of a ligand's exchange energy (module docstring): complex and ion pair.

    Parameters
    ----------
    systems : BindingSystems
        From :func:`surfchem.validate.recipes.binding_systems` (the decorated slab carries the
        per-atom ``ligand_index``; the ion pair's halide is its one halogen atom).
    ev : Evaluator
        Cached energy evaluator (use the anchors' settings, e.g. ``overrides=GPAW_HERE``).
    calculator : str, default "gpaw-pbe-lcao"
        GPAW LCAO preset (a ``-d3`` preset is run without its D3 term).

    Returns
    -------
    CounterpoiseRecord

    Examples
    --------
    >>> sys_ = binding_systems("IPA", ev, relax_bare=True)  # doctest: +SKIP
    >>> exchange_bsse(sys_, ev).bsse_exchange_eV             # doctest: +SKIP
    """
    calc = lcao_preset(calculator)
    lig, cation, n = exchange_fragments(systems)
    b_complex, w1 = fragment_bsse(systems.decorated, lig, (float(n), -float(n)), calc, ev,
                                  f"{systems.ligand}-on-{systems.slab_tag}-cp")
    b_pair, w2 = fragment_bsse(systems.ion_pair, cation, (1.0, -1.0), calc, ev, f"{systems.ligand}-ionpair-cp")
    return CounterpoiseRecord(systems.ligand, calc, systems.slab_tag, b_complex, b_pair, n, w1 + w2)


def exchange_fragments(systems: BindingSystems) -> tuple[np.ndarray, np.ndarray, int]:
    """The counterpoise fragments of an exchange reaction.

    Parameters
    ----------
    systems : BindingSystems
        From :func:`surfchem.validate.recipes.binding_systems`.

    Returns
    -------
    tuple
        Indices of the ligand atoms in the decorated slab (per-atom ``ligand_index`` >= 0), of the
        cation in the ion pair (all but its halide, the last atom), and the number of ligands.

    Raises
    ------
    surfchem.errors.InputError
        The decorated slab has no ligand, or the ion pair's last atom is not its halide.
    """
    dec, pair = systems.decorated, systems.ion_pair
    if "ligand_index" not in dec.arrays:
        raise InputError("the decorated slab has no per-atom 'ligand_index' (build it with decorate())")
    lig = np.flatnonzero(dec.get_array("ligand_index") >= 0)
    if len(lig) == 0:
        raise InputError(f"the decorated slab of {systems.ligand} holds no ligand atom")
    halide = pair.info.get("halide")
    last = pair[len(pair) - 1].symbol
    if last not in ("F", "Cl", "Br", "I") or (halide and last != halide):
        raise InputError(f"the ion pair of {systems.ligand} should end with its halide "
                         f"({halide or 'a halogen'}), found {last}; build it with ion_pair()")
    return lig, np.arange(len(pair) - 1), int(systems.n_ligands)
