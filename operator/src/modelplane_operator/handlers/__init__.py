"""kopf handlers: thin bindings that translate kopf's arguments and outcomes.

Each module holds one kind's `converge_<kind>` and its kopf handlers (or the admission
bindings), all in the one idiom of `converged`. Logic lives in `builders/<kind>.py` (pure),
`rollout/`, `artifacts.py` and `cluster.py` (I/O behind a gateway); handlers are
registered explicitly by `modelplane_operator.startup.register`, never at import time, so a fresh
kopf registry (tests, `kopf run`) gets exactly one copy of each.
"""
