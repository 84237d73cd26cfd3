"""``surfchem build`` and ``surfchem arrangements``: builders from the command line."""

from __future__ import annotations

import argparse

from surfchem.cli._common import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``surfchem build`` to the CLI.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The ``surfchem`` subparsers.
    """
    p = sub.add_parser("build", help="build a (ligand-capped) slab and write it to a file",
                       description="Build a symmetric AX-terminated (100) slab with N ligands.")
    p.add_argument("--material", default="CsPbBr3", help="CsPbBr3 (default) or CsPbI3")
    p.add_argument("--ligand", default=None, help="ligand name (DDA, DDA<n>, C<n>A, PEA, IPA, NBA, OAm, MA) or ammonium SMILES")
    p.add_argument("--n", type=int, default=0, help="number of ligands (0..8 on the 2x2 slab)")
    p.add_argument("--arrangement", type=int, default=0,
                   help="index of the symmetry-distinct arrangement (see `surfchem arrangements`)")
    p.add_argument("--size", default="2x2", help="in-plane repetitions, e.g. 2x2")
    p.add_argument("--layers", type=int, default=5, help="atomic layers, odd (5 = Cs12Pb8Br28 at 2x2)")
    p.add_argument("--vacuum", type=float, default=15.0, help="vacuum between ligand tips, Å")
    p.add_argument("--a", type=float, default=None, help="lattice constant, Å (default experimental)")
    p.add_argument("--depth", type=float, default=None,
                   help="depth of the N below the Cs site, Å (default: 0 with N-H, scanned without)")
    p.add_argument("-o", "--output", default=None, help="output file (any ASE format, e.g. slab.extxyz)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run_build)

    q = sub.add_parser("arrangements", help="list symmetry-distinct ligand arrangements",
                       description="Symmetry-distinct ways to put n ligands on the surface sites.")
    q.add_argument("--n", type=int, required=True, help="number of ligands")
    q.add_argument("--material", default="CsPbBr3")
    q.add_argument("--size", default="2x2")
    q.add_argument("--layers", type=int, default=5)
    q.add_argument("--json", action="store_true", help="print a JSON list")
    q.set_defaults(func=run_arrangements)


def _size(text: str) -> tuple[int, int]:
    from surfchem.errors import InputError

    try:
        nx, ny = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--size must look like 2x2, got {text!r}") from None
    return nx, ny


def run_build(args: argparse.Namespace) -> int:
    """Run ``surfchem build`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem build --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    from surfchem.build import arrangements, decorate, slab
    from surfchem.errors import InputError

    atoms = slab(args.material, size=_size(args.size), layers=args.layers, vacuum=args.vacuum, a=args.a)
    n_sites = len(atoms.info["surface_faces"])
    if not 0 <= args.n <= n_sites:
        raise InputError(f"--n must be in 0..{n_sites} (surface sites), got {args.n}")
    if args.n > 0:
        if not args.ligand:
            raise InputError("--n > 0 needs --ligand (a name such as PEA or a SMILES)")
        arrs = list(arrangements(args.n, atoms))
        if not 0 <= args.arrangement < len(arrs):
            raise InputError(f"--arrangement must be in 0..{len(arrs) - 1} for n={args.n}, got {args.arrangement}")
        arr = arrs[args.arrangement]
        atoms = decorate(atoms, args.ligand, arr.sites, depth=args.depth, arrangement=arr.index)
        atoms.info["multiplicity"] = arr.multiplicity
    if args.output:
        from ase.io import write

        write(args.output, atoms)
    summary = {
        "formula": atoms.get_chemical_formula(),
        "n_atoms": len(atoms),
        "n_ligands": int(atoms.info.get("n_ligands", 0)),
        "occupied_sites": list(atoms.info.get("occupied_sites", [])),
        "ligand": atoms.info.get("ligand"),
        "smiles": atoms.info.get("smiles"),
        "depth_A": atoms.info.get("depth_A"),
        "cell_A": [round(float(x), 4) for x in atoms.cell.lengths()],
        "output": args.output,
    }
    if args.json:
        print_json(summary)
    else:
        print(f"{summary['formula']}: {summary['n_atoms']} atoms, ligands on sites {summary['occupied_sites']}"
              + (f" -> {args.output}" if args.output else ""))
    return 0


def run_arrangements(args: argparse.Namespace) -> int:
    """Run ``surfchem arrangements`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem arrangements --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    from surfchem.build import arrangements, slab

    atoms = slab(args.material, size=_size(args.size), layers=args.layers)
    arrs = [a.as_dict() for a in arrangements(args.n, atoms)]
    if args.json:
        print_json(arrs)
    else:
        for a in arrs:
            print(f"{a['index']:3d}  sites {a['sites']}  multiplicity {a['multiplicity']}")
    return 0
