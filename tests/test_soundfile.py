"""Sound files: only plain WAV, MP3, Ogg and FLAC files are probed and decoded, within bounds."""

from __future__ import annotations

import os
import random
import shutil
import socket
import struct
import subprocess
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from coach.soundfile import load_sound_file
from coach.soundprobe import MAX_SOUND_SECONDS, SoundFileError, SoundInfo, probe_sound

RATE = 22050
USE = "use WAV, MP3, Ogg or FLAC"
needs_ffmpeg = pytest.mark.skipif(
    not (shutil.which("ffmpeg") and shutil.which("ffprobe")), reason="needs ffmpeg"
)


def ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *map(str, args)], check=True)


def tone(path: Path, seconds: float = 1.5, *encoder: str) -> Path:
    """A 440 Hz tone of amplitude 0.5 at 44.1 kHz, encoded as `path`'s suffix (and
    `encoder`) say."""
    source = f"sine=frequency=440:duration={seconds}:sample_rate=44100"
    # lavfi's sine has amplitude 1/8.
    ffmpeg("-f", "lavfi", "-i", source, "-af", "volume=4", *encoder, path)
    return path


def wav_bytes(rate: int, data: bytes, claimed: int | None = None, bits: int = 16) -> bytes:
    """A mono PCM WAV whose header says `rate` and a data size of `claimed` bytes."""
    size = len(data) if claimed is None else claimed
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * bits // 8, bits // 8, bits)
    riff = min(36 + size, 0xFFFFFFFF)
    return (
        b"RIFF"
        + struct.pack("<I", riff)
        + b"WAVE"
        + b"fmt "
        + fmt
        + b"data"
        + struct.pack("<I", size)
        + data
    )


def refusal(path: Path) -> str:
    with pytest.raises(SoundFileError) as error:
        probe_sound(path, path.name)
    return str(error.value)


# --- accepted files -----------------------------------------------------------------------

FORMATS = [
    ("tone.wav", (), "wav"),
    ("tone.mp3", (), "mp3"),
    ("tone.ogg", ("-c:a", "libvorbis"), "ogg"),
    ("opus.ogg", ("-c:a", "libopus"), "ogg"),
    ("tone.flac", (), "flac"),
]


@needs_ffmpeg
@pytest.mark.parametrize(("name", "encoder", "kind"), FORMATS)
def test_each_format_is_accepted_with_its_real_duration(
    tmp_path: Path, name: str, encoder: tuple[str, ...], kind: str
) -> None:
    info = probe_sound(tone(tmp_path / name, 1.5, *encoder))
    assert info.format == kind
    assert info.seconds == pytest.approx(1.5, abs=0.05)


@needs_ffmpeg
@pytest.mark.parametrize(("name", "encoder", "kind"), FORMATS)
def test_decoding_yields_the_probed_duration_of_audio(
    tmp_path: Path, name: str, encoder: tuple[str, ...], kind: str
) -> None:
    path = tone(tmp_path / name, 1.5, *encoder)
    samples = load_sound_file(path, RATE)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert len(samples) == pytest.approx(probe_sound(path).seconds * RATE, abs=0.05 * RATE)
    assert len(samples) <= probe_sound(path).seconds * RATE + 1
    assert 0.4 < np.max(np.abs(samples)) <= 0.55


def test_the_format_comes_from_the_content_not_the_name(tmp_path: Path) -> None:
    misnamed = tmp_path / "really-a-wav.mp3"
    misnamed.write_bytes(wav_bytes(RATE, bytes(2 * RATE)))
    assert probe_sound(misnamed) == SoundInfo("wav", 1.0)


