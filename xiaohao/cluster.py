"""Several nodes behind nginx, as a deployment and `make cluster` run them: the balancer's
configuration drawn from the one template a deployment also starts from
(xiaohao/deploy/nginx.conf)."""

from __future__ import annotations

from pathlib import Path

NGINX_TEMPLATE = Path(__file__).parent / "deploy" / "nginx.conf"


def nginx_config(prefix: Path, listen: str, nodes: list[str]) -> str:
    """nginx's configuration: listening on `listen` ("127.0.0.1:8080"), round robin over
    `nodes` ("127.0.0.1:8001", …), its pid, log and temporary files under `prefix`."""
    servers = "\n".join(f"        server {node};" for node in nodes)
    return (NGINX_TEMPLATE.read_text().replace("@PREFIX@", str(prefix))
            .replace("@LISTEN@", listen).replace("@NODES@", servers))
