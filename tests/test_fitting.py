"""--minutes N: fitting a routine to a length. The tree rewrite and the solver are pure and
tested on small fixtures; the built-in routines are fitted through the real session (real
speech, a temporary clip cache) and through the real command line."""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import pytest
from helpers import RATE, SOUND_LENGTHS, fake_clips, run_coach

from coach import checker, fitting, loader, nodes, session, words
from coach.compiler import compile_routine
from coach.fitting import Factors, FitError
from coach.layout import lay_out
from coach.units import format_length

FIXTURES = Path(__file__).parent / "fixtures" / "fitting"


def load(name: str) -> nodes.Routine:
    routine, diagnostics = loader.load(FIXTURES / name)
    diagnostics += checker.check(routine)
    assert not [d for d in diagnostics if d.is_error], [d.render() for d in diagnostics]
    return routine


def flat(body) -> list:
    """Every statement of a body, nested ones included, in order."""
    out = []
    for statement in body:
        out.append(statement)
        if isinstance(statement, (nodes.Step, nodes.Include)):
            out += flat(statement.body)
        elif isinstance(statement, nodes.For):
            out += flat(statement.body) + flat(statement.between)
    return out


def of(routine: nodes.Routine, kind: type) -> list:
    return [s for s in flat(routine.body) if isinstance(s, kind)]


def holds(routine: nodes.Routine) -> list[float]:
    return [s.seconds for s in flat(routine.body) if isinstance(s, (nodes.Pause, nodes.Hold))]


def counts(routine: nodes.Routine, kind: type) -> list[int]:
    return [s.count for s in of(routine, kind)]


def laid_out_seconds(routine: nodes.Routine) -> float:
    """The routine's length with fake speech: a tenth of a second per character."""
    plan = compile_routine(routine)
    return lay_out(plan, RATE, fake_clips(plan), SOUND_LENGTHS).length / RATE


def timing_of(routine: nodes.Routine) -> fitting.Timing:
    plan = compile_routine(routine)
    total = lay_out(plan, RATE, fake_clips(plan), SOUND_LENGTHS).length / RATE
    return fitting.measure(routine, plan, total)


# The tree rewrite --------------------------------------------------------------------------

# mixed.routine: pause 4s; per side: hold 30s countdown 5, hold 10s halfway countdown 3,
# hold 6s countdown 5, and the included pause 2s; pause 3s between the sides.
ORIGINAL_HOLDS = [4.0, 30.0, 10.0, 6.0, 2.0, 3.0]


def test_holds_and_pauses_scale_and_keep_room_for_their_countdown():
    routine = load("mixed.routine")
    assert holds(routine) == ORIGINAL_HOLDS
    # Halved: the 10 s hold with halfway and countdown 3 keeps 6 s (twice the countdown, so
    # the halfway cue stays out of it); the 6 s hold keeps countdown + 1 s.
    assert holds(fitting.fit(routine, Factors(holds=0.5))) == [2.0, 15.0, 6.0, 6.0, 1.0, 1.5]
    assert holds(fitting.fit(routine, Factors(holds=2.0))) == [8.0, 60.0, 20.0, 12.0, 4.0, 6.0]
    assert holds(fitting.fit(routine, Factors(holds=1.5))) == [6.0, 45.0, 15.0, 9.0, 3.0, 4.5]


def test_holds_never_leave_half_to_double():
    routine = load("mixed.routine")
    assert holds(fitting.fit(routine, Factors(holds=0.1))) == [2.0, 15.0, 6.0, 6.0, 1.0, 1.5]
    assert holds(fitting.fit(routine, Factors(holds=9.0))) == [8.0, 60.0, 20.0, 12.0, 4.0, 6.0]


def test_counts_never_go_below_the_routines_own():
    routine = load("mixed.routine")
    for factor in (0.1, 0.5, 0.9, 1.0):
        fitted = fitting.fit(routine, Factors(reps=factor, breaths=factor))
        assert counts(fitted, nodes.Repeat) == [25, 7]
        assert counts(fitted, nodes.Breathe) == [3, 2]


def test_counts_grow_up_to_double_and_keep_the_counting_pattern():
    routine = load("mixed.routine")
    # 25 reps counted every 5 stay a multiple of 5; 7 reps counted every 2 grow one by one.
    fitted = fitting.fit(routine, Factors(reps=1.3, breaths=1.5))
    assert counts(fitted, nodes.Repeat) == [35, 9]
    assert counts(fitted, nodes.Breathe) == [5, 3]
    doubled = fitting.fit(routine, Factors(reps=5.0, breaths=5.0))
    assert counts(doubled, nodes.Repeat) == [50, 14]
    assert counts(doubled, nodes.Breathe) == [6, 4]


