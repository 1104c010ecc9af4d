"""Outputs made from a mirror for the people downstream: site exports and app bundles."""
