"""The project's images, built (or found cached) through the same `ImageBuilder` as the node's.

Building on a cold cache takes minutes (see docs/operations.md, "Images"); afterwards an image
is found by the digest of its inputs in a second.
"""

from __future__ import annotations

import sys

import pytest

from modelplane_cli.local.images import ImageBuilder


def _progress(message: str) -> None:
    print(f"[images] {message}", file=sys.__stderr__, flush=True)


@pytest.fixture(scope="session")
def facade_image() -> str:
    """The facade image (`api/Dockerfile`, with the dashboard from `make dashboard`)."""
    return ImageBuilder(_progress).facade().ref