@needs_ffmpeg
def test_a_truncated_mp3_lasts_as_long_as_the_frames_it_still_has(tmp_path: Path) -> None:
    whole = tone(tmp_path / "whole.mp3", 4.0).read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole[: len(whole) // 2])  # its header still describes 4 seconds
    info = probe_sound(cut)
    assert info.seconds == pytest.approx(2.0, abs=0.1)
    assert len(load_sound_file(cut, RATE)) <= info.seconds * RATE + 1


def test_a_wav_header_claiming_more_data_than_the_file_holds_counts_what_is_there(
    tmp_path: Path,
) -> None:
    path = tmp_path / "liar.wav"
    path.write_bytes(wav_bytes(RATE, bytes(RATE), claimed=0xFFFFFF00))
    assert probe_sound(path).seconds == pytest.approx(0.5)
    assert len(load_sound_file(path, RATE)) == RATE // 2


@needs_ffmpeg
@pytest.mark.parametrize("codec", ["pcm_u8", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_f64le"])
def test_wav_sample_formats_decode_like_16_bit(tmp_path: Path, codec: str) -> None:
    reference = load_sound_file(tone(tmp_path / "s16.wav", 0.5, "-ar", str(RATE)), RATE)
    other = load_sound_file(tone(tmp_path / "x.wav", 0.5, "-ar", str(RATE), "-c:a", codec), RATE)
    assert len(other) == len(reference)
    assert np.max(np.abs(other - reference)) < 1 / 100  # 8-bit is the coarsest


def test_a_stereo_wav_is_mixed_to_mono_as_the_mean_of_its_channels(tmp_path: Path) -> None:
    left = np.full(1000, 0.75)
    right = np.linspace(-0.25, 0.25, 1000)
    frames = np.rint(np.stack([left, right], axis=1) * 32768).astype("<i2")
    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames.tobytes())
    samples = load_sound_file(path, RATE)
    assert np.allclose(samples, (left + right) / 2, atol=1 / 32768)


@needs_ffmpeg
def test_wav_needs_no_ffmpeg_while_other_formats_name_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wav = tone(tmp_path / "t.wav", 0.5)
    mp3 = tone(tmp_path / "t.mp3", 0.5)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert probe_sound(wav).seconds == pytest.approx(0.5)
    assert len(load_sound_file(wav, RATE)) == RATE // 2
    message = "ffprobe is not installed; it is needed to read MP3, Ogg and FLAC sound files"
    with pytest.raises(SoundFileError, match=message + r" \(Debian: sudo apt-get install ffmpeg\)"):
        probe_sound(mp3)


# --- files that refer to others -----------------------------------------------------------


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """Loud audio outside the routine's directory, which no sound file may bring in."""
    outside = tmp_path / "outside"
    outside.mkdir()
    path: Path = outside / "secret.wav"
    t = np.arange(RATE) / RATE
    loud = np.rint(0.9 * 32767 * np.sin(2 * np.pi * 300 * t)).astype("<i2")
    path.write_bytes(wav_bytes(RATE, loud.tobytes()))
    (tmp_path / "routine").mkdir()
    return path


@pytest.mark.parametrize("name", ["x.mp3", "x.wav", "x.ogg", "x.m3u8"])
def test_an_hls_playlist_is_refused_whatever_its_name(
    tmp_path: Path, secret: Path, name: str
) -> None:
    path = tmp_path / "routine" / name
    path.write_text(
        f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{secret}\n"
        "#EXT-X-ENDLIST\n"
    )
    expected = (
        f"sound file '{name}' is not a plain audio file (it looks like an HLS playlist); {USE}"
    )
    assert refusal(path) == expected
    with pytest.raises(SoundFileError, match="it looks like an HLS playlist"):
        load_sound_file(path, RATE)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("#EXTM3U\n{secret}\n", "an M3U playlist"),
        ("ffconcat version 1.0\nfile '{secret}'\n", "an ffconcat list"),
        ("file '{secret}'\n", "a concat list"),
        ("[playlist]\nFile1={secret}\n", "a PLS playlist"),
        ("v=0\no=- 0 0 IN IP4 127.0.0.1\n", "an SDP description"),
        ("<?xml version='1.0'?><MPD/>", "an XML file"),
        ("warm up first, then stretch\n", "a text file"),
    ],
)
def test_lists_and_text_are_refused_saying_what_they_look_like(
    tmp_path: Path, secret: Path, text: str, kind: str
) -> None:
    path = tmp_path / "routine" / "x.ogg"
    path.write_text(text.format(secret=secret))
    assert (
        refusal(path)
        == f"sound file 'x.ogg' is not a plain audio file (it looks like {kind}); {USE}"
    )


@needs_ffmpeg
def test_a_playlist_after_real_mp3_frames_is_never_followed(tmp_path: Path, secret: Path) -> None:
    path = tmp_path / "routine" / "x.mp3"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "1", path)
    with path.open("a") as playlist:
        playlist.write(f"\n#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{secret}\n")
    samples = load_sound_file(path, RATE)
    assert len(samples) <= 1.1 * RATE
    assert np.max(np.abs(samples)) < 0.01  # silence: the secret's 0.9 tone never got in


