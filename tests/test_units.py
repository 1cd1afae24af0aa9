"""Units: how durations, tempos, speech rates and counts are read, and how bad ones are reported."""

from __future__ import annotations

import pytest

from coach.units import (
    UnitError,
    format_duration,
    format_tempo,
    parse_count,
    parse_duration,
    parse_rate,
    parse_tempo,
)


def unit_error(parse, text: str) -> UnitError:
    with pytest.raises(UnitError) as caught:
        parse(text)
    return caught.value


# Durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5s", 5.0),
        ("5 sec", 5.0),
        ("5 seconds", 5.0),
        ("1 second", 1.0),
        ("2 min", 120.0),
        ("2 minutes", 120.0),
        ("1 minute", 60.0),
        ("1m30s", 90.0),
        ("1.5 min", 90.0),
        ("90s", 90.0),
        ("0.5s", 0.5),
        (".5s", 0.5),
        ("1h", 3600.0),
        ("2 hours", 7200.0),
        ("1h 30min", 5400.0),
        ("1 min 30 s", 90.0),
        ("5S", 5.0),
        ("  5s  ", 5.0),
    ],
)
def test_duration_forms_are_read_as_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_bare_zero_is_zero_seconds() -> None:
    assert parse_duration("0") == 0.0


def test_a_number_without_unit_is_rejected_at_its_end() -> None:
    error = unit_error(parse_duration, "5")
    assert (error.message, error.offset) == ("missing unit after '5'", 1)
    assert error.hint is not None and "'5s'" in error.hint


def test_an_unknown_unit_is_rejected_at_the_unit() -> None:
    error = unit_error(parse_duration, "5 parsecs")
    assert (error.message, error.offset) == ("unknown unit 'parsecs'", 2)


def test_an_unknown_unit_close_to_a_known_one_gets_a_hint() -> None:
    assert unit_error(parse_duration, "5 secnds").hint == "did you mean 'seconds'?"


def test_milliseconds_are_not_a_unit() -> None:
    error = unit_error(parse_duration, "300ms")
    assert (error.message, error.offset) == ("unknown unit 'ms'", 3)


def test_duration_parts_must_go_from_large_to_small() -> None:
    error = unit_error(parse_duration, "30s1m")
    assert (error.message, error.offset) == ("'m' cannot follow 's' in one duration", 4)


def test_a_unit_may_not_repeat_in_one_duration() -> None:
    error = unit_error(parse_duration, "1m 2m")
    assert (error.message, error.offset) == ("'m' cannot follow 'm' in one duration", 4)


def test_a_negative_duration_is_rejected() -> None:
    error = unit_error(parse_duration, " -5s")
    assert (error.message, error.offset) == ("a duration cannot be negative", 1)


def test_words_are_not_a_duration() -> None:
    error = unit_error(parse_duration, "abc")
    assert (error.message, error.offset) == ("expected a duration, found 'abc'", 0)


def test_text_after_a_duration_is_rejected_where_it_starts() -> None:
    error = unit_error(parse_duration, "5s extra")
    assert (error.message, error.offset) == ("unexpected 'extra' after the duration", 3)


def test_an_empty_duration_is_missing() -> None:
    error = unit_error(parse_duration, "  ")
    assert (error.message, error.offset) == ("missing duration", 2)


def test_an_astronomical_duration_is_rejected_not_infinite() -> None:
    assert unit_error(parse_duration, "9" * 400 + "s").message == "number is too large"


# Tempos ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("15 per minute", 4.0),
        ("15 per min", 4.0),
        ("15/min", 4.0),
        ("30 / minute", 2.0),
        ("every 4s", 4.0),
        ("every 1m30s", 90.0),
        ("2 per second", 0.5),
        ("7.5 per minute", 8.0),
    ],
)
def test_tempo_forms_are_read_as_the_period_of_one_rep(text: str, period: float) -> None:
    assert parse_tempo(text) == pytest.approx(period)


def test_a_tempo_without_unit_is_rejected_after_the_number() -> None:
    error = unit_error(parse_tempo, "15")
    assert (error.message, error.offset) == ("expected 'per minute' after '15'", 2)


def test_a_tempo_with_an_unknown_unit_is_rejected_at_the_unit() -> None:
    error = unit_error(parse_tempo, "15 per fortnight")
    assert (error.message, error.offset) == ("unknown tempo unit 'fortnight'", 7)


def test_a_tempo_of_zero_is_rejected() -> None:
    error = unit_error(parse_tempo, "0 per minute")
    assert (error.message, error.offset) == ("a tempo must be more than 0 reps per minute", 0)


def test_every_zero_seconds_is_rejected() -> None:
    error = unit_error(parse_tempo, "every 0s")
    assert (error.message, error.offset) == ("a tempo of one rep every 0 seconds is impossible", 6)


def test_every_needs_a_duration() -> None:
    error = unit_error(parse_tempo, "every")
    assert (error.message, error.offset) == ("missing duration after 'every'", 5)


def test_an_error_in_the_duration_after_every_points_into_it() -> None:
    error = unit_error(parse_tempo, "every 4")
    assert (error.message, error.offset) == ("missing unit after '4'", 7)


def test_words_are_not_a_tempo() -> None:
    error = unit_error(parse_tempo, "fast")
    assert (error.message, error.offset) == ("expected a tempo, found 'fast'", 0)


# Speech rates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["140 wpm", "140", "140wpm", "140 WPM", "140 words per minute", "140 words/min"]
)
def test_rate_forms_are_read_as_words_per_minute(text: str) -> None:
    assert parse_rate(text) == 140


def test_a_rate_is_a_whole_number() -> None:
    error = unit_error(parse_rate, "140.5 wpm")
    assert error.message == "a speech rate must be a whole number of words per minute"


def test_a_rate_with_an_unknown_unit_is_rejected_at_the_unit() -> None:
    error = unit_error(parse_rate, "140 bpm")
    assert (error.message, error.offset) == ("unknown rate unit 'bpm'", 4)


def test_words_are_not_a_rate() -> None:
    error = unit_error(parse_rate, "fast")
    assert (error.message, error.offset) == ("expected a speech rate, found 'fast'", 0)


# Counts ---------------------------------------------------------------------------------------


def test_a_count_is_a_whole_number() -> None:
    assert parse_count("25") == 25


@pytest.mark.parametrize("text", ["2.5", "-1", "five", "5x"])
def test_anything_but_digits_is_not_a_count(text: str) -> None:
    error = unit_error(parse_count, text)
    assert (error.message, error.offset) == (f"expected a whole number, found '{text}'", 0)


def test_a_count_with_too_many_digits_is_rejected() -> None:
    assert "too large" in unit_error(parse_count, "9" * 5000).message


# Formatting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(4.5, "4.5s"), (90, "1m 30s"), (7200, "2h"), (3900, "1h 5m"), (7201, "2h 1s")],
)
def test_durations_are_formatted_briefly(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_a_tempo_is_formatted_as_reps_per_minute() -> None:
    assert format_tempo(4.0) == "15 per minute"
