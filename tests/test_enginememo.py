"""An engine's version and voices remembered beside the clip cache: a warm run starts no
festival or flite and loads no espeak-ng, and a changed engine, or a damaged record, is asked
again. Real festival and flite, behind wrappers on PATH that log each start."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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


@pytest.fixture
def logged_flite(tmp_path) -> tuple[dict[str, str], Path]:
    """(environment, log): flite on PATH logs its arguments per start, then runs the real one."""
    bin_dir, log = tmp_path / "bin", tmp_path / "starts.log"
    bin_dir.mkdir()
    real = shutil.which("flite")
    assert real is not None, "flite is installed by scripts/setup.sh"
    wrapper = bin_dir / "flite"
    wrapper.write_text(f'#!/bin/sh\necho "flite $1" >> "{log}"\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "COACH_ENGINE": "flite"}
    return env, log


def test_a_warm_export_runs_no_flite(logged_flite, tmp_path) -> None:
    env, log = logged_flite
    export(env, tmp_path, "first.mp3")
    assert {"flite --version", "flite -lv"} <= set(log.read_text().splitlines())
    log.unlink()
    export(env, tmp_path, "second.mp3")
    assert starts(log) == []
    assert (tmp_path / "first.mp3").read_bytes() == (tmp_path / "second.mp3").read_bytes()
    # an upgrade (here: the program's stamp) is noticed: flite is asked again
    wrapper = Path(env["PATH"].split(os.pathsep)[0]) / "flite"
    stamp = wrapper.stat()
    os.utime(wrapper, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))
    export(env, tmp_path, "third.mp3")
    assert {"flite --version", "flite -lv"} <= set(log.read_text().splitlines())


# Exports in coach's own process, then says what that process holds: pyttsx3 imported or
# espeak-ng's library mapped would mean the engine was started (or asked) there.
_IN_PROCESS = """
import sys
from coach.cli import main
main(sys.argv[1:], standalone_mode=False)
maps = open("/proc/self/maps").read()
print("pyttsx3" in sys.modules, "libespeak-ng" in maps)
"""


def test_a_warm_pyttsx3_export_neither_imports_pyttsx3_nor_loads_espeak_ng(tmp_path) -> None:
    env = {**os.environ, "COACH_ENGINE": "pyttsx3", "COACH_CACHE_DIR": str(tmp_path / "c")}

    def export_in_process(name: str) -> str:
        argv = [sys.executable, "-c", _IN_PROCESS, "export", GOOD, "-o", str(tmp_path / name)]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout.split("\n")[-2]

    # cold: espeak-ng is asked for its version and voices in process (pyttsx3 only in workers)
    assert export_in_process("first.mp3") == "False True"
    assert export_in_process("second.mp3") == "False False"
    assert json.loads((tmp_path / "c" / FACTS_FILE).read_text())["pyttsx3-espeak"]["version"]


def test_an_engine_that_cannot_be_stamped_is_asked(tmp_path, monkeypatch) -> None:
    from coach.flite_engine import FliteEngine
    from coach.pyttsx3_engine import Pyttsx3Engine

    assert FliteEngine().fingerprint() and Pyttsx3Engine().fingerprint()
    assert Pyttsx3Engine("nsss").fingerprint() is None  # another driver: no files to stamp
    monkeypatch.setenv("PATH", str(tmp_path))  # no flite
    assert FliteEngine().fingerprint() is None
