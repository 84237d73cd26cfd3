"""surfchem.relax."""
