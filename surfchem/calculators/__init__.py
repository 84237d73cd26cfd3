"""surfchem.calculators."""
