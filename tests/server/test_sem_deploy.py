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
