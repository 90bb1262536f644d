"""Modelplane facade API: auth, organizations, RBAC, tenancy, audit, rate limits.

Entry points: `create_app(settings)` (main.py), `python -m modelplane_api` (__main__.py) and
`bootstrap(database_url, ...)` (bootstrap.py) for first start.
"""

__version__ = "0.1.0"
