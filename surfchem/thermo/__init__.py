"""surfchem.thermo."""
