"""Shared test helpers: compile fixture routines and lay them out with fake clip lengths."""

from __future__ import annotations

from pathlib import Path

from coach import parser
from coach.compiler import Overrides, compile_routine
from coach.layout import lay_out
from coach.plan import ClipInfo, Plan
from coach.timeline import Timeline

FIXTURES = Path(__file__).parent / "fixtures"
RATE = 22050
# Fake speech for the pure stages: a tenth of a second per character.
SAMPLES_PER_CHAR = RATE // 10
SOUND_LENGTHS = {"click": 441, "click-accent": 661, "chime": 33075, "bell": 66150, "tick": 220}


def compile_fixture(name: str, overrides: Overrides | None = None) -> Plan:
    path = FIXTURES / "compile" / name
    routine, diagnostics = parser.parse(path.read_text(), str(path))
    assert not [d for d in diagnostics if d.is_error], [d.render() for d in diagnostics]
    return compile_routine(routine, overrides)


def fake_clips(plan: Plan) -> dict:
    return {
        line: ClipInfo(f"key-{line.text}", len(line.text) * SAMPLES_PER_CHAR)
        for line in plan.speech_lines()
    }


def lay_out_fixture(name: str, overrides: Overrides | None = None) -> Timeline:
    plan = compile_fixture(name, overrides)
    return lay_out(plan, RATE, fake_clips(plan), SOUND_LENGTHS)
