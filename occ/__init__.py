"""os-collect-config, systemd-native: collect instance metadata, cache it, run a hook on change.

This module is imported before anything else, also by the console-script entry point that maps
crashes to exit statuses, so it must stay standard-library only and cheap to import.
"""

import logging

__version__ = "15.0.0"

logging.getLogger("occ").addHandler(logging.NullHandler())