def test_the_language_bounds_hold():
    routine = load("bounds.routine")
    fitted = fitting.fit(routine, Factors(holds=2.0, reps=2.0, breaths=2.0))
    assert counts(fitted, nodes.Repeat) == [1000, 1000]
    assert counts(fitted, nodes.Breathe) == [200]
    assert holds(fitted) == [checker.MAX_DURATION, 0.4]
    assert not [d for d in checker.check(fitted) if d.is_error]


def test_fit_is_pure_and_changes_nothing_else():
    routine = load("mixed.routine")
    before = repr(routine)
    fitted = fitting.fit(routine, Factors(holds=0.7, reps=1.6, breaths=1.9))
    assert repr(routine) == before  # the input is untouched
    assert fitted is not routine
    # Speech, steps, for items, tempos, countdowns and positions are all as written.
    for kind in (nodes.Say, nodes.Setting):
        assert of(fitted, kind) == of(routine, kind)
    assert [s.name for s in of(fitted, nodes.Step)] == [s.name for s in of(routine, nodes.Step)]
    assert [f.items for f in of(fitted, nodes.For)] == [f.items for f in of(routine, nodes.For)]
    assert [i.path for i in of(fitted, nodes.Include)] == [
        i.path for i in of(routine, nodes.Include)
    ]
    assert [(r.period, r.beats, r.count_every) for r in of(fitted, nodes.Repeat)] == [
        (r.period, r.beats, r.count_every) for r in of(routine, nodes.Repeat)
    ]
    assert [(h.countdown, h.halfway, h.position) for h in of(fitted, nodes.Hold)] == [
        (h.countdown, h.halfway, h.position) for h in of(routine, nodes.Hold)
    ]
    assert [type(s) for s in flat(fitted.body)] == [type(s) for s in flat(routine.body)]
    assert [s.position for s in flat(fitted.body)] == [s.position for s in flat(routine.body)]
    assert fitted.header == routine.header
    assert not [d for d in checker.check(fitted) if d.is_error]


def test_identity_factors_give_an_equal_routine():
    routine = load("mixed.routine")
    assert fitting.fit(routine, Factors()) == routine


# Measuring and solving, on fake speech -------------------------------------------------------


def test_the_model_predicts_the_laid_out_length():
    routine = load("mixed.routine")
    timing = timing_of(routine)
    assert timing.total == pytest.approx(laid_out_seconds(routine))
    assert timing.seconds("holds") == pytest.approx(2 * (30 + 10 + 6 + 2) + 4 + 3)
    assert timing.seconds("breaths") == pytest.approx(3 * 10 + 2 * 2 * 6)
    assert timing.seconds("reps") == pytest.approx(25 * 4 + 7 * 2)
    for factors in (
        Factors(holds=0.5),
        Factors(holds=0.77),
        Factors(holds=1.3, reps=1.2, breaths=1.5),
        Factors(holds=2.0, reps=2.0, breaths=2.0),
    ):
        fitted = fitting.fit(routine, factors)
        assert timing.predict(factors) == pytest.approx(laid_out_seconds(fitted), abs=0.01)


def test_solve_shortens_with_holds_alone():
    routine = load("mixed.routine")
    timing = timing_of(routine)
    target = timing.total - 20
    factors = fitting.solve(timing, target)
    assert factors.reps == factors.breaths == 1.0
    assert 0.5 <= factors.holds < 1.0
    assert laid_out_seconds(fitting.fit(routine, factors)) == pytest.approx(target, abs=1.0)


@pytest.mark.parametrize("extra", [15.0, 60.0, 150.0])
def test_solve_lengthens_in_proportion(extra):
    routine = load("mixed.routine")
    timing = timing_of(routine)
    target = timing.total + extra
    factors = fitting.solve(timing, target)
    fitted = fitting.fit(routine, factors)
    assert laid_out_seconds(fitted) == pytest.approx(target, abs=fitting.tolerance(target) / 3)
    assert 0.5 <= factors.holds <= 2.0
    assert counts(fitted, nodes.Repeat) >= [25, 7]
    if extra >= 60:  # enough to grow every kind of time, and no kind far from the others
        growth = [timing.growth(kind, factors) for kind in ("holds", "reps", "breaths")]
        assert min(growth) > 1.0
        assert max(growth) / min(growth) < 1.6


def test_solve_stops_at_the_bounds():
    timing = timing_of(load("mixed.routine"))
    low, high = timing.reach()
    assert fitting.solve(timing, low - 100) == Factors(holds=0.5)
    assert timing.predict(fitting.solve(timing, high + 100)) == pytest.approx(high)


