"""The local images' digests: each is rebuilt exactly when something its Dockerfile copies changes.

Pure: the Dockerfiles are read as text and the digests computed over a small tree in `tmp_path`;
nothing is built.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelplane_cli.local import images
from modelplane_cli.local.images import (
    OPERATOR_INPUTS,
    REPO_ROOT,
    RUNTIME_INPUTS,
    WORKSPACE_MEMBERS,
    ImageBuilder,
)

DOCKERFILES = {"serving-runtime": RUNTIME_INPUTS, "operator": OPERATOR_INPUTS}


def _copied(dockerfile: Path) -> set[str]:
    """The build-context paths a Dockerfile's COPY lines take (not those from other images)."""
    paths: set[str] = set()
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if words[:1] != ["COPY"] or any(w.startswith("--from") for w in words):
            continue
        paths.update(w.rstrip("/") for w in words[1:-1])
    return paths


@pytest.mark.parametrize(("name", "inputs"), DOCKERFILES.items())
def test_every_path_a_dockerfile_copies_is_an_input_of_its_images_digest(
    name: str, inputs: tuple[str, ...]
) -> None:
    copied = _copied(REPO_ROOT / name / "Dockerfile")
    manifests = {f"{m}/pyproject.toml" for m in WORKSPACE_MEMBERS}
    assert copied, name
    assert copied - manifests <= set(inputs), name
    assert name in inputs  # the Dockerfile itself


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace of one source file per member, standing in for the repository."""
    for member in WORKSPACE_MEMBERS:
        (tmp_path / member / "src").mkdir(parents=True)
        (tmp_path / member / "pyproject.toml").write_text(f"[project]\nname = '{member}'\n")
        (tmp_path / member / "src" / "code.py").write_text("x = 1\n")
    for name in ("pyproject.toml", "uv.lock", ".dockerignore"):
        (tmp_path / name).write_text("")
    (tmp_path / "uv").write_bytes(b"uv")
    monkeypatch.setattr(images, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(images, "uv_binary", lambda: tmp_path / "uv")
    return tmp_path


@pytest.mark.parametrize(
    ("changed", "runtime_rebuilt", "operator_rebuilt"),
    [
        ("operator/src/code.py", False, True),
        ("webhooks/src/code.py", False, True),
        ("serving-runtime/src/code.py", True, False),
        ("crds/src/code.py", True, True),
        ("onnx-policy/src/code.py", True, True),
        ("uv.lock", True, True),
        ("api/pyproject.toml", True, True),  # the lock resolves every member
        ("api/src/code.py", False, False),
        ("cli/src/code.py", False, False),
    ],
)
def test_an_image_is_rebuilt_only_when_its_inputs_change(
    tree: Path, changed: str, runtime_rebuilt: bool, operator_rebuilt: bool
) -> None:
    builder = ImageBuilder()
    before = builder.runtime_tag(), builder.operator_tag()
    (tree / changed).write_text((tree / changed).read_text() + "# changed\n")
    after = builder.runtime_tag(), builder.operator_tag()
    assert (before[0] != after[0], before[1] != after[1]) == (runtime_rebuilt, operator_rebuilt)
