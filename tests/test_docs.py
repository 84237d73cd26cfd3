"""The documentation site builds with warnings as errors, and its API pages hold the docstrings.

``mkdocs build --strict`` fails on any warning: a broken link or anchor, a page missing from the
nav, a docstring griffe cannot parse as numpydoc (e.g. a parameter documented that the signature
does not have). Measured: about 5 s of CPU (the wall time grows with the machine's load).
"""

from __future__ import annotations

import html
import importlib
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NEEDED = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
missing = [m for m in NEEDED if importlib.util.find_spec(m.split(".")[0]) is None]
needs_mkdocs = pytest.mark.skipif(
    bool(missing), reason=f"docs build needs mkdocs-material and mkdocstrings-python (pip install -e '.[dev]'); "
                          f"not importable: {', '.join(missing)}")


def _text(path: Path) -> str:
    """Visible text of an HTML page (tags dropped, entities decoded, whitespace collapsed)."""
    raw = re.sub(r"<script.*?</script>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=900,
                       env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert r.returncode == 0, f"mkdocs build --strict failed:\n{r.stderr[-5000:]}"
    return out


@needs_mkdocs
def test_every_api_page_is_built(site):
    for name in ["build", "calculators", "relax", "thermo", "trust", "campaign", "link", "plot",
                 "experiment", "validate"]:
        page = site / "api" / name / "index.html"
        assert page.is_file(), f"no API page for surfchem.{name}"
        assert f"surfchem.{name}" in _text(page)


@needs_mkdocs
@pytest.mark.parametrize(("page", "anchor", "phrases"), [
    ("thermo", "surfchem.thermo.surface_free_energy",
     ["Surface free energy gamma", "g_bulk_eV", "per formula unit", "eV/Å²", "Returns"]),
    ("build", "surfchem.build.decorate.decorate",
     ["Return a copy of", "Ligand name", "Raises"]),
    ("build", "surfchem.build.slab.build_slab", ["Cs12Pb8Br28"]),
    ("campaign", "surfchem.campaign.screen.screen", ["didodecyldimethylammonium", "eV/Å", "Returns"]),
])
def test_api_pages_render_docstrings(site, page, anchor, phrases):
    path = site / "api" / page / "index.html"
    raw = path.read_text(encoding="utf-8")
    assert f'id="{anchor}"' in raw, f"{anchor} has no entry on api/{page}"
    start = raw.index(f'id="{anchor}"')
    nxt = raw.find('class="doc doc-heading"', raw.index(">", start))  # the next entry's heading
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw[start:nxt if nxt > 0 else None])))
    for phrase in phrases:
        assert phrase in text, f"{anchor}: {phrase!r} not rendered"


@needs_mkdocs
def test_no_raw_rest_roles(site):
    """reST roles (:func:`x`) are rendered as code, not left as text."""
    for page in (site / "api").rglob("index.html"):
        assert ":func:" not in _text(page), page


def _public_api():
    """(module, name) of every name ``surfchem`` and the subpackages' ``__all__`` export."""
    import surfchem

    for name in surfchem.__all__:
        if name != "__version__":
            yield "surfchem", name
    for pkg in ("build", "link", "validate"):
        mod = importlib.import_module(f"surfchem.{pkg}")
        for name in mod.__all__:
            yield mod.__name__, name


def _module_api():
    """(module, name) of every public function and class defined in a public module of the
    subpackages, the CLI's handlers included (not ``experiment``: maintained apart)."""
    import pkgutil

    import surfchem

    for info in pkgutil.walk_packages(surfchem.__path__, "surfchem."):
        parts = info.name.split(".")
        if parts[1] == "experiment" or any(p.startswith("_") for p in parts[1:]):
            continue
        mod = importlib.import_module(info.name)
        for name, obj in vars(mod).items():
            if not name.startswith("_") and getattr(obj, "__module__", None) == info.name:
                yield info.name, name


@pytest.mark.parametrize("api", [_public_api, _module_api], ids=["top-level", "modules"])
def test_public_api_has_numpydoc_sections(api):
    """Functions document Parameters and Returns (or Yields), classes their Attributes."""
    bad = []
    for mod, name in api():
        obj = getattr(importlib.import_module(mod), name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)) or (
                inspect.isclass(obj) and issubclass(obj, Exception)):
            continue
        doc = inspect.getdoc(obj) or ""
        if inspect.isclass(obj):
            ok = "Attributes\n----" in doc or "Parameters\n----" in doc
        else:
            sig = inspect.signature(obj)
            returns_none = sig.return_annotation in (None, "None")
            ok = ("Parameters\n----" in doc or not sig.parameters) and (
                returns_none or "Returns\n----" in doc or "Yields\n----" in doc)
        if not ok:
            bad.append(f"{mod}.{name}")
    assert not bad, f"public API without numpydoc sections: {bad}"
