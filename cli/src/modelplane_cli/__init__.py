"""cli component of Modelplane."""
