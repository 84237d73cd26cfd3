"""Shared figure plumbing: the Agg pyplot and PNG + PDF output."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (imported on first use).

    Returns
    -------
    module
        ``matplotlib.pyplot``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png_pdf(fig, path: str | Path, dpi: int = 150) -> list[Path]:
    """Write ``path.png`` and ``path.pdf`` (parents created) and close ``fig``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or pathlib.Path
        Output path; its suffix is replaced by ``.png`` and ``.pdf``.
    dpi : int, default 150
        Resolution of the PNG.

    Returns
    -------
    list of pathlib.Path
        The PNG and the PDF.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    paths = [path.with_suffix(".png"), path.with_suffix(".pdf")]
    for p in paths:
        fig.savefig(p, dpi=dpi)
    pyplot().close(fig)
    return paths


def save_png(fig, path: str, dpi: int = 120) -> str:
    """Lay out ``fig``, write it to ``path`` (format from the suffix) and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str
        Output file.
    dpi : int, default 120
        Resolution.

    Returns
    -------
    str
        ``path``.
    """
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path
