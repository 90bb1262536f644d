"""The `modelplane` command: one entry point for developers, operators of the platform and CI.

Verbs are thin: each delegates to the component that owns the work (the local platform in
`modelplane_cli.local`, the CRD generator in `modelplane_crds`, each server's own `__main__`),
importing it only when called so that `modelplane --help` stays instant.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer

from modelplane_cli import dev

app = typer.Typer(
    help=__doc__.split("\n\n")[0] if __doc__ else None,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
app.add_typer(dev.app, name="dev")

# Pass every argument (including --help) through to the component's own parser.
_PASSTHROUGH: dict[str, Any] = {
    "allow_extra_args": True,
    "ignore_unknown_options": True,
    "help_option_names": [],
}


def _delegate(module: str, ctx: typer.Context) -> None:
    """Run `module.main(argv)` with the remaining command-line arguments."""
    entry = importlib.import_module(module)
    raise typer.Exit(int(entry.main(list(ctx.args)) or 0))


@app.command()
def generate(
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Write nothing; exit 1 and list the files that are out of date."
        ),
    ] = False,
) -> None:
    """Regenerate CRD YAML, the API reference, the facade's OpenAPI document, the
    dashboard's TypeScript types and Argo CD's health-check snippet from their sources."""
    from modelplane_cli import apiclient, gitops
    from modelplane_crds.generate import default_root, rendered_files, sync_files

    root = default_root()
    try:
        client = apiclient.rendered_files(root)
    except apiclient.ToolMissingError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    raise typer.Exit(
        sync_files({**rendered_files(), **client, **gitops.rendered_files(root)}, root, check)
    )


@app.command()
def demo(
    in_cluster: Annotated[
        bool,
        typer.Option(
            "--in-cluster",
            help="Through the operator and facade pods of `modelplane dev install`.",
        ),
    ] = False,
) -> None:
    """Run the platform's main job on the local platform: an organization through the facade,
    a model registered and verified by the operator, a tampered one refused, the model deployed
    and a retrained version canaried to promotion."""
    from modelplane_cli.demo import run_demo

    raise typer.Exit(run_demo(dev.runs_root() / "dev", in_cluster=in_cluster))


operator_app = typer.Typer(help="The Kubernetes operator (kopf).", no_args_is_help=True)
api_app = typer.Typer(help="The facade API (FastAPI).", no_args_is_help=True)
runtime_app = typer.Typer(
    help="The serving runtime (Open Inference Protocol v2 server).", no_args_is_help=True
)
drift_app = typer.Typer(help="The drift engine.", no_args_is_help=True)
app.add_typer(operator_app, name="operator")
app.add_typer(api_app, name="api")
app.add_typer(runtime_app, name="runtime")
app.add_typer(drift_app, name="drift")


@operator_app.command("run", context_settings=_PASSTHROUGH)
def operator_run(ctx: typer.Context) -> None:
    """Run the operator against the current kubeconfig (`--help` for its options)."""
    _delegate("modelplane_operator.__main__", ctx)


@api_app.command("run", context_settings=_PASSTHROUGH)
def api_run(ctx: typer.Context) -> None:
    """Serve the facade API (`--help` for its options)."""
    _delegate("modelplane_api.__main__", ctx)


@runtime_app.command("run", context_settings=_PASSTHROUGH)
def runtime_run(ctx: typer.Context) -> None:
    """Serve one ONNX model over OIP v2; configured by MODELPLANE_RUNTIME_* variables."""
    _delegate("modelplane_runtime.__main__", ctx)


@drift_app.command("run", context_settings=_PASSTHROUGH)
def drift_run(ctx: typer.Context) -> None:
    """Evaluate one window of payload logs and print a JSON report (`--help` for options)."""
    _delegate("modelplane_operator.drift.cli", ctx)


images_app = typer.Typer(help="The project's container images, built here by buildah.")
app.add_typer(images_app, name="images")


@images_app.command("build")
def images_build(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Build only this image (repeatable); default: all of them."),
    ] = None,
) -> None:
    """Build (or find cached) every image: base, uv, pause, serving-runtime(-gpu), operator, api;
    print each one's reference, size and build time."""
    from modelplane_cli.local.images import build_report
    from modelplane_cli.local.processes import PlatformError

    try:
        for line in build_report(only or None, progress=lambda m: typer.echo(m, err=True)):
            typer.echo(line)
    except (PlatformError, KeyError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def main() -> None:
    """Console-script entry point."""
    app()
