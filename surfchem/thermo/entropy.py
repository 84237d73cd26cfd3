"""Entropy models of a ligand: frozen rotors, conformer ensembles, oscillators, quasi-RRHO.

Everything here is per molecule (eV, eV/K, K, cm^-1); the table-level models that turn these into
``G_corr_eV`` per slab row live in :mod:`surfchem.thermo.models`.

Rotors (model ``rotor``)
    A rotatable torsion is a non-ring single bond between two heavy atoms that each carry at least
    one further heavy neighbour (so CH3 and NH3+ spins, which are threefold-symmetric and create no
    new conformer, are not counted). It is ``sp3-sp3`` when both ends are sp3 (RDKit
    hybridisation); torsions with an sp2/aromatic end (PEA's CH2-phenyl, OAm's allylic C-C) are
    counted separately and only used when asked. Freezing one sp3-sp3 rotor (trans, gauche+,
    gauche- -> one state) costs ``S = R ln 3`` (= 9.13 J/(mol K), T S = 28.2 meV at 298.15 K).
    This is the classic Page-Jencks / Searle-Williams estimate of the conformational entropy
    lost on binding (Searle & Williams, J. Am. Chem. Soc. 114, 10690 (1992)).

Conformer ensemble (model ``conformers``)
    RDKit ETKDGv3 conformers, MMFF94-optimised (optionally re-scored with GFN1/GFN2-xTB single
    points), de-duplicated by the trans/gauche state of every sp3-sp3 rotor (plus the 60-degree
    bin of the other rotors); ``S_conf = -R sum_i p_i ln p_i`` with Boltzmann weights
    ``p_i ~ exp(-E_i / RT)`` over the distinct conformers found. A finite sample finds at most
    ``n_conformers`` of the ``3^n_rotors`` states, so for long chains this is a lower bound; the
    result reports how many were found.

Oscillators (McQuarrie, *Statistical Mechanics*, 2000, ch. 8; Grimme, Chem. Eur. J. 18, 9955
(2012))
    harmonic oscillator of wavenumber nu, x = h c nu / (k T)::

        ZPE = h c nu / 2,   U_th = h c nu / (e^x - 1),   F = ZPE + k T ln(1 - e^-x)
        S_V = k [x / (e^x - 1) - ln(1 - e^-x)]

    free 1D rotor of moment of inertia I (symmetry number 1)::

        S_R = k [1/2 + ln (8 pi^3 I k T / h^2)^(1/2)]

    Grimme's quasi-RRHO entropy replaces S_V of each mode by
    ``w S_V + (1 - w) S_R`` with ``w = 1 / (1 + (nu0 / nu)^4)``, ``nu0 = 100 cm^-1``, and the rotor's
    ``I = mu B_av / (mu + B_av)``, ``mu = h / (8 pi^2 c nu)``, ``B_av = 1e-44 kg m^2``. As in the
    paper only the entropy is interpolated; ZPE and thermal energy stay harmonic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from ase import units

from surfchem.build.ligands import embed_conformers, mol_from_smiles, resolve_ligand
from surfchem.calculators import get_calculator
from surfchem.core.units import C_CM_S, CM1_IN_EV, H_J_S, KB_EV_K, KB_J_K
from surfchem.errors import InputError

#: Grimme's average molecular moment of inertia B_av (kg m^2)
B_AV_KG_M2 = 1.0e-44
#: Grimme's qRRHO cross-over wavenumber (cm^-1) and damping exponent
QRRHO_NU0_CM1 = 100.0
QRRHO_ALPHA = 4
#: entropy of one frozen threefold sp3-sp3 rotor, R ln 3 per molecule (eV/K)
S_ROTOR_EV_K = KB_EV_K * np.log(3.0)


# --------------------------------------------------------------------------------------------
# rotors


@dataclass
class RotorCount:
    """Rotatable torsions of a ligand (heavy-atom indices of the RDKit molecule from SMILES).

    Attributes
    ----------
    name : str
        Ligand name (or the SMILES given).
    smiles : str
        Ammonium SMILES.
    sp3_sp3 : int
        Rotatable sp3-sp3 torsions (three wells each).
    other : int
        Other rotatable torsions (sp2-sp3; two wells each).
    sp3_sp3_bonds : list of tuple of (int, int)
        Heavy-atom pairs of the sp3-sp3 torsions.
    other_bonds : list of tuple of (int, int)
        Heavy-atom pairs of the other torsions.
    """

    name: str
    smiles: str
    sp3_sp3: int
    other: int
    sp3_sp3_bonds: list[tuple[int, int]] = field(default_factory=list)
    other_bonds: list[tuple[int, int]] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The fields as a plain dict.

        Returns
        -------
        dict
        """
        return asdict(self)


