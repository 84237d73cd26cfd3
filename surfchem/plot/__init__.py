"""Matplotlib figures shared by thermo, experiment and link (no computation here).

All functions take plain tables and write PNG + PDF; they use the non-interactive Agg backend.
"""
