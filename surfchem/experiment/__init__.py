"""surfchem.experiment."""
