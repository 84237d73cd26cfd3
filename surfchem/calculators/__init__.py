"""Calculator presets: a name -> ASE calculator factory registry, from fast to accurate.

=========================  ===========================================================  =============
preset                     what                                                         package
=========================  ===========================================================  =============
``chgnet``                 CHGNet 0.3.0 universal ML potential (weights ship in wheel)  chgnet
``chgnet-d3``              CHGNet + D3(BJ) dispersion, PBE parameters (**default**)     chgnet, dftd3
``chgnet-r2scan``          CHGNet r2SCAN (``r2scan``: 0.3.0 transfer-learned on         chgnet>=0.4.1
                           MP-r2SCAN; weights ship in the wheel)
``chgnet-r2scan-d3``       the same + D3(BJ) with r2SCAN parameters                     chgnet, dftd3
``sevennet``               SevenNet-0 (``7net-0``, weights ship in the wheel)           sevenn
``sevennet-d3``            SevenNet-0 + D3(BJ)                                          sevenn, dftd3
``sevennet-l3i5``          SevenNet ``7net-l3i5`` (l_max 3, 5 interaction layers,       sevenn
                           MPtrj, PBE(+U); ships in the wheel)
``sevennet-l3i5-d3``       the same + D3(BJ), PBE parameters                            sevenn, dftd3
``sevennet-mf-pbe``        SevenNet multi-fidelity ``7net-mf-0``, modality ``PBE``      sevenn>=0.11
                           (MPtrj fidelity; ships in the wheel)
``sevennet-mf-pbe-d3``     the same + D3(BJ), PBE parameters                            sevenn, dftd3
``sevennet-mf-r2scan``     ``7net-mf-0``, modality ``R2SCAN`` (MP-r2SCAN fidelity)      sevenn>=0.11
``sevennet-mf-r2scan-d3``  the same + D3(BJ) with r2SCAN parameters                     sevenn, dftd3
``gfn1`` / ``gfn2``        GFN1-/GFN2-xTB tight binding                                 tblite
``gpaw-pbe-lcao``          GPAW PBE, LCAO dzp, Fermi-Dirac 0.05 eV, k density 3.5 Å     gpaw
                           (slab reference; settings in :data:`GPAW_DEFAULTS`)
``gpaw-pbe-d3-lcao``       the same + D3(BJ)                                            gpaw, dftd3
``gpaw-pbe-pw``            GPAW PBE, plane waves 400 eV (bulk reference)                gpaw
``gpaw-pbe-d3-pw``         the same + D3(BJ)                                            gpaw, dftd3
``emt``                    ASE EMT: toy metals only (framework tests and benchmarks)    ase
=========================  ===========================================================  =============

CHGNet 0.3.0, SevenNet-0, ``7net-l3i5`` and the ``PBE`` modality of ``7net-mf-0`` were fitted to
PBE(+U) Materials Project data, so their D3(BJ) uses the PBE damping parameters (Grimme et al.,
J. Comput. Chem. 32, 1456 (2011)); the r2SCAN models (``chgnet-r2scan``, ``sevennet-mf-r2scan``)
get the r2SCAN D3(BJ) parameters of the same ``dftd3`` package (simple-dftd3, ``method="r2scan"``:
Ehlert et al., J. Chem. Phys. 154, 061101 (2021)), recorded as ``d3_method`` in their parameters.
All ML weights ship in the installed wheels (no download; checked with the network blocked).
Any ASE calculator object is accepted wherever a preset name is.

Each preset's parameters are recorded (:func:`preset_parameters`) in every result and in the
content hash of a task. Heavy packages are imported inside the factories.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from surfchem.errors import CalculatorError, InputError

#: the embedded default: works offline (weights ship in the chgnet wheel), 0.1-0.2 s per force
#: call on the 48-atom slab on 2 cores. See docs "Calculators and validation" for the choice.
DEFAULT_PRESET = "chgnet-d3"


@dataclass(frozen=True)
class Preset:
    """A named calculator recipe of the registry :data:`PRESETS`.

    Attributes
    ----------
    name : str
        Preset name (``"chgnet-d3"``).
    factory : callable
        Builds the ASE calculator from the parameters.
    params : dict
        Default parameters (recorded in every result and in task hashes).
    d3 : bool
        Whether D3(BJ) dispersion is added (damping parameters of ``params["d3_method"]``,
        default PBE).
    description : str
        One line for listings.
    cost_rank : int
        0 = fastest; used to order calculators from fast to accurate.
    """
    name: str
    factory: Callable[..., Any]
    params: dict[str, Any] = field(default_factory=dict)
    d3: bool = False
    description: str = ""
    cost_rank: int = 0  # 0 fastest


#: D3 defaults of every ``-d3`` preset unless its parameters say otherwise (the r2SCAN models set
#: ``d3_method="r2scan"``)
D3_DEFAULTS: dict[str, str] = {"d3_method": "PBE", "d3_damping": "d3bj"}


def d3_settings(params: dict[str, Any]) -> dict[str, str]:
    """The D3 keys of a preset's parameter dict, defaults filled in (:data:`D3_DEFAULTS`).

    Parameters
    ----------
    params : dict
        A preset's parameters (:func:`preset_parameters`).

    Returns
    -------
    dict of str to str
        ``d3_method`` and ``d3_damping``.
    """
    return {k: str(params.get(k, v)) for k, v in D3_DEFAULTS.items()}


def d3_calculator(d3_method: str = D3_DEFAULTS["d3_method"],
                  d3_damping: str = D3_DEFAULTS["d3_damping"], **kw):
    """Grimme's D3 dispersion as an ASE calculator (``dftd3`` package), to add to another one.

    Parameters
    ----------
    d3_method : str, default "PBE"
        Functional the damping parameters belong to.
    d3_damping : str, default "d3bj"
        Damping function (Becke-Johnson).
    **kw
        Other keys are ignored (a preset's full parameter dict may be passed).

    Returns
    -------
    dftd3.ase.DFTD3

    Raises
    ------
    surfchem.errors.CalculatorError
        The ``dftd3`` package is not installed.
    """
    try:
        from dftd3.ase import DFTD3
    except ImportError as exc:  # pragma: no cover - install problem
        raise CalculatorError("D3 dispersion needs the 'dftd3' package: pip install dftd3") from exc
    return DFTD3(method=d3_method, damping=d3_damping)


def _torch_threads(threads: int | None) -> None:
    """Set torch's intra-op thread count (process-wide). We default to 1: measured here, a 2-thread
    pool on a 2-core machine that is also running other work makes CHGNet force calls 10-30x
    slower (4.5-16 s instead of 0.46 s for 35 atoms); parallelism comes from campaign workers."""
    if threads:
        import torch

        torch.set_num_threads(int(threads))


def _chgnet(model: str, device: str = "cpu", torch_threads: int | None = 1, **_):
    _torch_threads(torch_threads)
    try:
        from chgnet.model import CHGNet
        from chgnet.model.dynamics import CHGNetCalculator
    except ImportError as exc:
        raise CalculatorError(f"CHGNet model {model!r} needs the 'chgnet' package: "
                              "pip install 'chgnet>=0.4.1'") from exc
    import contextlib
    import io
    import warnings

    class StressOnDemandCHGNet(CHGNetCalculator):
        """CHGNet's ASE calculator, computing the stress only when it is asked for.

        ``CHGNetCalculator.calculate`` runs task ``"efsm"`` for every property, so each force
        call pays a second backward pass (d E / d strain) that a fixed-cell relaxation never
        reads. Measured on a 184-atom DDA4 slab, one torch thread: 0.75 s per force call for
        ``"ef"`` against 1.25 s for ``"efsm"``, with identical energies and forces.
        """

        def calculate(self, atoms=None, properties=None, system_changes=None, task=None):
            if task is None:
                task = "efsm" if properties is None or "stress" in properties else "ef"
            with warnings.catch_warnings():  # chgnet's model.py turns the cell volumes into a
                warnings.filterwarnings(  # tensor with torch.tensor(...): a harmless UserWarning
                    "ignore", message="Converting a tensor with requires_grad=True", category=UserWarning)
                super().calculate(atoms, properties, system_changes, task=task)

    with contextlib.redirect_stdout(io.StringIO()):
        mdl = CHGNet.load(model_name=model, use_device=device, verbose=False)
        return StressOnDemandCHGNet(model=mdl, use_device=device)


def _sevennet(model: str, modal: str | None = None, device: str = "cpu",
              torch_threads: int | None = 1, **_):
    """SevenNet calculator; ``modal`` selects the fidelity of a multi-fidelity model
    (``7net-mf-0``: ``"PBE"`` or ``"R2SCAN"``; sevenn's ``SevenNetCalculator(modal=...)``)."""
    _torch_threads(torch_threads)
    try:
        from sevenn.calculator import SevenNetCalculator
    except ImportError as exc:
        raise CalculatorError(f"SevenNet model {model!r} needs the 'sevenn' package: "
                              "pip install 'sevenn>=0.11'") from exc
    return SevenNetCalculator(model, device=device, modal=modal)


def _tblite(method: str = "GFN2-xTB", **kw):
    try:
        from tblite.ase import TBLite
    except ImportError as exc:  # pragma: no cover
        raise CalculatorError("presets gfn1/gfn2 need the 'tblite' package: pip install tblite") from exc
    kw = {k: v for k, v in kw.items() if not k.startswith("d3_")}
    return TBLite(method=method, verbosity=0, **kw)


#: GPAW reference settings, in one place (every key is overridable: ``get_calculator(
#: "gpaw-pbe-pw", ecut_eV=300, kpt_density_A=2.0)``). Choices and why:
#:
#: - ``xc``: PBE (Perdew, Burke, Ernzerhof, PRL 77, 3865 (1996)); D3(BJ) is added outside GPAW
#:   by the ``-d3`` presets (``dftd3`` package, PBE damping parameters), so PBE and PBE+D3 share
#:   one SCF and ``E(PBE+D3) = E(PBE) + E(D3)`` exactly.
#: - ``ecut_eV`` (PW mode, bulk): 400 eV. Measured on CsPbBr3 (``surfchem.validate.
#:   convergence_scan``, table in analysis/validation/convergence/): 300/400 eV are 108/16
#:   meV/atom above 500 eV in total energy, but a0 moves by < 0.003 Å (energy differences
#:   converge much faster than total energies); use 500 eV for absolute energies.
#: - ``basis`` (LCAO mode, slabs): ``dzp`` double-zeta polarised (the only basis gpaw-data
#:   ships; others need ``gpaw basis`` generation first).
#: - ``h_A``: real-space grid spacing 0.2 Å (LCAO density/potential grid).
#: - ``kpt_density_A``: Monkhorst-Pack density in k-points per Å^-1 (ASE convention: n_i =
#:   ceil(2 pi density / a_i)), Gamma-centred; 3.5 gives 4x4x4 for CsPbBr3 (a = 5.87 Å),
#:   6x6x6 for CsBr, 1 k-point along a vacuum direction of >= 22 Å. CsPbBr3 a0 with 4x4x4 is
#:   within 0.008 Å of 6x6x6 (3x3x3: -0.027 Å).
#: - ``smearing_eV``: Fermi-Dirac 0.05 eV (energies are extrapolated to zero width by GPAW).
#: - ``convergence``: energy 5e-4 eV/valence electron, density 1e-4 electrons/electron,
#:   ``maxiter`` 333 SCF iterations; not converging raises ``gpaw.KohnShamConvergenceError``,
#:   which :func:`surfchem.relax.single_point` and ``surfchem.validate`` turn into
#:   :class:`~surfchem.errors.CalculatorError` (the campaign layer records it per task).
#: - spin: none (closed-shell halides and ammonium cations), ``spinpol=False``.
#: - **Spin-orbit coupling is out of scope.** SOC lowers the Pb-6p conduction band by ~1 eV in
#:   lead halides (band gaps) but changes total-energy differences such as a0, gamma and binding
#:   energies far less; it is not applied anywhere in surfchem.
GPAW_DEFAULTS: dict[str, Any] = {
    "xc": "PBE",
    "ecut_eV": 400.0,
    "basis": "dzp",
    "h_A": 0.2,
    "kpt_density_A": 3.5,
    "smearing_eV": 0.05,
    "convergence": {"energy": 5e-4, "density": 1e-4},
    "maxiter": 333,
}


def _gpaw(mode: str = "lcao", ecut_eV: float = GPAW_DEFAULTS["ecut_eV"],
          basis: str = GPAW_DEFAULTS["basis"], xc: str = GPAW_DEFAULTS["xc"],
          kpt_density_A: float = GPAW_DEFAULTS["kpt_density_A"],
          smearing_eV: float = GPAW_DEFAULTS["smearing_eV"], txt: str | None = None,
          convergence: dict | None = None, maxiter: int = GPAW_DEFAULTS["maxiter"],
          h_A: float | None = GPAW_DEFAULTS["h_A"], kpts: Any = None, charge: float = 0.0,
          parallel: dict | None = None, ghosts: Any = None, **_):
    """GPAW calculator (see :data:`GPAW_DEFAULTS`). ``kpts`` (e.g. ``(2, 2, 1)``) overrides the
    density; ``parallel`` is passed through for MPI runs (serial here, ``gpaw -P N python`` or
    ``mpiexec`` on a cluster: the same code path); ``ghosts`` lists atom indices that carry only
    their basis functions (GPAW's ``setups={i: "ghost"}``: no nucleus, no electrons), the
    counterpoise correction of LCAO (:mod:`surfchem.validate.counterpoise`)."""
    try:
        from gpaw import GPAW, PW, FermiDirac
    except ImportError as exc:  # pragma: no cover
        raise CalculatorError("GPAW presets need gpaw (see install.sh: CC=g++ pip install gpaw)") from exc
    if maxiter < 1:
        raise InputError(f"GPAW maxiter must be >= 1 SCF iterations, got {maxiter}")
    kwargs: dict[str, Any] = dict(
        xc=xc,
        kpts=kpts if kpts is not None else {"density": kpt_density_A, "gamma": True},
        occupations=FermiDirac(smearing_eV),
        txt=txt,
        maxiter=maxiter,
        convergence=convergence or dict(GPAW_DEFAULTS["convergence"]),
    )
    if charge:
        kwargs["charge"] = charge
    if parallel:
        kwargs["parallel"] = parallel
    if ghosts:
        kwargs["setups"] = {int(i): "ghost" for i in ghosts}
    if mode == "pw":
        kwargs["mode"] = PW(ecut_eV)
    elif mode == "lcao":
        kwargs["mode"] = "lcao"
        kwargs["basis"] = basis
        if h_A:
            kwargs["h"] = h_A
    else:
        raise InputError(f"GPAW mode must be 'pw' or 'lcao', got {mode!r}")
    return GPAW(**kwargs)


def _emt(**_):
    from ase.calculators.emt import EMT

    return EMT()


#: D3(BJ) damping parameters of the r2SCAN-fitted models (simple-dftd3's ``method="r2scan"``)
_D3_R2SCAN = {"d3_method": "r2scan"}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset("chgnet", _chgnet, {"model": "0.3.0"}, False, "CHGNet universal potential", 0),
        Preset("chgnet-d3", _chgnet, {"model": "0.3.0"}, True, "CHGNet + D3(BJ)", 0),
        Preset("chgnet-r2scan", _chgnet, {"model": "r2scan"}, False,
               "CHGNet r2SCAN (transfer-learned on MP-r2SCAN)", 0),
        Preset("chgnet-r2scan-d3", _chgnet, {"model": "r2scan", **_D3_R2SCAN}, True,
               "CHGNet r2SCAN + D3(BJ, r2SCAN parameters)", 0),
        Preset("sevennet", _sevennet, {"model": "7net-0"}, False, "SevenNet-0", 0),
        Preset("sevennet-d3", _sevennet, {"model": "7net-0"}, True, "SevenNet-0 + D3(BJ)", 0),
        Preset("sevennet-l3i5", _sevennet, {"model": "7net-l3i5"}, False, "SevenNet-l3i5", 0),
        Preset("sevennet-l3i5-d3", _sevennet, {"model": "7net-l3i5"}, True,
               "SevenNet-l3i5 + D3(BJ)", 0),
        Preset("sevennet-mf-pbe", _sevennet, {"model": "7net-mf-0", "modal": "PBE"}, False,
               "SevenNet-MF-0, PBE modality", 0),
        Preset("sevennet-mf-pbe-d3", _sevennet, {"model": "7net-mf-0", "modal": "PBE"}, True,
               "SevenNet-MF-0, PBE modality + D3(BJ)", 0),
        Preset("sevennet-mf-r2scan", _sevennet, {"model": "7net-mf-0", "modal": "R2SCAN"}, False,
               "SevenNet-MF-0, r2SCAN modality", 0),
        Preset("sevennet-mf-r2scan-d3", _sevennet,
               {"model": "7net-mf-0", "modal": "R2SCAN", **_D3_R2SCAN}, True,
               "SevenNet-MF-0, r2SCAN modality + D3(BJ, r2SCAN parameters)", 0),
        Preset("gfn1", _tblite, {"method": "GFN1-xTB", "mixer_damping": 0.1, "max_iterations": 500},
               False, "GFN1-xTB (damped mixer: converges with ligands on the slab)", 1),
        Preset("gfn2", _tblite, {"method": "GFN2-xTB", "max_iterations": 250}, False, "GFN2-xTB", 1),
        Preset("gpaw-pbe-lcao", _gpaw, {"mode": "lcao", "basis": "dzp"}, False, "GPAW PBE LCAO dzp", 2),
        Preset("gpaw-pbe-d3-lcao", _gpaw, {"mode": "lcao", "basis": "dzp"}, True,
               "GPAW PBE LCAO dzp + D3(BJ)", 2),
        Preset("gpaw-pbe-pw", _gpaw, {"mode": "pw", "ecut_eV": 400.0}, False, "GPAW PBE PW 400 eV", 3),
        Preset("gpaw-pbe-d3-pw", _gpaw, {"mode": "pw", "ecut_eV": 400.0}, True,
               "GPAW PBE PW 400 eV + D3(BJ)", 3),
        Preset("emt", _emt, {}, False, "ASE EMT (toy metals only: tests and overhead benchmarks)", 0),
    ]
}


