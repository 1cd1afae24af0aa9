"""`coach show --json` is written a piece at a time, and reads exactly as one json.dumps."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import lay_out_fixture, run_coach

from coach.timeline import Chapter, Event, Timeline

GOOD = str(Path(__file__).parent / "fixtures" / "cli" / "good.routine")


def test_the_pieces_join_to_the_whole_document() -> None:
    timeline = lay_out_fixture("reps.routine")
    assert len(timeline.events) > 10
    joined = "".join(timeline.json_chunks())
    assert joined == json.dumps(timeline.to_dict(), indent=2)


def test_a_session_without_events_is_one_piece() -> None:
    timeline = Timeline("Quiet", 22050, 22050, [Chapter("Only", 0, 22050)], [])
    assert list(timeline.json_chunks()) == [json.dumps(timeline.to_dict(), indent=2)]


def test_events_are_turned_into_text_one_at_a_time() -> None:
    events = [Event(i * 100, 50, "click", "click") for i in range(1000)]
    timeline = Timeline("Clicks", 22050, 200_000, [], events)
    chunks = timeline.json_chunks()
    next(chunks)  # the head
    assert json.loads(next(chunks).lstrip(",\n"))["start"] == 0.0  # the first event alone


def test_coach_show_json_prints_the_timeline(tmp_path) -> None:
    result = run_coach("show", GOOD, "--json", cache=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["title"] == "Tiny" and document["events"]
    assert result.stdout.endswith("}\n")
