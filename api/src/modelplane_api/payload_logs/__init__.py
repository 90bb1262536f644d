"""Payload logs of a deployment: the hour windows its serving pods wrote, and a sample of a
window to download as CSV or Parquet. The logs themselves are written by the serving runtime
(see docs/payload-logs.md); the facade only reads them."""
