"""Speech clips made ready for the mix: silence trimmed to a pad, a short fade-in, one level.

`prepare_clip` is what the speech stage applies to each clip an engine made (after
resampling to the session rate). `level_speech` is the level part alone: the mixer's source
bank applies it to every clip it is given, so the voice sits at one level in every mix even
for clips prepared before (on a prepared clip it changes next to nothing).

The level is the RMS of a clip's voiced frames (20 ms frames within 30 dB of the loudest):
the clips of one voice come out within about half a LU of each other (the tests measure them
with pyloudnorm, a BS.1770 meter), without a K-weighting filter (scipy, a second to import)
in the speech stage or in live playback's start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: Samples whose magnitude is below this count as silence when trimming (about -60 dBFS).
SILENCE_THRESHOLD = 32
#: Silence before the first and after the last audible sample of a clip, in seconds.
PAD_SECONDS = 0.030
#: The fade-in after the pad (raised cosine), and the fade-out before the closing pad.
FADE_IN_SECONDS = 0.010
FADE_OUT_SECONDS = 0.010
#: The voiced RMS every clip is brought to, in dBFS: about -21 LUFS a clip, peaks well inside
#: int16. The mix's loudness gain (coach.loudness) brings the session to its target. (A
#: pre-emphasis before measuring evened out espeak-ng and festival before the peak hold, but
#: not after it, so it is off.)
SPEECH_RMS_DB = -20.0
#: The largest peak a prepared clip may have (a clip with a peak beyond it is made quieter).
CLIP_PEAK = 0.97
#: How a stored clip becomes a session's (the speech stage records clip lengths under it):
#: change it whenever prepare_clip may give a clip another length.
CLIP_RECIPE = (
    f"trimmed at {SILENCE_THRESHOLD} to a {PAD_SECONDS} s pad, faded in {FADE_IN_SECONDS} s "
    f"and out {FADE_OUT_SECONDS} s"
)
#: Speech peaks are held (by coach.limiter) to this many dB over the plain voiced RMS, so that the
#: session's limiter seldom has to touch the voice at the usual targets and every line
#: keeps its loudness whatever the target.
SPEECH_PEAK_OVER_RMS_DB = 11.0
FRAME_SECONDS = 0.020
PRE_EMPHASIS = 0.0  # x[n] - PRE_EMPHASIS x[n-1] before measuring (0: off)
VOICED_RANGE_DB = 30.0


def resample(samples: NDArray[Any], source_rate: int, target_rate: int) -> NDArray[Any]:
    """Linear-interpolation resampling of int16 samples (deterministic, numpy only)."""
    import numpy as np

    if source_rate == target_rate or len(samples) == 0:
        return samples
    length = max(1, round(len(samples) * target_rate / source_rate))
    positions = np.arange(length, dtype=np.float64) * (source_rate / target_rate)
    values = np.interp(positions, np.arange(len(samples), dtype=np.float64), samples)
    resampled: NDArray[Any] = np.clip(np.round(values), -32768, 32767).astype(np.int16)
    return resampled


def recipe() -> str:
    """What a session-ready clip depends on besides the stored clip, to name it where it is
    kept (coach.derived): this module's code and the limiter's, and numpy's version."""
    from coach import limiter
    from coach.derived import code_stamp

    return "clips " + code_stamp(__file__, limiter.__file__)


def prepare_clip(samples: NDArray[Any], sample_rate: int) -> NDArray[Any]:
    """A clip ready for the mix, from an engine's int16 mono samples at `sample_rate`.

    - Leading and trailing silence (below SILENCE_THRESHOLD) is cut, and exactly
      PAD_SECONDS of digital silence (zeros) stand before the first and after the last
      audible sample, so no clip starts or ends with sound at its first or last sample.
    - The audible part fades in over FADE_IN_SECONDS and out over FADE_OUT_SECONDS.
    - Its level is brought to SPEECH_RMS_DB of voiced RMS, its true peaks held to
      SPEECH_PEAK_OVER_RMS_DB above that (`level_speech`).

    Returns a new int16 array (the input is not changed). An empty or entirely silent clip
    comes back as PAD_SECONDS of zeros. Deterministic: the same samples give the same clip.
    """
    import numpy as np

    samples = np.asarray(samples)
    pad = max(1, round(PAD_SECONDS * sample_rate))
    span = _audible(samples)
    if span is None:
        return np.zeros(pad, dtype=np.int16)
    first, last = span
    voice = samples[first : last + 1].astype(np.float64) / 32768.0
    voice *= _fade(len(voice), round(FADE_IN_SECONDS * sample_rate), rising=True)
    voice *= _fade(len(voice), round(FADE_OUT_SECONDS * sample_rate), rising=False)
    voice = level_speech(voice, sample_rate)
    top = float(np.max(np.abs(voice)))
    if top > CLIP_PEAK:
        voice *= CLIP_PEAK / top
    out = np.zeros(len(voice) + 2 * pad, dtype=np.int16)
    out[pad : pad + len(voice)] = np.clip(np.rint(voice * 32768.0), -32768, 32767)
    return out


