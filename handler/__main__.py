"""Entry for ``python -m handler`` (see handler/cli.py)."""

import sys

from handler.cli import main

sys.exit(main())
