"""The console-script entry point: run the CLI and guarantee a meaningful exit status.

Only the standard library and ``occ.status`` (itself standard-library only) are imported at the
top, and the real program is imported inside the ``try``: in the systemd modes even an
ImportError or a crash must exit 255, because Python's default status 1 would read as
"unchanged" to ``ExecCondition=`` and hide the failure.
"""

import sys

from occ.status import COLLECT_STATUSES, SYSTEMD_MODES, ExitStatus

ERROR = ExitStatus.ERROR
# Tools that save what they measured at the interpreter's exit (see ``run``).
_EXIT_HOOKED = ("coverage", "cProfile", "profile", "yappi")


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


def run() -> None:
    """The program itself (console script, packaged launcher, ``python -m occ``): ``main()``,
    then the end of the process.

    After ``main()`` a pass has nothing left to do, and the interpreter's own finalization
    (freeing every module of ``requests`` one by one) costs a network pass about 55 ms
    (doc/performance.rst). So what finalization would do for occ is done here, flushing
    logging's handlers, stdout and stderr, and the process ends with ``os._exit``. Not when
    coverage or a profiler is loaded: they write their data at the normal exit.
    """
    code = main()
    if any(name in sys.modules for name in _EXIT_HOOKED) or sys.gettrace() or sys.getprofile():
        sys.exit(code)
    import os

    logging = sys.modules.get("logging")
    if logging is not None:
        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it anyway
            pass
    os._exit(code & 0xFF)


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
