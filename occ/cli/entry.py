"""The console-script entry point: run the CLI and guarantee a meaningful exit status.

Only the standard library and ``occ.status`` (itself standard-library only) are imported at the
top, and the real program is imported inside the ``try``: in the systemd modes even an
ImportError or a crash must exit 255, because Python's default status 1 would read as
"unchanged" to ``ExecCondition=`` and hide the failure.
"""

import sys

from occ.status import COLLECT_STATUSES, SYSTEMD_MODES, ExitStatus

ERROR = int(ExitStatus.ERROR)


def _status_of(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    sys.stderr.write(f"{exc.code}\n")
    return 1


def main() -> int:
    """Run ``os-collect-config`` with ``sys.argv``; return the exit status."""
    argv = sys.argv[1:]
    mode = argv[0] if argv and argv[0] in SYSTEMD_MODES else None
    failed = False  # True: the status did not come from the program's own decision
    try:
        # deferred: an import failure must become an exit status
        from occ.cli import dispatch

        code = dispatch.main(mode, argv[1:] if mode else argv)
    except SystemExit as exc:  # argparse: 0 for --help/--version, 2 for usage errors
        code = _status_of(exc)
        failed = code != 0
    except KeyboardInterrupt:
        code, failed = 130, True
    except BrokenPipeError:
        # stdout closed early (``--print | head``): not an error of ours. In a systemd mode
        # nothing is piped and the pass did not finish: 0 would tell ExecCondition= to run
        # the hook on a hand-over that was never written.
        _silence_stdout()
        code, failed = 0, mode is not None
    except BaseException:  # the last line of defence for the exit status
        import traceback

        # <3>: journald reads the first line as PRIORITY=err.
        sys.stderr.write("<3>os-collect-config: internal error, please report this bug\n")
        sys.stderr.write(traceback.format_exc())
        code, failed = ERROR, True
    if mode and failed:
        return ERROR
    if mode == "collect" and code not in COLLECT_STATUSES:
        return ERROR
    return code


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
