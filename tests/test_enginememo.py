"""An engine's version and voices remembered beside the clip cache: a warm run starts no
festival, and a changed festival, or a damaged record, is asked again. Real festival, behind
a wrapper on PATH that logs each start."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import run_coach

from coach.enginememo import FACTS_FILE

GOOD = str(Path(__file__).parent / "fixtures" / "cli" / "good.routine")


@pytest.fixture
def logged_festival(tmp_path) -> tuple[dict[str, str], Path]:
    """(environment, log): festival and text2wave on PATH log a line per start, then run
    the real programs."""
    bin_dir, log = tmp_path / "bin", tmp_path / "starts.log"
    bin_dir.mkdir()
    for program in ("festival", "text2wave"):
        real = shutil.which(program)
        assert real is not None, f"{program} is installed by scripts/setup.sh"
        wrapper = bin_dir / program
        wrapper.write_text(f'#!/bin/sh\necho {program} >> "{log}"\nexec {real} "$@"\n')
        wrapper.chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "COACH_ENGINE": "festival"}
    return env, log


def starts(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def export(env: dict[str, str], tmp_path: Path, name: str = "out.mp3"):
    result = run_coach("export", GOOD, "-o", str(tmp_path / name), env=env, cache=tmp_path / "c")
    assert result.returncode == 0, result.stderr
    return result


def test_a_warm_export_starts_no_festival(logged_festival, tmp_path) -> None:
    env, log = logged_festival
    export(env, tmp_path, "first.mp3")
    # cold: festival asked once, then kept running to speak (a worker per core at most)
    assert starts(log).count("festival") >= 2 and "text2wave" not in starts(log)
    log.unlink()
    export(env, tmp_path, "second.mp3")
    assert starts(log) == []
    assert (tmp_path / "first.mp3").read_bytes() == (tmp_path / "second.mp3").read_bytes()


def test_a_changed_festival_is_asked_again(logged_festival, tmp_path) -> None:
    env, log = logged_festival
    export(env, tmp_path)
    wrapper = Path(env["PATH"].split(os.pathsep)[0]) / "festival"
    stamp = wrapper.stat()
    os.utime(wrapper, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))  # "upgraded"
    log.unlink()
    export(env, tmp_path)
    assert starts(log) == ["festival"]  # asked for its version and voices; no clip spoken again


@pytest.mark.parametrize(
    "damage", ["not json {", '{"festival": {"fingerprint": 7}}', '{"festival": []}', "fifo"]
)
def test_a_damaged_record_is_asked_again_and_rewritten(logged_festival, tmp_path, damage):
    env, log = logged_festival
    export(env, tmp_path)
    record = tmp_path / "c" / FACTS_FILE
    record.unlink()
    if damage == "fifo":
        os.mkfifo(record)
    else:
        record.write_text(damage)
    log.unlink()
    export(env, tmp_path)  # neither hangs on a FIFO nor fails on garbage
    assert starts(log) == ["festival"]
    assert json.loads(record.read_text())["festival"]["voices"][0][0] == "cmu_us_slt_arctic_hts"


def test_a_voice_festival_lacks_is_still_refused_from_the_record(logged_festival, tmp_path):
    env, log = logged_festival
    export(env, tmp_path)
    log.unlink()
    result = run_coach(
        "export", GOOD, "-o", str(tmp_path / "x.mp3"), "--voice", "kal_diphon",
        env=env, cache=tmp_path / "c",
    )  # fmt: skip
    assert result.returncode != 0 and "kal_diphon" in result.stderr
    assert "Traceback" not in result.stderr and starts(log) == []
