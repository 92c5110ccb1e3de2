"""``gs-serve``: the web page and JSON API for one or more artifacts."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from pathlib import Path

import click

from gs.clitools import device_option, user_errors
from gs.errors import UserInputError


def check_port(host: str, port: int) -> None:
    """Raise ``UserInputError`` if ``host:port`` cannot be bound (bad address, port in use)."""
    if not 0 <= port <= 65535:
        raise UserInputError(f"--port must be between 0 and 65535, got {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UserInputError(f"--host {host} is not an address of this machine") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            raise UserInputError(f"--port {port} on {host} is in use or not allowed; "
                                 f"choose another port") from None


#: Where ``--pretrained`` keeps the artifacts it exports (``--cache-dir``).
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "gs" / "artifacts"


def pretrained_artifacts(names: Sequence[str], cache_dir: str | Path) -> list[Path]:
    """The artifacts that serve pretrained generators ``names`` (``gs weights list``): each
    cut at the entry's cut, then at c = 0 (no surgery, the comparison).

    Written into ``cache_dir`` as ``NAME_cC.pt`` on first use, as ``gs-export --pretrained
    NAME --cut C`` writes them; a cached file is used again while it records the entry's
    source, sha256 and recommended settings, and exported anew otherwise.

    Raises:
        UserInputError: unknown name, weights that fail their sha256 check or cannot be
            fetched, a cache folder that cannot be written.
    """
    # The command line composes export and serving; the library never imports gs.export.
    from gs.export.api import export_pretrained
    from gs.weights.catalog import get_pretrained

    def say(name: str, cut: int, path: Path) -> None:
        click.echo(f"gs-serve: exporting {name} at cut {cut} to {path}", err=True)

    paths = []
    for name in dict.fromkeys(names):
        try:
            paths += export_pretrained(name, cache_dir, (get_pretrained(name).cut, 0), say)
        except OSError as exc:
            raise UserInputError(f"cannot be written ({exc.strerror})",
                                 field="cache_dir", value=Path(cache_dir)) from None
    return paths


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("artifacts", nargs=-1, required=True, type=click.Path())
@click.option("--pretrained", is_flag=True,
              help="The arguments are pretrained generator names (gs weights list), not files: "
                   "each is exported at its recommended cut and at c=0 on first use.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=str(DEFAULT_CACHE_DIR),
              show_default=True, help="--pretrained: where the exported artifacts are kept.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback exposes the page to the network.")
@click.option("--port", type=int, default=8000, show_default=True)
@device_option()
@click.option("--max-upload-mb", type=float, default=10.0, show_default=True,
              help="Largest request body (photo + mask) accepted.")
@click.option("--max-queued", type=int, default=8, show_default=True,
              help="Jobs waiting per artifact before new ones are refused.")
@user_errors(aliases={"artifact": "artifacts", "name": "artifacts"})
def main(artifacts: tuple[str, ...], pretrained: bool, cache_dir: str, host: str, port: int,
         device: str, max_upload_mb: float, max_queued: int) -> None:
    """Serve ARTIFACTS (.pt from gs-export) on a local page and JSON API.

    Give a c=0 artifact of the same weights too (e.g. dcgan_c1.pt dcgan_c0.pt)
    and every job also shows the no-surgery recovery beside the surgery one.

    With --pretrained, ARTIFACTS are names of pretrained generators, e.g.
    gs-serve --pretrained mnist-dcgan digiface-dcgan: each is served with its
    no-surgery sibling, and offers test images of its own domain as examples
    where gs ships them (digits for mnist-dcgan).
    """
    if not max_upload_mb > 0:
        raise UserInputError(f"--max-upload-mb must be positive, got {max_upload_mb}")
    if max_queued < 1:
        raise UserInputError(f"--max-queued must be at least 1, got {max_queued}")
    check_port(host, port)
    if pretrained:
        artifacts = tuple(str(path) for path in pretrained_artifacts(artifacts, cache_dir))
    from gs.devices import resolve_device
    from gs.serve.app import create_app
    from gs.serve.catalog import Catalog

    try:
        catalog = Catalog.load(list(artifacts), device=resolve_device(device))
    except UserInputError:
        raise
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    app = create_app(catalog, max_upload_mb=max_upload_mb, max_queued=max_queued)
    import uvicorn

    if not is_loopback(host):
        click.echo(f"warning: --host {host} makes this page reachable from the network; it has "
                   f"no authentication", err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"gs-serve: {len(catalog.by_id)} artifact(s) on http://{shown}:{port}  "
               f"(API schema at /openapi.json; Ctrl-C stops)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
