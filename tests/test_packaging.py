"""A plain `pip install` of the wheel, not the editable checkout, can set up a county and serve it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import venv
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "projections", "scheduler", "web", "xiaohao")
HTMX = next((ROOT / "web" / "static").glob("htmx-*.js")).name

pytestmark = pytest.mark.slow


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def _build_isolation_flags() -> list[str]:
    """Build with the dev venv's setuptools when it is new enough, else let pip fetch one.

    pyproject.toml asks for setuptools>=68, and until 70.1 the bdist_wheel command lived in the
    separate `wheel` package. The dev venv that `make` creates keeps the setuptools that came with
    Python (65.5 on Python 3.11) and has no `wheel`, so `--no-build-isolation` fails there with
    "invalid command 'bdist_wheel'"; pip's isolated build installs setuptools>=68 as declared.
    """
    try:
        setuptools = _numbers(version("setuptools"))
    except Exception:
        return []
    try:
        version("wheel")
        has_wheel = True
    except Exception:
        has_wheel = False
    if setuptools >= (70, 1) or (setuptools >= (68,) and has_wheel):
        return ["--no-build-isolation"]
    return []


def _tracked_files() -> list[str]:
    """The files git knows here: tracked ones and new ones not ignored, as a fresh clone has them."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return sorted({name for name in listed.split("\0") if name and (ROOT / name).is_file()})


def _build_wheel(tmp: Path) -> Path:
    # The build runs on a copy: setuptools builds in the source tree and keeps build/lib between
    # runs, so a file dropped from package-data could still ride along from an earlier build.
    source = tmp / "source"
    for name in _tracked_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    out = tmp / "dist"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            *_build_isolation_flags(), "-w", str(out), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = out.glob("xiaohao-*.whl")
    return wheel


def _fresh_venv(tmp: Path, wheel: Path) -> Path:
    """A new venv holding the project from the wheel only, its dependencies borrowed."""
    home = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                                "--quiet", "--no-deps", str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # The dependencies come from the dev venv through one path line in a .pth file. This is honest:
    # site only appends such a line to sys.path; it is not a site dir, so the .pth files inside
    # it are not run, among them the editable install's finder that maps `web`, `xiaohao`, ...
    # to /work/main. The project's own packages can therefore come from the wheel only, and the
    # fresh venv's site-packages comes first on sys.path anyway.
    asked = [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
    fresh_site = Path(subprocess.run(asked, capture_output=True, text=True, check=True).stdout.strip())
    (fresh_site / "dev-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return home


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return _build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_carries_every_module_template_static_and_data_file(wheel):
    """A wheel built from the checkout holds every tracked module and every file opened at run time."""
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "web/routes/tickets.py", "web/templates/base.html", "web/templates/login.html",
        f"web/static/{HTMX}", "web/static/app.css",
        "web/static/swagger/swagger-ui-bundle.js", "web/static/swagger/swagger-ui.css",
        "xiaohao/adapters/mail_templates/_mail.html", "xiaohao/adapters/mail_templates/unit_list.txt",
        "domain/data/indicators.yaml", "xiaohao/seed/county.yaml",
    }
    # Every tracked module and every tracked file in the folders the code opens must be there.
    opened = ("domain/data/", "web/templates/", "web/static/", "xiaohao/adapters/mail_templates/",
              "xiaohao/seed/")
    expected |= {name for name in _tracked_files()
                 if name.startswith(tuple(f"{package}/" for package in PACKAGES))
                 and (name.endswith(".py") or name.startswith(opened))}
    assert sorted(expected - names) == []
    assert not [name for name in names if name.startswith("tests/") or "__pycache__" in name]


def test_the_installed_wheel_sets_up_a_county_and_serves_it(wheel, tmp_path):
    """From a fresh venv: the packages are the wheel's, `init` works, and `serve` answers with pages."""
    # Installed into a fresh venv, the project's packages are the wheel's, not the checkout's.
    home = _fresh_venv(tmp_path, wheel)
    where = subprocess.run([str(home / "bin" / "python"), "-c",
                            "import web, xiaohao.adapters.mail; print(web.__file__)"],
                           cwd=tmp_path, env={"PATH": os.environ["PATH"]},
                           capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    web_file = Path(where.stdout.strip())
    assert web_file.is_relative_to(home) and not web_file.is_relative_to(ROOT)

    # An operator sets up a county in an empty folder and serves it from the installed command.
    work = tmp_path / "work"
    work.mkdir()
    env = {"PATH": os.environ["PATH"], "XIAOHAO_ARGON2_MEMORY_KIB": "8192",
           "XIAOHAO_ARGON2_TIME_COST": "1"}
    command = str(home / "bin" / "xiaohao")
    init = subprocess.run([command, "init", "--password", "some-long-password"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    assert (work / "var").is_dir()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([command, "serve", "--port", str(port)], cwd=work, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).read()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "the installed server did not answer in 30 s"
                time.sleep(0.2)
        with urllib.request.urlopen(f"{base}/login", timeout=10) as page:
            assert page.status == 200
            assert "登录" in page.read().decode()
        for asset in (HTMX, "swagger/swagger-ui.css"):
            with urllib.request.urlopen(f"{base}/static/{asset}", timeout=10) as served:
                assert served.status == 200
                assert served.read() == (ROOT / "web" / "static" / asset).read_bytes()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stderr.close()
