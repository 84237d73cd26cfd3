"""surfchem.build."""
