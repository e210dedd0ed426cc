"""`python -m sqlvec serve ...` and the `sqlvec` console script."""

from __future__ import annotations

import sys

from sqlvec.server.cli import main

if __name__ == "__main__":
    sys.exit(main())
