"""The suite passes on any date: the unit tests run again with the process clock two years
ahead (libfaketime's preload library moves time(), gettimeofday() and clock_gettime(REALTIME)
for Python and everything it loads, fakeredis's expiries included)."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import libfaketime
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_unit_tests_pass_two_years_from_now(tmp_path: Path) -> None:
    _, preload = libfaketime.get_reload_information()
    env = {**os.environ, **preload, "FAKETIME": "+730d"}
    year = subprocess.run(
        [sys.executable, "-c", "import datetime; print(datetime.date.today().year)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(year.stdout) >= datetime.date.today().year + 1  # the clock really moved

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
