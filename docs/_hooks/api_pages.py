"""MkDocs hook: generate the API reference pages from the package tree at build time.

One page per subpackage (``api/<name>.md``): the package docstring and the names defined in its
``__init__.py``, then every public module (no leading underscore) in file order. Pages are made
from the files on disk, so moving a module between packages needs no edit here.
``api/index.md`` lists the names ``surfchem/__init__.py`` re-exports lazily (``_LAZY``).
"""

from __future__ import annotations

import ast
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "surfchem"
SUBPACKAGES = ["build", "calculators", "relax", "thermo", "trust", "campaign", "link", "plot",
               "experiment", "validate"]


def _local_public(path: Path) -> list[str]:
    """Public functions, classes and UPPER_CASE constants defined in ``path`` itself."""
    names = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()]
    return [n for n in names if not n.startswith("_")]


def _modules(pkg_dir: Path, dotted: str) -> list[str]:
    out = []
    for p in sorted(pkg_dir.iterdir()):
        if p.name.startswith("_"):
            continue
        if p.suffix == ".py":
            out.append(f"{dotted}.{p.stem}")
        elif p.is_dir() and (p / "__init__.py").exists():
            out.append(f"{dotted}.{p.name}")
            out += _modules(p, f"{dotted}.{p.name}")
    return out


def _options(lines: list[str], **opts) -> list[str]:
    if opts:
        lines.append("    options:")
        for k, v in opts.items():
            lines.append(f"      {k}: {v}")
    return lines


def subpackage_page(name: str) -> str:
    dotted = f"surfchem.{name}"
    local = _local_public(PKG / name / "__init__.py")
    lines = [f"# `{dotted}`", "", f"::: {dotted}"]
    _options(lines, show_root_heading="false", members=f"[{', '.join(local)}]" if local else "false")
    for mod in _modules(PKG / name, dotted):
        lines += ["", f"::: {mod}"]
        _options(lines, heading_level=2)
    return "\n".join(lines) + "\n"


def index_page() -> str:
    tree = ast.parse((PKG / "__init__.py").read_text())
    lazy: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_LAZY" for t in node.targets):
            lazy = ast.literal_eval(node.value)
    lines = [
        "# API reference",
        "",
        "`import surfchem` is fast: the names below are re-exported lazily from the modules",
        "where they are defined (heavy packages such as torch, GPAW and RDKit are imported only",
        "inside the functions that need them). One page per subpackage:",
        "",
    ]
    lines += [f"- [`surfchem.{n}`]({n}.md)" for n in SUBPACKAGES]
    lines += ["", "## Top-level names", "", "| name | defined in |", "|---|---|",
              "| `SurfchemError` | [`surfchem.errors`][surfchem.errors.SurfchemError] |"]
    for name, mod in lazy.items():
        lines.append(f"| [`surfchem.{name}`][{mod}.{name}] | `{mod}` |")
    lines += ["", "## Errors", "", "::: surfchem.errors", "    options:", "      heading_level: 3"]
    return "\n".join(lines) + "\n"


def on_files(files, config):
    files.append(File.generated(config, "api/index.md", content=index_page()))
    for name in SUBPACKAGES:
        files.append(File.generated(config, f"api/{name}.md", content=subpackage_page(name)))
    return files
