"""Exit statuses (occ.status): the original's, and the systemd ExecCondition= map."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from occ.status import COLLECT_STATUSES, ExitStatus, from_returncode


@pytest.mark.parametrize("returncode", [0, 1, 3, 100, 255])
def test_a_normal_exit_status_is_kept(returncode):
    assert from_returncode(returncode) == returncode


@pytest.mark.parametrize(
    ("sig", "expected"),
    [(signal.SIGTERM, 241), (signal.SIGKILL, 247), (signal.SIGHUP, 255), (signal.SIGINT, 254)],
)
def test_a_hook_killed_by_signal_n_gives_256_minus_n(sig, expected):
    child = subprocess.run(["/bin/sh", "-c", f"kill -{int(sig)} $$"], check=False)
    assert child.returncode == -sig
    assert from_returncode(child.returncode) == expected


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_the_mapping_is_what_the_original_exited_with(sig):
    # The original passed the negative return code to sys.exit().
    original = subprocess.run([sys.executable, "-c", f"import sys; sys.exit({-int(sig)})"])
    assert from_returncode(-sig) == original.returncode


def test_collect_statuses_follow_execcondition():
    # ExecCondition=: 0 runs the rest of the unit, 1-254 skip it quietly, 255 fails the unit.
    assert ExitStatus.OK == 0
    assert ExitStatus.ERROR == 255
    assert 1 <= ExitStatus.UNCHANGED <= 254
    assert set(COLLECT_STATUSES) == {0, int(ExitStatus.UNCHANGED), 255}


def test_unchanged_is_not_pythons_crash_status():
    # A Python traceback exits 1; it must never read as "unchanged".
    assert ExitStatus.UNCHANGED != 1


def test_legacy_error_statuses_are_nonzero_and_distinct():
    assert ExitStatus.USAGE == 2  # argparse's own usage status
    errors = [ExitStatus.USAGE, ExitStatus.CONFIG, ExitStatus.CACHE, ExitStatus.ERROR]
    assert all(status != 0 for status in errors)
    statuses = {name: v for name, v in vars(ExitStatus).items() if name.isupper()}
    assert len(set(statuses.values())) == len(statuses)
