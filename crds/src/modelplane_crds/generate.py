"""Write the generated files: CRD YAML, their kustomization, and the API reference.

`python -m modelplane_crds.generate` (what `make generate` runs) rewrites them from the models;
`--check` writes nothing and fails, listing the files, when any would change (what CI runs).
Output is deterministic: keys sorted, text wrapped the same way on every machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from modelplane_crds.base import QUANTITY
from modelplane_crds.kinds import KINDS, Kind
from modelplane_crds.schema import Schema, build_crd, openapi_schema

HEADER = (
    "# DO NOT EDIT: generated from the Pydantic models in crds/src/modelplane_crds\n"
    "# by `make generate` (python -m modelplane_crds.generate).\n"
)
CRD_DIR = Path("manifests/base/crds")
API_REFERENCE = Path("docs/api-reference.md")


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings, so descriptions stay readable in the YAML."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def to_yaml(document: Any) -> str:
    """Deterministic YAML text of one document."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=True, width=100, allow_unicode=True)


def crd_file_name(kind: Kind) -> str:
    """`<group>_<plural>.yaml`, the kubebuilder naming."""
    return f"{kind.group}_{kind.plural}.yaml"


def rendered_files() -> dict[Path, str]:
    """Every generated file, by path relative to the repository root, with its content."""
    files = {CRD_DIR / crd_file_name(k): HEADER + to_yaml(build_crd(k)) for k in KINDS}
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [crd_file_name(k) for k in KINDS],
    }
    files[CRD_DIR / "kustomization.yaml"] = HEADER + to_yaml(kustomization)
    files[API_REFERENCE] = api_reference()
    return files


# --- API reference -------------------------------------------------------------------------


def _type_of(node: Schema) -> str:
    if node.get("x-kubernetes-int-or-string"):
        return "integer or string"
    kind = str(node.get("type", "object"))
    if kind == "array":
        return f"[]{_type_of(node.get('items', {}))}"
    if kind == "object" and "additionalProperties" in node:
        return f"map[string]{_type_of(node['additionalProperties'])}"
    return kind


def _constraints(node: Schema) -> list[str]:
    notes: list[str] = []
    if "enum" in node:
        notes.append("one of " + ", ".join(f"`{v}`" for v in node["enum"]))
    if "default" in node:
        notes.append(f"default `{json.dumps(node['default'])}`")
    for key, label in (
        ("minimum", "≥"),
        ("maximum", "≤"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
    ):
        if key in node:
            strict = node.get("exclusiveMinimum" if key == "minimum" else "exclusiveMaximum")
            shown = {"≥": ">", "≤": "<"}.get(label, label) if strict is True else label
            notes.append(f"{shown} {node[key]}")
    if node.get("pattern") == QUANTITY:
        notes.append("a Kubernetes quantity such as `500m` or `2Gi`")
    elif "pattern" in node:
        notes.append(f"pattern `{node['pattern']}`")
    if node.get("x-kubernetes-list-type") == "map":
        notes.append("unique by " + ", ".join(node["x-kubernetes-list-map-keys"]))
    return notes


def _rules(node: Schema) -> list[str]:
    return [f"rule: {r['message']}" for r in node.get("x-kubernetes-validations", [])]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n\n", "<br>").replace("\n", " ")


def _rows(node: Schema, path: str, required: bool) -> Iterator[str]:
    target = node.get("items", node) if node.get("type") == "array" else node
    notes = _constraints(node) + _rules(node)
    if target is not node:
        notes += _constraints(target) + _rules(target)
    description = node.get("description", "")
    if notes:
        description = f"{description} *({'; '.join(notes)})*".strip()
    yield f"| `{path}` | {_type_of(node)} | {'yes' if required else ''} | {_cell(description)} |"
    needed = set(target.get("required", []))
    for name, child in target.get("properties", {}).items():
        suffix = "[]" if target is not node else ""
        yield from _rows(child, f"{path}{suffix}.{name}", name in needed)


def _kind_section(kind: Kind) -> str:
    schema = openapi_schema(kind)
    lines = [
        f"## {kind.kind}",
        "",
        schema.get("description", ""),
        "",
        f"- API version: `{kind.group}/{kind.version}`",
        f"- Scope: {kind.scope}; plural `{kind.plural}`; short names "
        + ", ".join(f"`{s}`" for s in kind.short_names)
        + "; category `modelplane`",
        "- `kubectl get` columns: " + ", ".join(c.name for c in kind.columns),
        "",
        "| field | type | required | description |",
        "|---|---|---|---|",
    ]
    for name in ("spec", "status"):
        node = schema["properties"][name]
        lines.extend(_rows(node, name, name in schema.get("required", [])))
    return "\n".join(lines) + "\n"


def api_reference() -> str:
    """The Markdown API reference: one section per kind, every field with its description."""
    intro = (
        "<!-- DO NOT EDIT: generated from crds/src/modelplane_crds by `make generate`. -->\n"
        "# Modelplane API reference\n\n"
        "Custom resources in API group `modelplane.io`, version `v1alpha1`. Every field below is "
        "also shown by `kubectl explain <kind>.<field>`. Rules (*rule: …*) are checked by the API "
        "server when an object is created or changed.\n\n"
        "Conditions follow the Flux / kstatus convention: `Ready` is always present, "
        "`Reconciling` and `Stalled` appear only while true, and `status.observedGeneration` "
        "says which generation of the spec the conditions describe.\n\n"
        "A few conventions worth knowing:\n\n"
        "- Writing `null` for an optional field (for example `candidate: null`) means *unset*: "
        "the API server drops it before validation.\n"
        "- A ModelVersion's spec never changes after creation; register a new version instead.\n"
        "- A ModelDeployment may keep `strategy` and `analysis` while it has no `candidate` "
        "(the normal state between rollouts in Git); only an `analysis` step without an "
        "`analysis` section is rejected.\n"
        "- Mutually exclusive settings (`scaling.replicas` and autoscaling, "
        "`reference.fromStableVersion` and `reference.uri`, two alert sinks in one entry) are "
        "rejected rather than one of them being ignored.\n"
        "- Lists keyed by name (tensors, features, overrides) and conditions (keyed by type) "
        "hold each key once.\n"
    )
    return intro + "\n" + "\n".join(_kind_section(k) for k in KINDS)


# --- entry point ---------------------------------------------------------------------------


def default_root() -> Path:
    """The repository root: where this source tree lives, else the working directory."""
    here = Path(__file__).resolve().parents[3]
    return here if (here / "crds" / "src" / "modelplane_crds").is_dir() else Path.cwd()


def main(check: bool = False, root: Path | None = None) -> int:
    """Write the generated files; with `check`, write nothing and return 1 if any would change."""
    base = root if root is not None else default_root()
    return sync_files(rendered_files(), base, check)


def sync_files(files: dict[Path, str], base: Path, check: bool) -> int:
    """Write each file under `base` whose content differs; with `check`, write nothing, list
    the stale files and return 1 if there are any."""
    stale = []
    for relative, content in files.items():
        path = base / relative
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == content:
            continue
        stale.append(relative)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    if check and stale:
        print("generated files are out of date; run `make generate`:", file=sys.stderr)
        for relative in stale:
            print(f"  {relative}", file=sys.stderr)
        return 1
    for relative in stale:
        print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if generated files are stale")
    sys.exit(main(check=parser.parse_args().check))
