"""Pure builders, one module per kind: a spec in, the Kubernetes objects (children) and status
parts the operator writes out.

No I/O and no clock: a converge function in `handlers/` (or the rollout pass) reads the cluster,
calls these, and writes the result by server-side apply (children) or kopf's patch (the handled
object's status). Tested as plain functions; import-linter keeps them away from `cluster`.
"""

OPERATOR = "modelplane-operator"
"""`app.kubernetes.io/managed-by` of every child the operator makes."""
