"""Cluster writes that must not be lost: stored with their change, applied with retries."""
