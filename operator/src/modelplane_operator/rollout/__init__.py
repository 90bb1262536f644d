"""Canary rollouts: the pure state machine (`machine`) and one reconcile pass (`reconcile`)."""
