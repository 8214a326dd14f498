"""Exit statuses, in one place.

Two families share this table:

* **Legacy invocations** (``--print``, ``--print-cachedir``, ``--one-time``, ``--force``,
  continuous mode) keep the original's statuses: 0 on success, the hook's own status when a hook
  ran and failed, 2 for command-line usage errors, and a non-zero status for configuration
  errors (``CONFIG``) and unusable cache directories (``CACHE``).
* **systemd modes** (``collect``, ``run-hook``, ``commit``) are read by systemd. ``collect`` runs
  as ``ExecCondition=``, where 0 continues with the hook, 1-254 skip the rest of the unit without
  failing it, and 255 fails it. So ``collect`` uses 0 / ``UNCHANGED`` / ``ERROR`` only, and every
  other failure, a Python crash included, becomes ``ERROR``: Python's default status 1 would
  otherwise read as "unchanged".
"""

from __future__ import annotations


class ExitStatus:
    """The statuses, as plain ints: an ``enum`` would cost every pass the import of ``enum``
    (doc/performance.rst), and systemd reads numbers anyway."""

    # Legacy: success. collect: metadata changed, systemd goes on to run the hook.
    OK = 0
    # argparse usage error in legacy modes (unknown option, split collector list).
    USAGE = 2
    # Legacy: the cache directory cannot be used (EX_IOERR from sysexits.h).
    CACHE = 74
    # Legacy: the configuration is invalid; nothing was collected (EX_CONFIG from sysexits.h).
    CONFIG = 78
    # collect: nothing changed, or a failing hook is backing off. ExecCondition= skips the rest
    # of the unit and leaves it inactive, not failed. Chosen instead of 1 so that a wrapper or the
    # systemd < 243 fallback (SuccessExitStatus=100) can tell it from a crash.
    UNCHANGED = 100
    # systemd modes: any error (ExecCondition= fails the unit). Everywhere: an internal crash.
    ERROR = 255


# The systemd modes, named by the first command-line argument ("retry" is the operator's
# command that clears the hook back-off and starts a pass the way the units do).
SYSTEMD_MODES = ("collect", "run-hook", "commit", "retry")

# What ``collect`` may return to ExecCondition=; occ.cli.entry maps anything else to ERROR.
COLLECT_STATUSES = frozenset({ExitStatus.OK, ExitStatus.UNCHANGED, ExitStatus.ERROR})


def from_returncode(returncode: int) -> int:
    """Given a subprocess return code, return the exit status the original would exit with.

    A child killed by signal N has returncode -N; the original passed that to ``sys.exit``,
    which exits with 256 - N (241 for SIGTERM).
    """
    return returncode if returncode >= 0 else 256 + returncode
