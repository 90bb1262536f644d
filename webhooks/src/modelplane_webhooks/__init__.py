"""webhooks component of Modelplane."""
