"""Canary rollouts: the pure state machine (`machine`) and the operator's rollout metrics
(`metrics`)."""
