"""Modelplane's custom resources as Pydantic models: the one source of the CRDs.

Modules: `base` (wire conventions, `Rule`), `conditions` (status conditions and their helpers),
`organization`, `model_version`, `model_deployment`, `drift_monitor` (one kind each, with its
condition types and reasons), `drift_results` (the drift evaluation shared with the drift job),
`kinds` (names, scope and printer columns), `schema` (structural-schema rewriter) and `generate`
(writes the CRD YAML and the API reference). Pure Python: no cluster access.
"""
