"""surfchem.link."""
