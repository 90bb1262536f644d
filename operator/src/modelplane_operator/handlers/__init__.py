"""kopf handlers: thin bindings that translate kopf's arguments and outcomes.

Each module holds one kind's reconcile (or the admission bindings). Logic lives in
`builders.py` (pure), `artifacts.py` and `cluster.py` (I/O behind a gateway); handlers are
registered explicitly by `modelplane_operator.startup.register`, never at import time, so a fresh
kopf registry (tests, `kopf run`) gets exactly one copy of each.
"""
