"""Entry point: ``python -m insforge_tools.sandbox.standin_cli``."""

import sys

from insforge_tools.sandbox.standin_cli._main import main

sys.exit(main())
