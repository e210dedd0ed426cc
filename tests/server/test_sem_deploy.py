"""docker-compose.yml runs `sqlvec serve` with its data on a named volume: the command is
one the CLI accepts, its --data is where the named volume is mounted, the port is published,
and SIGTERM (the clean shutdown tests/server/test_robustness.py shows) stops it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sqlvec.server.cli import build_parser

REPO = Path(__file__).resolve().parents[2]


def _compose() -> str:
    return (REPO / "docker-compose.yml").read_text()


def test_compose_serves_with_data_on_a_named_volume():
    text = _compose()
    command = ast.literal_eval(re.search(r"^\s+command:\s*(\[.*\])\s*$", text, re.M).group(1))
    args = build_parser().parse_args(command)  # flags the CLI knows (exits on a stale one)
    assert command[0] == "serve" and args.host == "0.0.0.0"
    mounts = re.findall(r"^\s+-\s*([\w-]+):(/[\w/]+)\s*$", text, re.M)
    named = dict(mounts)
    top = text[re.search(r"^volumes:\s*$", text, re.M).end():]
    assert named and all(re.search(rf"^\s+{v}:\s*$", top, re.M) for v in named)  # declared named volumes
    assert args.data in named.values()
    assert re.search(rf'^\s+-\s*"\d+:{args.port}"\s*$', text, re.M)
    assert re.search(r"^\s+stop_signal:\s*SIGTERM\s*$", text, re.M)


def test_image_entrypoint_is_the_sqlvec_command():
    docker = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["sqlvec"]' in docker
    cmd = ast.literal_eval(re.search(r"^CMD\s+(\[.*\])\s*$", docker, re.M).group(1))
    build_parser().parse_args(cmd)
    assert "COPY sqlvec ./sqlvec" in docker and "pyproject.toml" in docker


def test_serve_command_flags_and_entry_points():
    import subprocess
    import sys
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["sqlvec"] == "sqlvec.__main__:main"
    from sqlvec.__main__ import main  # noqa: F401  (the console script's target exists)

    r = subprocess.run([sys.executable, "-m", "sqlvec", "serve", "--help"], capture_output=True,
                       text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr
    for flag in ("--host", "--port", "--data", "--tls-cert", "--tls-key", "--auth"):
        assert flag in r.stdout
    deps = " ".join(project["dependencies"])
    for dep in ("sqlglot", "numpy", "pyarrow", "usearch", "lark"):
        assert dep in deps
    extras = project["optional-dependencies"]
    assert {"pytest", "psycopg[binary]", "asyncpg"} <= {d.split(">")[0].split("=")[0] for d in extras["test"]}
    assert any(d.startswith("cupy") for d in extras["gpu"])


def test_readme_quick_start_is_two_commands_and_ci_runs_the_test_one():
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [ln.split("#")[0].strip() for ln in block.strip().splitlines()]
    assert commands == ["./run serve", "./run test"]
    assert "exec ./run test" in (REPO / ".ci" / "run").read_text()