@needs_ffmpeg
def test_an_mp3_behind_a_large_id3_tag_is_accepted(tmp_path: Path) -> None:
    padding = 300_000  # as cover art makes it; ID3 sizes are 7 bits a byte
    size = bytes((padding >> shift) & 0x7F for shift in (21, 14, 7, 0))
    path = tmp_path / "art.mp3"
    audio = tone(tmp_path / "plain.mp3", 1.0).read_bytes()
    path.write_bytes(b"ID3\x03\x00\x00" + size + bytes(padding) + audio)
    info = probe_sound(path)
    assert info.format == "mp3" and info.seconds == pytest.approx(1.0, abs=0.05)


@needs_ffmpeg
def test_a_broken_ogg_file_is_refused_in_the_users_terms(tmp_path: Path) -> None:
    whole = tone(tmp_path / "whole.ogg", 0.5, "-c:a", "libvorbis").read_bytes()
    path = tmp_path / "broken.ogg"
    path.write_bytes(whole[:40])  # the first page, cut short
    message = refusal(path)
    assert message.startswith("sound file 'broken.ogg' is not a readable Ogg file")
    assert "/dev/fd" not in message


def test_an_id3_tag_with_no_audio_behind_it_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.mp3"
    path.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"#EXTM3U\n/etc/passwd\n")
    expected = (
        "sound file 'x.mp3' is not a plain audio file "
        f"(it looks like an ID3 tag without MP3 audio after it); {USE}"
    )
    assert refusal(path) == expected


@needs_ffmpeg
def test_other_codecs_are_refused(tmp_path: Path) -> None:
    ogg_flac = tone(tmp_path / "x.ogg", 0.5, "-c:a", "flac")
    expected = (
        "sound file 'x.ogg' is not a plain audio file "
        f"(it looks like an Ogg file that is not Vorbis or Opus audio); {USE}"
    )
    assert refusal(ogg_flac) == expected
    adpcm = tone(tmp_path / "x.wav", 0.5, "-c:a", "adpcm_ms")
    assert refusal(adpcm) == (
        "sound file 'x.wav' is a WAV file coach does not read (compressed, format 0x0002); "
        "use PCM or float WAV, MP3, Ogg or FLAC"
    )
    mp4 = tone(tmp_path / "x.m4a", 0.5)
    assert (
        refusal(mp4)
        == f"sound file 'x.m4a' is not a plain audio file (it looks like an MP4 file); {USE}"
    )


# --- bounds -------------------------------------------------------------------------------


def test_a_small_wav_that_would_last_hours_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "slow.wav"
    path.write_bytes(wav_bytes(1, bytes(40_000)))  # 20,000 samples at 1 Hz: 5.5 hours
    started = time.monotonic()
    assert refusal(path) == (
        "sound file 'slow.wav' says it plays at 1 Hz; coach reads sound files recorded at "
        "8,000 Hz or more"
    )
    with pytest.raises(SoundFileError, match="plays at 1 Hz"):
        load_sound_file(path, RATE)
    assert time.monotonic() - started < 1.0


def test_the_lowest_sample_rate_is_8000_hz(tmp_path: Path) -> None:
    low = tmp_path / "low.wav"
    low.write_bytes(wav_bytes(7999, bytes(7999 * 2)))
    assert "plays at 7,999 Hz" in refusal(low)
    lowest = tmp_path / "lowest.wav"
    lowest.write_bytes(wav_bytes(8000, bytes(8000 * 2)))
    assert probe_sound(lowest).seconds == 1.0


def long_wav(path: Path, seconds: int) -> Path:
    """An 8-bit 8 kHz WAV of `seconds` of silence, written sparse."""
    size = seconds * 8000
    path.write_bytes(wav_bytes(8000, b"", claimed=size, bits=8))
    with path.open("r+b") as file:
        file.truncate(44 + size)
    return path


def test_two_hours_is_the_limit(tmp_path: Path) -> None:
    at_limit = long_wav(tmp_path / "two-hours.wav", int(MAX_SOUND_SECONDS))
    assert probe_sound(at_limit).seconds == MAX_SOUND_SECONDS
    over = long_wav(tmp_path / "longer.wav", int(MAX_SOUND_SECONDS) + 1)
    assert "lasts 2:00:01, over the 2 hour limit" in refusal(over)


