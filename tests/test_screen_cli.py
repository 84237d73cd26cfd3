"""Options of `surfchem screen` that decide what is computed (parsed, not run)."""

from __future__ import annotations

import pytest

from surfchem.errors import InputError


def test_screen_cli_sweeps_do_not_need_several_starts():
    """Issue 15: the sweeps are a setting of their own (``--starts 1 --sweeps 3``); ``--starts 1``
    alone stays the single-relaxation preview; the default is the searched screen."""
    import argparse

    from surfchem.campaign.defaults import SCREEN_SEARCH
    from surfchem.cli.screen import register, search_settings

    sub = argparse.ArgumentParser().add_subparsers()
    register(sub)
    parse = sub.choices["screen"].parse_args
    assert search_settings(parse([])) == {**{k: SCREEN_SEARCH[k] for k in ("n_starts", "patience", "tol_eV",
                                                                          "anneal_steps", "sweeps")},
                                          "regrow": False}
    assert search_settings(parse(["--starts", "1"])) is None
    s = search_settings(parse(["--starts", "1", "--sweeps", "3"]))
    assert s["n_starts"] == 1 and s["sweeps"] == 3
    assert search_settings(parse(["--starts", "3", "--sweeps", "0"]))["sweeps"] == 0
    with pytest.raises(InputError, match="--sweeps >= 0"):
        search_settings(parse(["--sweeps", "-1"]))
