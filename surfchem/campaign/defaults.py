"""Defaults shared by the Python API and the CLI (light: the CLI reads them at start-up)."""

from __future__ import annotations

from typing import Any

#: the screen's minimum search, the default of both :func:`surfchem.campaign.screen.screen` and ``surfchem screen``
#: (keys of :class:`surfchem.campaign.spec_compute.SearchSpec`); ``search=None`` is the single-relaxation
#: preview (rows flagged ``single_start``)
SCREEN_SEARCH: dict[str, Any] = {"n_starts": 3, "patience": 2, "tol_eV": 0.05, "anneal_steps": 0,
                                 "sweeps": 3, "regrow": False}