def test_empty_and_oversized_files_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp3"
    empty.touch()
    assert refusal(empty) == "sound file 'empty.mp3' is empty"
    huge = tmp_path / "huge.wav"
    with huge.open("wb") as sparse:
        sparse.write(wav_bytes(RATE, b""))
        sparse.truncate(3 * 2**29)  # sparse: 1.5 GB on paper, nothing on disk
    assert refusal(huge) == "sound file 'huge.wav' is 1.5 GB, over the 1 GB limit for a sound file"


def test_a_wav_with_no_samples_has_no_audio(tmp_path: Path) -> None:
    path = tmp_path / "silent.wav"
    path.write_bytes(wav_bytes(RATE, b"")[:-8] + b"data\xff\xff\xff\xff")
    assert refusal(path) == "sound file 'silent.wav' has no audio in it"


def test_missing_file(tmp_path: Path) -> None:
    assert refusal(tmp_path / "nope.wav") == "sound file not found: 'nope.wav'"


# --- things that are not files ------------------------------------------------------------


def refused_within(path: Path, seconds: float = 5.0) -> str:
    """The probe's refusal of `path`, failing (not hanging) if the probe blocks."""
    outcome: list[BaseException | SoundInfo] = []

    def probe() -> None:
        try:
            outcome.append(probe_sound(path, path.name))
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive() and path.is_fifo():
        # Give the blocked reader a writer and an end, so the thread finishes.
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    assert outcome, f"probing {path} blocked"
    assert isinstance(outcome[0], SoundFileError), outcome[0]
    return str(outcome[0])


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "x.wav"
    os.mkfifo(fifo)
    assert refused_within(fifo) == "sound file 'x.wav' is a FIFO (named pipe), not a regular file"


def test_a_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "x.mp3"
    folder.mkdir()
    assert refused_within(folder) == "sound file 'x.mp3' is a directory, not a regular file"


def test_dev_zero_is_refused(tmp_path: Path) -> None:
    zero = tmp_path / "zero.wav"
    zero.symlink_to("/dev/zero")
    assert refused_within(zero) == "sound file 'zero.wav' is a character device, not a regular file"
    with pytest.raises(SoundFileError, match="character device"):
        load_sound_file(zero, RATE)


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.ogg"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen()
        assert refused_within(path) == "sound file 's.ogg' is a socket, not a regular file"


def test_mp3_frames_that_hold_no_audio_are_refused_by_the_probe(tmp_path: Path) -> None:
    # MP3 frame headers (so it sniffs as MP3 and ffprobe counts frames) around noise.
    noise = random.Random(7).randbytes
    path = tmp_path / "garbage.mp3"
    path.write_bytes((bytes([0xFF, 0xFB, 0x90, 0x00]) + noise(413)) * 3 + noise(5000))
    assert refusal(path).startswith("sound file 'garbage.mp3' is not a readable MP3 file (")


# --- long sounds are kept out of memory -----------------------------------------------------


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".mp3"])
def test_a_long_sound_is_read_from_a_file_of_its_own_a_slice_at_a_time(
    tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sound file may last 2 hours (635 MB as float32): past SPILL_SECONDS it is decoded
    to an unnamed file in the directory given, and the mix reads the slices it needs."""
    if suffix != ".wav" and not shutil.which("ffmpeg"):
        pytest.skip("needs ffmpeg")
    monkeypatch.setattr("coach.soundfile.SPILL_SECONDS", 1.0)
    path = tone(tmp_path / f"tone{suffix}", 2.0)
    spill = tmp_path / "cache"
    in_memory = load_sound_file(path, RATE)
    spilled = load_sound_file(path, RATE, spill)
    assert isinstance(in_memory, np.ndarray) and not isinstance(spilled, np.ndarray)
    assert len(spilled) == len(in_memory)
    assert np.max(np.abs(spilled[:] - in_memory)) <= 1 / 32768  # int16 on disk
    assert np.array_equal(spilled[1000:1100], spilled[:][1000:1100])
    assert list(spill.iterdir()) == []  # nothing with a name is left behind


def test_a_short_sound_stays_in_memory(tmp_path: Path) -> None:
    path = tone(tmp_path / "tone.wav", 0.5)
    assert isinstance(load_sound_file(path, RATE, tmp_path / "cache"), np.ndarray)


def test_a_long_sound_stays_in_memory_when_it_has_nowhere_to_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("coach.soundfile.SPILL_SECONDS", 1.0)
    (tmp_path / "file").write_text("not a directory")
    found = load_sound_file(tone(tmp_path / "tone.wav", 2.0), RATE, tmp_path / "file" / "x")
    assert isinstance(found, np.ndarray) and len(found) == 2 * RATE
