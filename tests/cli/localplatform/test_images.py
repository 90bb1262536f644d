"""The local images' digests: each is rebuilt exactly when something its Dockerfile copies changes.

Pure: the Dockerfiles are read as text and the digests computed over a small tree in `tmp_path`;
nothing is built.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelplane_cli.local import images
from modelplane_cli.local.images import (
    FACADE_INPUTS,
    OPERATOR_INPUTS,
    REPO_ROOT,
    RUNTIME_INPUTS,
    WORKSPACE_MEMBERS,
    ImageBuilder,
    _archives,
)
from modelplane_cli.local.processes import PlatformError

DOCKERFILES = {
    "serving-runtime/Dockerfile": RUNTIME_INPUTS,
    "serving-runtime/Dockerfile.gpu": RUNTIME_INPUTS,
    "operator/Dockerfile": OPERATOR_INPUTS,
    "api/Dockerfile": FACADE_INPUTS,
}


def _copied(dockerfile: Path) -> set[str]:
    """The build-context paths a Dockerfile's COPY lines take (not those from other images)."""
    paths: set[str] = set()
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if words[:1] != ["COPY"] or any(w.startswith("--from") for w in words):
            continue
        paths.update(w.rstrip("/") for w in words[1:-1])
    return paths


@pytest.mark.parametrize(("dockerfile", "inputs"), DOCKERFILES.items())
def test_every_path_a_dockerfile_copies_is_an_input_of_its_images_digest(
    dockerfile: str, inputs: tuple[str, ...]
) -> None:
    copied = _copied(REPO_ROOT / dockerfile)
    manifests = {f"{m}/pyproject.toml" for m in WORKSPACE_MEMBERS}
    assert copied, dockerfile
    assert copied - manifests <= set(inputs), dockerfile
    assert dockerfile.split("/", maxsplit=1)[0] in inputs  # the Dockerfile itself


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
    (tmp_path / "frontend" / "out").mkdir(parents=True)
    (tmp_path / "frontend" / "out" / "index.html").write_text("<html></html>\n")
    (tmp_path / "frontend" / "src").mkdir()
    (tmp_path / "frontend" / "src" / "page.tsx").write_text("export {};\n")
    monkeypatch.setattr(images, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(images, "uv_binary", lambda: tmp_path / "uv")
    return tmp_path


def _tags(builder: ImageBuilder) -> dict[str, str]:
    return {
        "serving-runtime": builder.runtime_tag(),
        "serving-runtime-gpu": builder.runtime_gpu_tag(),
        "operator": builder.operator_tag(),
        "api": builder.facade_tag(),
    }


RUNTIMES = {"serving-runtime", "serving-runtime-gpu"}
EVERY = {*RUNTIMES, "operator", "api"}


@pytest.mark.parametrize(
    ("changed", "rebuilt"),
    [
        ("operator/src/code.py", {"operator"}),
        ("webhooks/src/code.py", {"operator"}),
        ("serving-runtime/src/code.py", RUNTIMES),
        ("crds/src/code.py", EVERY),
        ("onnx-policy/src/code.py", EVERY),
        ("uv.lock", EVERY),
        ("api/pyproject.toml", EVERY),  # the lock resolves every member
        ("api/src/code.py", {"api"}),
        ("frontend/out/index.html", {"api"}),  # the dashboard's export is copied into it
        ("frontend/src/page.tsx", set()),  # only through `make dashboard`'s export
        ("cli/src/code.py", set()),
    ],
)
def test_an_image_is_rebuilt_only_when_its_inputs_change(
    tree: Path, changed: str, rebuilt: set[str]
) -> None:
    builder = ImageBuilder()
    before = _tags(builder)
    (tree / changed).write_text((tree / changed).read_text() + "# changed\n")
    after = _tags(builder)
    assert {name for name in before if before[name] != after[name]} == rebuilt


def test_the_gpu_runtime_and_the_cpu_runtime_never_share_a_tag(tree: Path) -> None:
    builder = ImageBuilder()
    assert builder.runtime_gpu_tag() != builder.runtime_tag()


def test_a_new_archive_replaces_only_older_archives_of_the_same_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images, "cache_root", lambda: tmp_path)
    (tmp_path / "images").mkdir()
    names = [
        "serving-runtime-0123456789ab.tar",
        "serving-runtime-gpu-0123456789ab.tar",
        "serving-runtime-gpu-ba9876543210.tar",
        "api-0123456789ab.tar",
    ]
    for name in names:
        (tmp_path / "images" / name).write_bytes(b"")
    assert [p.name for p in _archives("serving-runtime")] == [names[0]]
    assert sorted(p.name for p in _archives("serving-runtime-gpu")) == sorted(names[1:3])


def test_the_facade_image_is_refused_before_the_dashboard_is_built(tree: Path) -> None:
    (tree / "frontend" / "out" / "index.html").unlink()
    with pytest.raises(PlatformError, match="make dashboard"):
        ImageBuilder().facade()


def test_older_archives_are_pruned_only_once_unused_for_the_keep_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images, "cache_root", lambda: tmp_path)
    (tmp_path / "images").mkdir()
    now = 1_000_000_000.0
    ages = {"new": 0, "in-use-elsewhere": images.ARCHIVE_KEEP_SECONDS - 60,
            "stale": images.ARCHIVE_KEEP_SECONDS + 60}  # fmt: skip
    paths: dict[str, Path] = {}
    for number, (label, age) in enumerate(ages.items()):
        paths[label] = tmp_path / "images" / f"operator-{str(number) * 12}.tar"
        paths[label].write_bytes(b"")
        os.utime(paths[label], (now - age, now - age))
    images._prune("operator", keep=paths["new"], now=now)
    assert {label for label, path in paths.items() if path.exists()} == {"new", "in-use-elsewhere"}


def test_an_unknown_image_name_is_refused_before_anything_is_built(tree: Path) -> None:
    with pytest.raises(KeyError, match="known: base, uv, pause, serving-runtime"):
        next(images.build_report(["serving-runtime", "no-such-image"]))
