"""api component of Modelplane."""
