"""serving-runtime component of Modelplane."""
