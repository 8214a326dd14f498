"""os-collect-config, systemd-native: collect instance metadata, cache it, run a hook on change.

This module is imported before anything else, also by the console-script entry point that maps
crashes to exit statuses, so it must stay standard-library only and cheap to import: it does not
even import ``logging``, which an idle pass never loads (doc/performance.rst). The command line
configures logging itself (``occ.log.logsetup``).
"""

__version__ = "15.0.0"
