"""The registry of Modelplane kinds: names, scope and printer columns of each CRD.

The generator reads this to write the CRDs; the operator and the facade read it for plurals and
group/version, so a kind's names are spelled in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from modelplane_crds.base import GROUP, VERSION, K8sModel
from modelplane_crds.drift_monitor import DriftMonitor
from modelplane_crds.model_deployment import ModelDeployment
from modelplane_crds.model_version import ModelVersion
from modelplane_crds.organization import Organization

CATEGORY = "modelplane"


@dataclass(frozen=True)
class PrinterColumn:
    """One column of `kubectl get` output."""

    name: str
    type: Literal["string", "integer", "number", "boolean", "date"]
    json_path: str
    description: str
    priority: int = 0

    def to_crd(self) -> dict[str, object]:
        """The `additionalPrinterColumns` entry."""
        column: dict[str, object] = {
            "name": self.name,
            "type": self.type,
            "jsonPath": self.json_path,
            "description": self.description,
        }
        if self.priority:
            column["priority"] = self.priority
        return column


@dataclass(frozen=True)
class Kind:
    """A custom resource kind and everything its CRD needs besides the schema."""

    model: type[K8sModel]
    plural: str
    short_names: tuple[str, ...]
    scope: Literal["Namespaced", "Cluster"]
    columns: tuple[PrinterColumn, ...]

    @property
    def kind(self) -> str:
        """The PascalCase kind name, from the model class."""
        return self.model.__name__

    @property
    def singular(self) -> str:
        """The lowercase singular name."""
        return self.kind.lower()

    @property
    def group(self) -> str:
        """The API group."""
        return GROUP

    @property
    def version(self) -> str:
        """The API version (without group)."""
        return VERSION

    @property
    def api_version(self) -> str:
        """`<group>/<version>`, the objects' apiVersion."""
        return f"{GROUP}/{VERSION}"

    @property
    def namespaced(self) -> bool:
        """Whether objects of this kind live in a namespace."""
        return self.scope == "Namespaced"

    @property
    def crd_name(self) -> str:
        """`<plural>.<group>`, the CRD's metadata.name."""
        return f"{self.plural}.{GROUP}"


def _condition(type_: str, field: str) -> str:
    return f'.status.conditions[?(@.type=="{type_}")].{field}'


READY_COLUMNS = (
    PrinterColumn("Ready", "string", _condition("Ready", "status"), "Whether the object is ready"),
    PrinterColumn(
        "Status", "string", _condition("Ready", "message"), "Message of the Ready condition"
    ),
)
AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp", "Time since creation")

ORGANIZATION = Kind(
    model=Organization,
    plural="organizations",
    short_names=("org",),
    scope="Cluster",
    columns=(
        PrinterColumn(
            "Org-Namespace", "string", ".status.namespace", "The organization's namespace"
        ),
        *READY_COLUMNS,
        AGE,
    ),
)
MODEL_VERSION = Kind(
    model=ModelVersion,
    plural="modelversions",
    short_names=("mv",),
    scope="Namespaced",
    columns=(
        PrinterColumn("Model", "string", ".spec.modelName", "Model name"),
        PrinterColumn("Version", "string", ".spec.version", "Model version"),
        *READY_COLUMNS,
        AGE,
        PrinterColumn("Digest", "string", ".spec.artifact.sha256", "SHA-256 of the artifact", 1),
        PrinterColumn(
            "Used-By", "integer", ".status.usedByCount", "ModelDeployments serving it", 1
        ),
    ),
)
MODEL_DEPLOYMENT = Kind(
    model=ModelDeployment,
    plural="modeldeployments",
    short_names=("mdep",),
    scope="Namespaced",
    columns=(
        PrinterColumn("Env", "string", ".spec.environment", "staging or production"),
        # What is serving (status), not what was asked (spec): after a promotion Git may still
        # name the promoted version as candidate until someone tidies the spec.
        PrinterColumn("Stable", "string", ".status.stableVersion", "Version serving as stable"),
        PrinterColumn(
            "Candidate", "string", ".status.candidateVersion", "Version being rolled out"
        ),
        PrinterColumn(
            "Weight", "integer", ".status.traffic.candidate", "Percent of traffic to the candidate"
        ),
        *READY_COLUMNS,
        AGE,
        PrinterColumn("Phase", "string", ".status.phase", "Phase derived from conditions", 1),
        PrinterColumn("URL", "string", ".status.url", "In-cluster endpoint", 1),
    ),
)
DRIFT_MONITOR = Kind(
    model=DriftMonitor,
    plural="driftmonitors",
    short_names=("dm",),
    scope="Namespaced",
    columns=(
        PrinterColumn("Deployment", "string", ".spec.deploymentRef.name", "Watched deployment"),
        PrinterColumn(
            "Drift-Share",
            "number",
            ".status.lastEvaluation.dataset.share",
            "Share of features that drifted in the last window",
        ),
        PrinterColumn(
            "Drifted", "string", _condition("DriftDetected", "status"), "Whether drift is detected"
        ),
        PrinterColumn(
            "Last-Window",
            "date",
            ".status.lastEvaluation.windowEnd",
            "End of the last evaluated window",
        ),
        *READY_COLUMNS,
        AGE,
    ),
)

KINDS: tuple[Kind, ...] = (ORGANIZATION, MODEL_VERSION, MODEL_DEPLOYMENT, DRIFT_MONITOR)
"""Every Modelplane kind, in the order the API reference lists them."""


def kind_for(name: str) -> Kind:
    """The registry entry for a kind name such as `ModelDeployment`."""
    for entry in KINDS:
        if entry.kind == name:
            return entry
    raise KeyError(f"unknown Modelplane kind {name!r}")