def _mol(name_or_smiles: str):
    spec = resolve_ligand(name_or_smiles)
    return spec, mol_from_smiles(spec.smiles)


def _torsion_bonds(mol) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(sp3-sp3, other) rotatable bonds of ``mol`` (with or without explicit H)."""
    from rdkit import Chem

    sp3, other = [], []
    for b in mol.GetBonds():
        if b.GetBondType() != Chem.BondType.SINGLE or b.IsInRing():
            continue
        a1, a2 = b.GetBeginAtom(), b.GetEndAtom()
        if a1.GetAtomicNum() == 1 or a2.GetAtomicNum() == 1:
            continue
        heavy1 = sum(1 for n in a1.GetNeighbors() if n.GetAtomicNum() > 1)
        heavy2 = sum(1 for n in a2.GetNeighbors() if n.GetAtomicNum() > 1)
        if heavy1 < 2 or heavy2 < 2:  # terminal CH3 / NH3+ / halogen: no new conformer
            continue
        pair = (a1.GetIdx(), a2.GetIdx())
        if a1.GetHybridization() == Chem.HybridizationType.SP3 and \
                a2.GetHybridization() == Chem.HybridizationType.SP3:
            sp3.append(pair)
        else:
            other.append(pair)
    return sp3, other


def count_rotors(name_or_smiles: str) -> RotorCount:
    """Count the rotatable torsions of a ligand from its molecular graph (see module docs).

    Parameters
    ----------
    name_or_smiles : str
        Ligand name (:func:`surfchem.build.ligands.resolve_ligand`) or ammonium SMILES.

    Returns
    -------
    RotorCount

    Raises
    ------
    surfchem.errors.InputError
        Unknown ligand name or unparsable SMILES.
    """
    spec, mol = _mol(name_or_smiles)
    sp3, other = _torsion_bonds(mol)
    return RotorCount(spec.name, spec.smiles, len(sp3), len(other), sp3, other)


def rotor_entropy_eV_K(name_or_smiles: str, include_other: bool = False, other_states: int = 2) -> float:
    """Conformational entropy of the free ligand by rotor counting.

    S_conf = n_sp3 R ln 3 (+ n_other R ln ``other_states`` with ``include_other``), per molecule.

    Parameters
    ----------
    name_or_smiles : str
        Ligand name or ammonium SMILES.
    include_other : bool, default False
        Also count sp2-sp3 and other torsions.
    other_states : int, default 2
        States per other torsion.

    Returns
    -------
    float
        eV/K per molecule.
    """
    rc = count_rotors(name_or_smiles)
    s = rc.sp3_sp3 * S_ROTOR_EV_K
    if include_other:
        if other_states < 1:
            raise InputError(f"other_states must be >= 1, got {other_states!r}")
        s += rc.other * KB_EV_K * np.log(other_states)
    return float(s)


# --------------------------------------------------------------------------------------------
# conformer ensemble


@dataclass
class ConformerEnsemble:
    """Boltzmann-weighted conformer ensemble of a free ligand at temperature ``T_K``.

    Attributes
    ----------
    name : str
        Ligand name (or the SMILES given).
    smiles : str
        Ammonium SMILES.
    energies : str
        Energy model of the conformers (``"mmff"``, ``"gfn1"``, ``"gfn2"``).
    T_K : float
        Temperature, K.
    n_embedded : int
        Conformers embedded.
    n_distinct : int
        Distinct rotor states among them.
    n_rotors : int
        Rotatable sp3-sp3 torsions.
    S_conf_eV_K : float
        Conformational entropy, eV/K.
    TS_conf_eV : float
        T S_conf, eV.
    relative_energies_eV : list of float
        Energy of each distinct state above the lowest, eV.
    populations : list of float
        Boltzmann population of each state at ``T_K``.
    """

    name: str
    smiles: str
    energies: str
    T_K: float
    n_embedded: int
    n_distinct: int
    n_rotors: int
    S_conf_eV_K: float
    TS_conf_eV: float
    relative_energies_eV: list[float]
    populations: list[float]

    def as_dict(self) -> dict:
        """The fields as a plain dict.

        Returns
        -------
        dict
        """
        return asdict(self)


def _bin(angle_deg: float, sp3: bool, period: float = 360.0) -> int:
    """trans (0) / gauche+ (1) / gauche- (2) for sp3-sp3; 60-degree bins of the torsion modulo
    ``period`` otherwise (180 for a twofold-symmetric aromatic ring)."""
    a = (angle_deg + 180.0) % 360.0 - 180.0
    if sp3:
        if abs(a) >= 120.0:
            return 0
        return 1 if a > 0 else 2
    return int((angle_deg % period) // 60.0)


def _dihedral_key(mol, conf_id: int, sp3: list, other: list) -> tuple[int, ...]:
    from rdkit.Chem import rdMolTransforms

    conf = mol.GetConformer(conf_id)
    key = []
    for bonds, is_sp3 in ((sp3, True), (other, False)):
        for i, j in bonds:
            a = mol.GetAtomWithIdx(i)
            b = mol.GetAtomWithIdx(j)
            ni = min(n.GetIdx() for n in a.GetNeighbors() if n.GetAtomicNum() > 1 and n.GetIdx() != j)
            nj = min(n.GetIdx() for n in b.GetNeighbors() if n.GetAtomicNum() > 1 and n.GetIdx() != i)
            ring = a.GetIsAromatic() or b.GetIsAromatic()
            key.append(_bin(rdMolTransforms.GetDihedralDeg(conf, ni, i, j, nj), is_sp3,
                            180.0 if ring else 360.0))
    return tuple(key)


def boltzmann_entropy_eV_K(energies_eV: np.ndarray, T_K: float) -> tuple[float, np.ndarray]:
    """Entropy S = -k sum p ln p of distinct states with Boltzmann populations p ~ exp(-E/kT).

    Parameters
    ----------
    energies_eV : numpy.ndarray
        Energy of each distinct state, eV.
    T_K : float
        Temperature, K.

    Returns
    -------
    S : float
        eV/K.
    p : numpy.ndarray
        Populations (sum 1).
    """
    e = np.asarray(energies_eV, float)
    if e.size == 0:
        raise InputError("no conformer energies given")
    if T_K <= 0:
        raise InputError(f"temperature must be > 0 K, got {T_K}")
    w = np.exp(-(e - e.min()) / (KB_EV_K * T_K))
    p = w / w.sum()
    nz = p[p > 0]
    return float(-KB_EV_K * np.sum(nz * np.log(nz))) + 0.0, p  # + 0.0: no "-0.0" for one state


def conformer_ensemble_entropy(
    name_or_smiles: str,
    T_K: float = 298.15,
    n_conformers: int = 300,
    energies: str = "mmff",
    seed: int = 42,
) -> ConformerEnsemble:
    """Conformational entropy of the free ligand cation from an RDKit conformer search.

    The lowest-energy member of each distinct rotor state represents it; S = -k sum p ln p over
    those states (:func:`boltzmann_entropy_eV_K`).

    Parameters
    ----------
    name_or_smiles : str
        Ligand name or ammonium SMILES.
    T_K : float, default 298.15
        Temperature, K.
    n_conformers : int, default 300
        Conformers embedded (ETKDGv3).
    energies : {"mmff", "gfn1", "gfn2"}, default "mmff"
        MMFF94 after optimisation, or tblite single points (charge +1) on the MMFF geometries.
    seed : int, default 42
        Embedding seed.

    Returns
    -------
    ConformerEnsemble
        ``n_embedded``, ``n_distinct`` states, ``S_conf_eV_K``, ``TS_conf_eV``, relative
        energies (eV) and populations.
    """
    from rdkit import Chem

    if energies not in ("mmff", "gfn1", "gfn2"):
        raise InputError(f"energies must be 'mmff', 'gfn1' or 'gfn2', got {energies!r}")
    if n_conformers < 1:
        raise InputError(f"n_conformers must be >= 1, got {n_conformers!r}")
    spec, mol0 = _mol(name_or_smiles)
    sp3, other = _torsion_bonds(mol0)
    mol = Chem.AddHs(mol0)  # AddHs keeps heavy-atom indices
    cids, res = embed_conformers(mol, n_conformers, seed, spec.smiles, max_iters=5000)
    e_kcal = np.array([e for _, e in res], float)
    e_eV = e_kcal * units.kcal / units.mol
    if energies != "mmff":
        from ase import Atoms

        calc = get_calculator(energies, charge=1)
        symbols = [a.GetSymbol() for a in mol.GetAtoms()]
        vals = []
        for cid in cids:
            at = Atoms(symbols, positions=mol.GetConformer(cid).GetPositions())
            at.calc = calc
            vals.append(at.get_potential_energy())
        e_eV = np.array(vals)
    best: dict[tuple[int, ...], float] = {}
    for cid, e in zip(cids, e_eV, strict=True):
        key = _dihedral_key(mol, cid, sp3, other)
        if key not in best or e < best[key]:
            best[key] = float(e)
    e_distinct = np.array(sorted(best.values()))
    s, p = boltzmann_entropy_eV_K(e_distinct, T_K)
    return ConformerEnsemble(
        spec.name, spec.smiles, energies, float(T_K), len(cids), len(best), len(sp3), s, T_K * s,
        (e_distinct - e_distinct.min()).tolist(), p.tolist(),
    )


# --------------------------------------------------------------------------------------------
# oscillators and rotors (per mode; wavenumbers in cm^-1, real and > 0)


def _x(nu_cm1: np.ndarray, T_K: float) -> np.ndarray:
    return np.asarray(nu_cm1, float) * CM1_IN_EV / (KB_EV_K * T_K)


def harmonic_entropy_eV_K(nu_cm1, T_K: float) -> np.ndarray:
    """Harmonic-oscillator entropy per mode, S = k [x / (e^x - 1) - ln(1 - e^-x)], x = h c nu / kT.

    (McQuarrie, Statistical Mechanics (1976), ch. 8.)

    Parameters
    ----------
    nu_cm1 : array_like
        Wavenumbers, cm⁻¹ (real, > 0).
    T_K : float
        Temperature, K.

    Returns
    -------
    numpy.ndarray
        eV/K per mode.
    """
    x = _x(nu_cm1, T_K)
    return KB_EV_K * (x / np.expm1(x) - np.log(-np.expm1(-x)))


def harmonic_zpe_eV(nu_cm1) -> np.ndarray:
    """Zero-point energy h nu / 2 of each mode.

    Parameters
    ----------
    nu_cm1 : array_like
        Harmonic wavenumbers, cm⁻¹.

    Returns
    -------
    numpy.ndarray
        eV per mode.
    """
    return 0.5 * np.asarray(nu_cm1, float) * CM1_IN_EV


def harmonic_thermal_energy_eV(nu_cm1, T_K: float) -> np.ndarray:
    """Thermal vibrational energy above the zero-point energy per mode, h c nu / (e^x - 1).

    Parameters
    ----------
    nu_cm1 : array_like
        Wavenumbers, cm⁻¹.
    T_K : float
        Temperature, K.

    Returns
    -------
    numpy.ndarray
        eV per mode.
    """
    x = _x(nu_cm1, T_K)
    return np.asarray(nu_cm1, float) * CM1_IN_EV / np.expm1(x)


def harmonic_free_energy_eV(nu_cm1, T_K: float) -> np.ndarray:
    """Helmholtz free energy per mode, ZPE included: h c nu / 2 + kT ln(1 - e^-x).

    Parameters
    ----------
    nu_cm1 : array_like
        Wavenumbers, cm⁻¹.
    T_K : float
        Temperature, K.

    Returns
    -------
    numpy.ndarray
        eV per mode.
    """
    x = _x(nu_cm1, T_K)
    return harmonic_zpe_eV(nu_cm1) + KB_EV_K * T_K * np.log(-np.expm1(-x))


def rotor_moment_kg_m2(nu_cm1) -> np.ndarray:
    """Moment of inertia of the free rotor that replaces a soft mode (Grimme, Chem. Eur. J. 18, 9955 (2012)).

    mu = h / (8 pi² nu), damped to mu' = mu B_av / (mu + B_av) with B_av = 1e-44 kg m².

    Parameters
    ----------
    nu_cm1 : array_like
        Wavenumbers, cm⁻¹.

    Returns
    -------
    numpy.ndarray
        kg m² per mode.
    """
    nu_hz = np.asarray(nu_cm1, float) * C_CM_S
    mu = H_J_S / (8 * np.pi**2 * nu_hz)
    return mu * B_AV_KG_M2 / (mu + B_AV_KG_M2)


def free_rotor_entropy_eV_K(moment_kg_m2, T_K: float, sigma: int = 1) -> np.ndarray:
    """Entropy of a 1D free rotor, k [1/2 + ln(sqrt(8 pi³ I k T) / (sigma h))].

    Parameters
    ----------
    moment_kg_m2 : array_like
        Moment of inertia I, kg m².
    T_K : float
        Temperature, K.
    sigma : int, default 1
        Symmetry number.

    Returns
    -------
    numpy.ndarray
        eV/K.
    """
    q = np.sqrt(8 * np.pi**3 * np.asarray(moment_kg_m2, float) * KB_J_K * T_K) / (sigma * H_J_S)
    return KB_EV_K * (0.5 + np.log(q))


def qrrho_weight(nu_cm1, nu0_cm1: float = QRRHO_NU0_CM1, alpha: int = QRRHO_ALPHA) -> np.ndarray:
    """Grimme's damping w = 1 / (1 + (nu0/nu)^alpha): 1 for stiff modes, 0 for soft ones.

    Parameters
    ----------
    nu_cm1 : array_like
        Wavenumbers, cm⁻¹.
    nu0_cm1 : float, default 100.0
        Crossover wavenumber, cm⁻¹.
    alpha : int, default 4
        Steepness.

    Returns
    -------
    numpy.ndarray
    """
    return 1.0 / (1.0 + (nu0_cm1 / np.asarray(nu_cm1, float)) ** alpha)


def qrrho_entropy_eV_K(nu_cm1, T_K: float, nu0_cm1: float = QRRHO_NU0_CM1) -> np.ndarray:
    """Quasi-RRHO entropy per mode: w S_harmonic + (1 - w) S_free-rotor (Grimme, Chem. Eur. J. 18, 9955 (2012)).

    Parameters
    ----------
    nu_cm1 : array_like
        Wavenumbers, cm⁻¹ (real, > 0).
    T_K : float
        Temperature, K.
    nu0_cm1 : float, default 100.0
        Crossover wavenumber of :func:`qrrho_weight`, cm⁻¹.

    Returns
    -------
    numpy.ndarray
        eV/K per mode.
    """
    w = qrrho_weight(nu_cm1, nu0_cm1)
    return w * harmonic_entropy_eV_K(nu_cm1, T_K) + (1 - w) * free_rotor_entropy_eV_K(
        rotor_moment_kg_m2(nu_cm1), T_K)


def _real_modes(nu_cm1) -> np.ndarray:
    nu = np.asarray(nu_cm1, dtype=float).ravel()
    return nu[nu > 0]


@dataclass
class VibThermo:
    """Vibrational thermochemistry of a set of modes at ``T_K``.

    Attributes
    ----------
    T_K : float
        Temperature, K.
    model : str
        ``"qrrho"`` or ``"harmonic"``.
    n_modes : int
        Real modes used.
    n_imaginary : int
        Imaginary modes skipped.
    ZPE_eV : float
        Zero-point energy, eV.
    U_th_eV : float
        Thermal vibrational energy, eV.
    S_vib_eV_K : float
        Vibrational entropy, eV/K.
    F_vib_eV : float
        ZPE + U_th - T S_vib, eV.
    """

    T_K: float
    model: str
    n_modes: int
    n_imaginary: int
    ZPE_eV: float
    U_th_eV: float
    S_vib_eV_K: float
    F_vib_eV: float

    def as_dict(self) -> dict:
        """The fields as a plain dict.

        Returns
        -------
        dict
        """
        return asdict(self)


def vib_thermo(nu_cm1, T_K: float, model: str = "qrrho", nu0_cm1: float = QRRHO_NU0_CM1,
               min_cm1: float = 0.0) -> VibThermo:
    """Vibrational free energy F_vib = ZPE + U_th - T S of the real modes.

    Imaginary (negative) modes are counted and skipped.

    Parameters
    ----------
    nu_cm1 : array_like
        Wavenumbers, cm⁻¹ (negative = imaginary).
    T_K : float
        Temperature, K.
    model : {"qrrho", "harmonic"}, default "qrrho"
        Grimme's quasi-RRHO entropy, or the harmonic formulas of ASE's ``HarmonicThermo``.
    nu0_cm1 : float, default 100.0
        qRRHO crossover, cm⁻¹.
    min_cm1 : float, default 0.0
        Modes below it (but > 0) are also skipped (harmonic S diverges as nu -> 0; qRRHO needs no
        cut-off), cm⁻¹.

    Returns
    -------
    VibThermo
        ``n_modes`` used, ``n_imaginary`` skipped, ``ZPE_eV``, ``U_th_eV``, ``S_vib_eV_K``,
        ``F_vib_eV``.

    Raises
    ------
    surfchem.errors.InputError
        ``T_K <= 0`` or an unknown ``model``.
    """
    if T_K <= 0:
        raise InputError(f"temperature must be > 0 K, got {T_K}")
    if model not in ("harmonic", "qrrho"):
        raise InputError(f"vibrational model must be 'harmonic' or 'qrrho', got {model!r}")
    nu_all = np.asarray(nu_cm1, float).ravel()
    n_imag = int(np.sum(nu_all < 0))
    nu = _real_modes(nu_all)
    nu = nu[nu > min_cm1]
    zpe = float(harmonic_zpe_eV(nu).sum())
    u = float(harmonic_thermal_energy_eV(nu, T_K).sum())
    if model == "harmonic":
        s = float(harmonic_entropy_eV_K(nu, T_K).sum())
    else:
        s = float(qrrho_entropy_eV_K(nu, T_K, nu0_cm1).sum())
    return VibThermo(float(T_K), model, int(nu.size), n_imag, zpe, u, s, zpe + u - T_K * s)


# --------------------------------------------------------------------------------------------
# ideal-gas translations and rotations (McQuarrie ch. 5 and 8; ASE IdealGasThermo)

#: standard pressure, Pa
P_STANDARD_PA = 1.0e5


def trans_rot_free_energy_eV(atoms, T_K: float, pressure_Pa: float = P_STANDARD_PA,
                             symmetry_number: int = 1) -> dict[str, float]:
    """Ideal-gas translational + rotational G = H - T S of a rigid molecule (eV, per molecule).

    ``S_trans = k [ln((2 pi m k T / h^2)^(3/2) k T / p) + 5/2]``;
    nonlinear ``S_rot = k [ln(sqrt(pi I_A I_B I_C) / sigma (8 pi^2 k T / h^2)^(3/2)) + 3/2]``,
    linear ``S_rot = k [ln(8 pi^2 I k T / (sigma h^2)) + 1]``;
    ``H = 5/2 k T (incl. pV) + 3/2 k T`` (nonlinear) or ``+ k T`` (linear). This is the part of
    ASE's :class:`~ase.thermochemistry.IdealGasThermo` beyond the vibrations.

    Parameters
    ----------
    atoms : ase.Atoms
        The molecule (here the free L+ X- ion pair); its periodicity is ignored.
    T_K : float
        Temperature, K.
    pressure_Pa : float, default 1e5
        Pressure of the ideal gas, Pa.
    symmetry_number : int, default 1
        Rotational symmetry number sigma.

    Returns
    -------
    dict of str to float
        ``H_eV``, ``S_eV_K``, ``G_eV``, ``S_trans_eV_K``, ``S_rot_eV_K`` (eV and eV/K).
    """
    amu = 1.66053906660e-27
    atoms = atoms.copy()
    atoms.pbc = False  # a free molecule (an ion pair in its box)
    m = float(np.sum(atoms.get_masses())) * amu
    kT = KB_J_K * T_K
    s_t = np.log((2 * np.pi * m * kT / H_J_S**2) ** 1.5 * kT / pressure_Pa) + 2.5
    inertia = np.sort(np.asarray(atoms.get_moments_of_inertia(), float)) * amu * 1e-20  # amu Å^2 -> kg m^2
    linear = inertia[0] < 1e-3 * inertia[2]
    if linear:
        s_r = np.log(8 * np.pi**2 * inertia[2] * kT / (symmetry_number * H_J_S**2)) + 1.0
        h = 3.5 * KB_EV_K * T_K
    else:
        s_r = np.log(np.sqrt(np.pi * np.prod(inertia)) / symmetry_number
                     * (8 * np.pi**2 * kT / H_J_S**2) ** 1.5) + 1.5
        h = 4.0 * KB_EV_K * T_K
    s = KB_EV_K * (s_t + s_r)
    return {"H_eV": float(h), "S_eV_K": float(s), "G_eV": float(h - T_K * s),
            "S_trans_eV_K": float(KB_EV_K * s_t), "S_rot_eV_K": float(KB_EV_K * s_r)}
