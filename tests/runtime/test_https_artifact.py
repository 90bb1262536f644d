"""Loading an `https://` artifact, as the operator verifies them: a real TLS server on loopback
with a certificate of a CA made for the test (trusted through `SSL_CERT_FILE`)."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelplane_cli.local.pki import CertificateAuthority
from modelplane_runtime.app import load_model
from modelplane_runtime.errors import ArtifactTooLarge, ArtifactUnreachable
from tests.onnx_models import linear_model, model_bytes
from tests.runtime.conftest import SettingsFactory

MODEL = linear_model(4, seed=9)


@pytest.fixture
def https_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Serves `model.onnx` (and 404 for anything else) over TLS on 127.0.0.1."""
    ca = CertificateAuthority(tmp_path / "pki")
    pair = ca.issue("server", "localhost", server_hosts=("127.0.0.1",))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.cert_path))
    root = tmp_path / "www"
    root.mkdir()
    (root / "model.onnx").write_bytes(model_bytes(MODEL)[0])

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]  # stdlib handler signature

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pair.cert), str(pair.key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_an_https_artifact_is_downloaded_verified_and_cached(
    make_settings: SettingsFactory, https_server: str, tmp_path: Path
) -> None:
    data, digest = model_bytes(MODEL)
    settings = make_settings(
        MODEL, model_uri=f"{https_server}/model.onnx", model_sha256=digest, cache_dir=tmp_path / "c"
    )
    model = load_model(settings)
    assert model.output_names == ["y"]
    assert (tmp_path / "c" / f"{digest}.onnx").read_bytes() == data


def test_a_missing_https_artifact_is_unreachable_and_a_large_one_refused(
    make_settings: SettingsFactory, https_server: str
) -> None:
    _, digest = model_bytes(MODEL)
    missing = make_settings(MODEL, model_uri=f"{https_server}/nope.onnx", model_sha256=digest)
    with pytest.raises(ArtifactUnreachable, match="404"):
        load_model(missing)
    small = make_settings(
        MODEL, model_uri=f"{https_server}/model.onnx", model_sha256=digest, max_artifact_bytes=10
    )
    with pytest.raises(ArtifactTooLarge):
        load_model(small)