def test_reach_refusal_names_the_range():
    timing = timing_of(load("mixed.routine"))
    low, high = timing.reach()
    fitting.check_reach(timing, low - 19, 1)  # within the 20 s tolerance: fine
    with pytest.raises(FitError) as short:
        fitting.check_reach(timing, 60.0, 1)
    message = str(short.value)
    assert message.startswith(
        f"mixed can be fitted to between {format_length(low)} and {format_length(high)};"
        " asked for 1 minute"
    )
    assert "never go below" in message
    with pytest.raises(FitError, match="asked for 90 minutes"):
        fitting.check_reach(timing, 90 * 60.0, 90)


def test_tolerance_is_three_percent_and_at_least_twenty_seconds():
    assert fitting.tolerance(300) == 20
    assert fitting.tolerance(1200) == pytest.approx(36)


def test_describe_says_what_changed():
    routine = load("mixed.routine")
    timing = timing_of(routine)
    shorter = fitting.describe(timing, Factors(holds=0.6), 3, 183.0)
    assert shorter.startswith(
        f"Fitted to 3:03 for --minutes 3 (was {format_length(timing.total)}):"
    )
    assert "holds and pauses x0.6" in shorter
    assert "reps and breaths unchanged" in shorter
    longer = fitting.describe(timing, Factors(holds=2.0, reps=1.2, breaths=1.5), 9, 540.0)
    assert "(the longest they may be)" in longer
    # The factors as heard: rep time 136 s for 114 s, breath time 86 s for 54 s.
    assert "reps x1.19 (25 -> 30, 7 -> 8)" in longer
    assert "breaths x1.59 (3 -> 5, 2 -> 3)" in longer
    assert fitting.describe(timing, Factors(), 3, timing.total).endswith("nothing changed.")


# The real session: built-in routines with real speech ---------------------------------------


@pytest.fixture(scope="module")
def clip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fitting-clips")


@pytest.fixture(scope="module")
def build(clip_cache: Path):
    built: dict[tuple[str, float | None], session.Session] = {}

    def get(name: str, minutes: float | None = None) -> session.Session:
        if (name, minutes) not in built:
            built[name, minutes] = session.build(name, cache_dir=clip_cache, minutes=minutes)
        return built[name, minutes]

    return get


def seconds(built: session.Session) -> float:
    return built.timeline.length / built.timeline.sample_rate


def real_timing(built: session.Session) -> fitting.Timing:
    """The built session measured as fitting measures it: its length, and so its reach,
    depends on the real speech, so the figures come from this run's engine."""
    return fitting.measure(built.routine, built.plan, seconds(built))


def assert_fitted(built: session.Session, minutes: float) -> None:
    target = minutes * 60
    assert abs(seconds(built) - target) <= fitting.tolerance(target), seconds(built)
    assert len(built.notes) == 1
    note = built.notes[0]
    assert f"for --minutes {minutes:g} (was " in note
    assert note.startswith(f"Fitted to {format_length(seconds(built))}")


# What the compiler says in each breath cycle; more breaths say them more often (and from
# 3 breaths on, the last one is announced).
BREATH_CUES = {words.BREATHE_IN, words.BREATHE_OUT, words.LAST_BREATH_IN, words.HOLD}


def run_counts(built: session.Session) -> list[int]:
    return [run.count for run in built.timeline.reps]


def checkin_lines(built: session.Session) -> set[str]:
    """The check-in lines the session's plan gives its check-ins."""
    return {
        overlay.line.text
        for segment in built.plan.segments
        for overlay in segment.overlays
        if overlay.kind == "checkin" and overlay.line is not None
    }


def assert_same_shape(fitted: session.Session, original: session.Session) -> None:
    """Fitting changed only timing: same steps, same things said (apart from counting, breath
    cues and check-ins, which come once per interval, so longer holds and more reps and
    breaths say them more often)."""
    assert [c.name for c in fitted.timeline.chapters] == [
        c.name for c in original.timeline.chapters
    ]

    def said(built: session.Session) -> list[str]:
        timed = BREATH_CUES | checkin_lines(built)
        return [
            e.text
            for e in built.timeline.events
            if e.kind == "speech" and not e.text.isdigit() and e.text not in timed
        ]

    assert said(fitted) == said(original)


# wall-release lasts about 12:19 and can be fitted to between about 11:44 and 21:14: 12
# minutes is shorter, 15 and 18 longer.
@pytest.mark.parametrize("minutes", [12, 15, 18])
def test_wall_release_fits_and_keeps_at_least_25_reps_per_position(build, minutes):
    original = build("wall-release")
    built = build("wall-release", minutes)
    assert_fitted(built, minutes)
    reps = run_counts(built)
    assert len(reps) == 5 and min(reps) >= 25
    assert len({*reps}) == 1 and reps[0] % 5 == 0  # counted every 5, so still a multiple
    assert_same_shape(built, original)
    assert not built.warnings


