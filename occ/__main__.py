"""``python -m occ``: the same entry point as the ``os-collect-config`` console script."""

from occ.cli.entry import run

run()
