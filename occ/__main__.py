"""``python -m occ``: the same entry point as the ``os-collect-config`` console script."""

import sys

from occ.cli.entry import main

sys.exit(main())