def test_wall_release_at_14_minutes_says_what_changed(build):
    # Longer than its own 12:19, enough for 5 more reps per position.
    note = build("wall-release", 14).notes[0]
    assert f"(was {format_length(seconds(build('wall-release')))})" in note
    assert "reps x1.2 (25 -> 30)" in note


def test_wall_release_fitted_to_its_shortest(build):
    # Asked for 10 to 16 s less than the shortest fit (about 11:44): within the 20 s
    # tolerance, so it is fitted to its shortest.
    shortest, _ = real_timing(build("wall-release")).reach()
    minutes = math.floor((shortest - 10) / 6) / 10
    assert shortest - 16 <= minutes * 60 <= shortest - 10
    built = build("wall-release", minutes)
    assert_fitted(built, minutes)
    assert run_counts(built) == [25] * 5
    assert "holds and pauses x0.5 (the shortest they may be)" in built.notes[0]
    assert "reps and breaths unchanged" in built.notes[0]


@pytest.mark.parametrize(
    ("name", "minutes"),
    [
        ("tender-spot", 10),
        ("tender-spot", 20),
        ("tailbone-release", 10),
        ("tailbone-release", 12),
        ("tailbone-release", 15),
        ("lower-back-ball", 6),
        ("lower-back-ball", 8),
    ],
)
def test_builtin_routines_fit_shorter_and_longer(build, name, minutes):
    original = build(name)
    built = build(name, minutes)
    assert_fitted(built, minutes)
    shorter = minutes * 60 < seconds(original)
    note = built.notes[0]
    if shorter:
        assert seconds(built) < seconds(original)
        assert run_counts(built) == run_counts(original)
        assert "reps" not in note or "reps and breaths unchanged" in note
    else:
        assert seconds(built) > seconds(original)
    assert all(a >= b for a, b in zip(run_counts(built), run_counts(original), strict=True))
    assert_same_shape(built, original)
    assert not built.warnings


def test_lower_back_ball_keeps_five_rotations_each_way_at_least(build):
    built = build("lower-back-ball", 8)
    assert min(run_counts(built)) >= 5
    assert "reps x" in built.notes[0]


def test_tender_spot_holds_keep_their_countdown(build):
    built = build("tender-spot", 10)
    fitted_holds = [h for h in of(built.routine, nodes.Hold) if h.countdown]
    assert fitted_holds and all(h.seconds >= h.countdown + 1 for h in fitted_holds)


@pytest.mark.parametrize(("minutes", "wanted"), [(2, "2 minutes"), (200, "200 minutes")])
def test_out_of_reach_is_refused_with_the_range(build, clip_cache, minutes, wanted):
    low, high = map(format_length, real_timing(build("wall-release")).reach())
    assert re.fullmatch(r"11:\d\d", low) and re.fullmatch(r"21:\d\d", high), (low, high)
    with pytest.raises(FitError) as refused:
        session.build("wall-release", cache_dir=clip_cache, minutes=minutes)
    message = str(refused.value)
    assert message.startswith(
        f"wall-release can be fitted to between {low} and {high}; asked for {wanted}"
    ), message


def test_wall_release_cannot_reach_9_minutes(build, clip_cache):
    # Its 5 x 25 reps alone take 6:57 at 18 per minute; counts never drop below the
    # routine's, so 9 minutes is out of reach and refused rather than cutting reps.
    low, high = map(format_length, real_timing(build("wall-release")).reach())
    with pytest.raises(FitError, match=f"between {low} and {high}; asked for 9 minutes"):
        session.build("wall-release", cache_dir=clip_cache, minutes=9)


def test_without_minutes_there_are_no_notes(build):
    assert build("wall-release").notes == []


# The real command line ---------------------------------------------------------------------


def coach(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return run_coach(*args, cache=cache)


def test_cli_show_fits_and_tells_on_stderr(build, clip_cache):
    result = coach("show", "wall-release", "--minutes", "12", "--json", cache=clip_cache)
    assert result.returncode == 0, result.stderr
    duration = json.loads(result.stdout)["duration"]
    assert abs(duration - 720) <= fitting.tolerance(720)
    was = format_length(seconds(build("wall-release")))
    assert f"Fitted to 12:00 for --minutes 12 (was {was})" in result.stderr
    assert "Fitted" not in result.stdout


def test_cli_refusal_exits_non_zero_without_a_traceback(clip_cache):
    result = coach("show", "wall-release", "--minutes", "2", cache=clip_cache)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "wall-release can be fitted to between" in result.stderr
    assert "asked for 2 minutes" in result.stderr
