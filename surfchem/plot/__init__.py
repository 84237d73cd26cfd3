"""surfchem.plot."""