def prepared_length(samples: NDArray[Any], sample_rate: int) -> int:
    """How long `prepare_clip(samples, sample_rate)` is, without preparing it."""
    pad = max(1, round(PAD_SECONDS * sample_rate))
    span = _audible(samples)
    return pad if span is None else span[1] - span[0] + 1 + 2 * pad


def _audible(samples: NDArray[Any]) -> tuple[int, int] | None:
    """The first and last sample at or above SILENCE_THRESHOLD; None for silence."""
    import numpy as np

    samples = np.asarray(samples)
    loud = (samples >= SILENCE_THRESHOLD) | (samples <= -SILENCE_THRESHOLD)
    if not len(samples) or not loud.any():
        return None
    return int(np.argmax(loud)), len(samples) - 1 - int(np.argmax(loud[::-1]))


def ready_for_mix(clip: NDArray[Any], sample_rate: int) -> NDArray[Any]:
    """A prepared clip (`prepare_clip`) as the mix plays it: brought to level once more, as
    the mixer's source bank does with any clip it is given (`level_speech`, which the
    loudness figures of coach.loudness were measured with), kept as int16 so that it is
    stored ready and the bank takes it as it is."""
    import numpy as np

    levelled = level_speech(np.asarray(clip, dtype=np.float64) / 32768.0, sample_rate)
    ready: NDArray[Any] = np.clip(np.rint(levelled * 32768.0), -32768, 32767).astype(np.int16)
    return ready


def level_speech(samples: NDArray[Any], sample_rate: int) -> NDArray[Any]:
    """`samples` (float, full scale 1) brought to the voiced level SPEECH_RMS_DB, then their
    true peaks held to SPEECH_PEAK_OVER_RMS_DB over their plain voiced RMS (which lowers the
    level a little, more for a peaky voice; coach.loudness's figure for speech counts it);
    a new float64 array."""
    import numpy as np

    from coach.limiter import Limiter

    voice = np.asarray(samples, dtype=np.float64) * speech_gain(samples, sample_rate)
    plain = voiced_rms_db(voice, sample_rate)
    if plain is None:
        return voice
    limiter = Limiter(sample_rate, plain + SPEECH_PEAK_OVER_RMS_DB)
    padded = np.concatenate([voice, np.zeros(limiter.after)]).astype(np.float32)
    held: NDArray[Any] = limiter.apply(padded, 0, 0, len(voice)).astype(np.float64)
    return held


def voiced_rms_db(samples: NDArray[Any], sample_rate: int, emphasis: float = 0.0) -> float | None:
    """The RMS, in dB of full scale, of the 20 ms frames of `samples` (float, full scale 1)
    within VOICED_RANGE_DB of the loudest frame; None for silence. With `emphasis`, of
    `samples[n] - emphasis * samples[n-1]`."""
    import numpy as np

    samples = np.asarray(samples, dtype=np.float64)
    if emphasis and len(samples) > 1:
        samples = np.concatenate([samples[:1], samples[1:] - emphasis * samples[:-1]])
    frame = max(1, round(FRAME_SECONDS * sample_rate))
    count = len(samples) // frame
    if count == 0:
        power = np.array([float(np.mean(np.square(samples, dtype=np.float64)))])
    else:
        framed = np.asarray(samples[: count * frame], dtype=np.float64).reshape(count, frame)
        power = np.mean(framed * framed, axis=1)
    top = float(power.max()) if len(power) else 0.0
    if top <= 1e-12:
        return None
    voiced = power[power >= top * 10 ** (-VOICED_RANGE_DB / 10)]
    return float(10 * np.log10(np.mean(voiced)))


def speech_gain(samples: NDArray[Any], sample_rate: int) -> float:
    """The gain that brings the voiced RMS of `samples` (float, full scale 1, or int16) to
    SPEECH_RMS_DB; 1.0 for silence."""
    import numpy as np

    values = np.asarray(samples)
    if values.dtype == np.int16:
        values = values.astype(np.float64) / 32768.0
    level = voiced_rms_db(values, sample_rate, PRE_EMPHASIS)
    if level is None:
        return 1.0
    return float(10 ** ((SPEECH_RMS_DB - level) / 20))


def _fade(length: int, ramp: int, rising: bool) -> NDArray[Any]:
    """A raised-cosine ramp over `ramp` samples at the start (rising) or end of `length`."""
    import numpy as np

    env = np.ones(length)
    ramp = min(ramp, length)
    if ramp > 0:
        shape = 0.5 - 0.5 * np.cos(np.pi * np.arange(1, ramp + 1) / (ramp + 1))
        if rising:
            env[:ramp] = shape
        else:
            env[length - ramp :] = shape[::-1]
    return env
