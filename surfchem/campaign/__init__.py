"""surfchem.campaign."""