def get_preset(name: str) -> Preset:
    """Look up a calculator preset by name (case-insensitive).

    Parameters
    ----------
    name : str
        A key of :data:`PRESETS`.

    Returns
    -------
    Preset

    Raises
    ------
    surfchem.errors.InputError
        Unknown name (the message lists the presets).
    """
    try:
        return PRESETS[name.lower()]
    except (KeyError, AttributeError):
        raise InputError(
            f"unknown calculator preset {name!r}; choose one of: {', '.join(PRESETS)}"
        ) from None


def preset_parameters(calculator: Any, **overrides: Any) -> dict[str, Any]:
    """Plain-data description of a calculator (recorded in results and hashed).

    Parameters
    ----------
    calculator : str or ase.calculators.calculator.Calculator
        Preset name or calculator object.
    **overrides
        Parameter overrides of a preset (as passed to :func:`get_calculator`).

    Returns
    -------
    dict
        For a preset: ``{"preset": name, "d3": bool, **params, **overrides}``; for a calculator
        object: its class name, ``"d3": False`` and its scalar ``parameters``.
    """
    if isinstance(calculator, str):
        p = get_preset(calculator)
        params = {**copy.deepcopy(p.params), **overrides}
        return {"preset": p.name, "d3": p.d3, **params}
    params = getattr(calculator, "parameters", {}) or {}
    return {"preset": type(calculator).__name__, "d3": False,
            **{k: v for k, v in dict(params).items() if isinstance(v, str | int | float | bool)}}


