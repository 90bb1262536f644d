"""Deployments: ModelDeployments in an organization's namespace, state read from their status."""
