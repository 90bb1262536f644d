"""operator component of Modelplane."""