def calculator_name(calculator: Any) -> str:
    """Name of a calculator for records: the preset name, or the class name of an object.

    Parameters
    ----------
    calculator : str or ase.calculators.calculator.Calculator

    Returns
    -------
    str
    """
    return calculator if isinstance(calculator, str) else type(calculator).__name__


def get_calculator(calculator: Any = DEFAULT_PRESET, **overrides: Any):
    """An ASE calculator from a preset name (with parameter overrides), or a calculator object as is.

    Presets with ``-d3`` return an ASE ``SumCalculator`` of the method and D3(BJ) (``dftd3``).
    Heavy packages (torch, tblite, GPAW) are imported here, not at ``import surfchem``.

    Parameters
    ----------
    calculator : str or ase.calculators.calculator.Calculator, default "chgnet-d3"
        A preset of :data:`PRESETS` (table in the module docstring) or any ASE calculator.
    **overrides
        Preset parameters, e.g. ``ecut_eV`` (eV) or ``kpt_density_A`` (k-points per Å⁻¹) for
        GPAW (:data:`GPAW_DEFAULTS`), ``torch_threads`` (default 1) for the ML potentials,
        ``txt`` for a GPAW log.

    Returns
    -------
    ase.calculators.calculator.Calculator

    Raises
    ------
    surfchem.errors.InputError
        Unknown preset, or an object that is no calculator.
    surfchem.errors.CalculatorError
        The preset's package is not installed.

    Examples
    --------
    >>> from surfchem import get_calculator
    >>> calc = get_calculator("gfn2")  # doctest: +SKIP
    >>> calc = get_calculator("gpaw-pbe-pw", ecut_eV=300, txt="out.txt")  # doctest: +SKIP
    """
    if not isinstance(calculator, str):
        if not hasattr(calculator, "get_potential_energy") and not hasattr(calculator, "calculate"):
            raise InputError(f"calculator must be a preset name or an ASE calculator, got {calculator!r}")
        return calculator
    p = get_preset(calculator)
    params = {**p.params, **overrides}
    calc = p.factory(**params)
    if p.d3:
        from ase.calculators.mixing import SumCalculator

        calc = SumCalculator([calc, d3_calculator(**params)])
    return calc
