"""crds component of Modelplane."""
