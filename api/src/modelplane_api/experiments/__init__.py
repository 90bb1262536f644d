"""The organization's MLflow experiments and runs for the dashboard: list, create, rename and
delete experiments; search, open, chart and compare runs (the envelope, cursor pagination)."""
