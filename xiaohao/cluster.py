"""Several nodes behind nginx, as a deployment and `make cluster` run them: the balancer's
configuration drawn from the one template a deployment also starts from
(xiaohao/deploy/nginx.conf), and a local cluster (web nodes, one scheduler, nginx) started
from the operator's settings with the keys every node must share."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from domain.errors import InvalidInputError
from xiaohao.settings import Settings, made_once

NGINX_TEMPLATE = Path(__file__).parent / "deploy" / "nginx.conf"


NGINX_FOLDERS = ("body", "proxy", "fastcgi", "uwsgi", "scgi")   # its temporary files


def nginx_prepared(prefix: Path, listen: str, nodes: list[str]) -> Path:
    """nginx's folders under `prefix` (writable by its workers, whatever user they run as)
    and its configuration written there; returns the configuration's path."""
    for folder in (prefix, *(prefix / name for name in NGINX_FOLDERS)):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o777)
    config = prefix / "nginx.conf"
    config.write_text(nginx_config(prefix, listen, nodes))
    return config


def nginx_config(prefix: Path, listen: str, nodes: list[str]) -> str:
    """nginx's configuration: listening on `listen` ("127.0.0.1:8080"), round robin over
    `nodes` ("127.0.0.1:8001", …), its pid, log and temporary files under `prefix`."""
    servers = "\n".join(f"        server {node};" for node in nodes)
    return (NGINX_TEMPLATE.read_text().replace("@PREFIX@", str(prefix))
            .replace("@LISTEN@", listen).replace("@NODES@", servers))


@dataclass(frozen=True)
class Layout:
    """Where a local cluster keeps its parts under var/cluster: the keys and evidence every
    node shares, and a var/ of its own for each node and the scheduler."""

    root: Path

    @property
    def shared(self) -> Path:
        return self.root / "shared"

    def own(self, name: str) -> Path:
        return self.root / name

    def environment(self, nodes: int) -> dict[str, str]:
        """What every process of the cluster is given besides the operator's own settings:
        the shared keys and evidence folder (made once, here), and how many nodes there are."""
        secret = made_once(self.shared / "secret.key", lambda: secrets.token_urlsafe(48).encode())
        return {"XIAOHAO_NODES": str(nodes), "XIAOHAO_SECRET_KEY": secret.decode().strip(),
                "XIAOHAO_SEAL_KEY_FILE": str(self.shared / "seal.key"),
                "XIAOHAO_EVIDENCE_DIR": str(self.shared / "evidence"),
                "XIAOHAO_TRUSTED_PROXIES": "127.0.0.1"}


def ensure_schema(settings: Settings) -> None:
    """The PostgreSQL schema the settings name, made when it does not exist yet."""
    if settings.store != "postgres" or not settings.postgres_schema:
        return
    import psycopg

    with psycopg.connect(**settings.postgres_connect(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{settings.postgres_schema}"')


def run_cluster(settings: Settings, nodes: int, listen_port: int, nginx: str,
                say: Callable[[str], None], stopping: threading.Event) -> None:
    """Start `nodes` web nodes (ports after `listen_port`), one scheduler and nginx in front on
    `listen_port`, all from `settings` plus the cluster's shared keys; run until `stopping`
    is set or a part stops; then stop every part."""
    if settings.store != "postgres":
        raise InvalidInputError("集群须用 PostgreSQL：请设置 XIAOHAO_STORE=postgres 及其连接参数")
    layout = Layout(settings.var_dir / "cluster")
    env = os.environ | layout.environment(nodes)
    command = [sys.executable, "-c", "from xiaohao.cli import main; main()"]
    ports = [listen_port + i for i in range(1, nodes + 1)]
    parts = [subprocess.Popen([*command, "serve", "--port", str(port)],
                              env=env | {"XIAOHAO_VAR_DIR": str(layout.own(f"node{i}")),
                                         "XIAOHAO_SCHEDULER": "false"})
             for i, port in enumerate(ports, start=1)]
    parts.append(subprocess.Popen([*command, "scheduler"],
                                  env=env | {"XIAOHAO_VAR_DIR": str(layout.own("scheduler"))}))
    prefix = layout.own("nginx")
    config = nginx_prepared(prefix, f"127.0.0.1:{listen_port}",
                            [f"127.0.0.1:{p}" for p in ports])
    parts.append(subprocess.Popen([nginx, "-p", str(prefix), "-c", str(config),
                                   "-g", "daemon off;"]))
    say(f"集群已启动：http://127.0.0.1:{listen_port}/（nginx），节点 "
        + "、".join(f"127.0.0.1:{p}" for p in ports) + "，另有一个周期任务进程；Ctrl-C 停止")
    try:
        while not stopping.wait(0.5):
            if stopped := [p for p in parts if p.poll() is not None]:
                say(f"有进程已退出（{' '.join(map(str, stopped[0].args[-3:]))}），停止集群")
                break
    finally:
        for part in parts:
            if part.poll() is None:
                part.send_signal(signal.SIGTERM)
        for part in parts:
            try:
                part.wait(timeout=30)
            except subprocess.TimeoutExpired:
                part.kill()
