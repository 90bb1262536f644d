"""Canary analysis: measure the candidate (and the stable version) each interval and judge it.

`sources` turns runtime metrics into per-variant samples, from Prometheus (`prometheus`) or by
scraping the variant pods' `/metrics` directly (`scrape`); `checks` compares them with the spec's
thresholds and returns the `Verdict` the rollout state machine consumes; `condition` evaluates a
custom check's `successCondition` without `eval`.
"""
