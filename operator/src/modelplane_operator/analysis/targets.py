"""What a metrics source needs to know about one variant."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """One variant of a ModelDeployment to measure."""

    namespace: str
    deployment: str
    version: str
    """The ModelVersion's object name."""
    model: str
    """`spec.modelName` of the ModelVersion (the runtime's `model` label)."""
    model_version: str
    """`spec.version` of the ModelVersion (the runtime's `version` label)."""
    workload: str
    """Name of the variant's Deployment and Service."""
    endpoints: tuple[str, ...] = ()
    """Base URLs of the variant's Ready pods (`http://<pod IP>:8080`), for direct scraping."""

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity of the variant across passes."""
        return (self.namespace, self.deployment, self.version)
