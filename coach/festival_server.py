"""festival kept running as a speech worker: one `festival --pipe` per worker says line after
line, each exactly as `text2wave` would have said it, without text2wave's start per line.

text2wave is a Scheme script for festival: it loads festival's setup and the voice (about
0.25 s), says its input through `tts_file` with a hook that appends each utterance's wave to
the output file, and ends. Here the same hook and the same per-line settings (the voice's HTS
parameters with the line's speed appended, `Duration_Stretch`, resampling to `OUTPUT_RATE`)
are applied in a festival that stays up, so a clip is the same bytes text2wave makes (a test
holds them equal) and the clip cache's keys stay as they were.

Each request is one Scheme form: say this text file into that WAV file, then print `ok` or,
should festival raise an error, `error` (festival prints what went wrong on stderr, which the
worker keeps to quote). Paths reach Scheme as string literals with `\\` and `"` escaped; the
text itself never does, it is read from its file as text2wave read its input.
"""

from __future__ import annotations

from typing import Any

from coach.worker import WorkerKind

#: Lisp heap cells. festival's default (10 million) makes each process 300 MB and sweeping it
#: costs: a line takes about 40% longer. A 600-character line (the language's bound) needs
#: under a third of this between collections.
HEAP_CELLS = 1_000_000
#: Replies start with this, so nothing else festival may print is taken for one.
MARK = b"coach-reply "

# text2wave's own definitions (Debian's festival 2.5), for one output file at a time.
_SETUP = """
(gc-status nil)
(defvar fp nil)
(defvar totalnumsamples 0)
(defvar output_type 'riff)
(defvar frequency nil)
(defvar volume "1.0")
(defvar an_utt nil)
(define (save_record_wave_fp utt)
  (if frequency (utt.wave.resample utt (parse-number frequency)))
  (if (eq? totalnumsamples 0)
      (wave.save.header fp (utt.wave utt) output_type nil (list (list "numsamples" 0))))
  (set! totalnumsamples
        (+ totalnumsamples (get_param 'num_samples (wave.info (utt.wave utt)) 0)))
  (if (not (equal? volume "1.0")) (begin (utt.wave.rescale utt (parse-number volume))))
  (wave.save.data.fp (utt.wave utt) fp output_type nil)
  (set! an_utt utt))
(set! tts_hooks (list utt.synth save_record_wave_fp))
(defvar coach_hts_params nil)
(defvar coach_said nil)
(define (coach_say textfile outfile stretch speed rate)
  (Parameter.set 'Duration_Stretch stretch)
  (set! hts_engine_params (append coach_hts_params (list (list "-r" speed))))
  (set! frequency rate)
  (set! totalnumsamples 0)
  (set! an_utt nil)
  (set! coach_said nil)
  (set! fp (fopen outfile "wb"))
  (unwind-protect
    (begin
      (tts_file textfile (tts_find_text_mode "-" auto-text-mode-alist))
      (fseek fp 0 0)
      (wave.save.header fp (utt.wave an_utt) output_type nil
                        (list (list "numsamples" totalnumsamples)))
      (set! coach_said t))
    nil)
  (fclose fp)
  (set! fp nil)
  coach_said)
"""


def quote(text: str) -> str:
    """`text` as a Scheme string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _reply(kind: str) -> str:
    return f'(format t "{MARK.decode()}{kind}\\n")'


def _guarded(form: str) -> str:
    """`form`, then a reply saying whether it raised an error, flushed to coach at once."""
    return f"(unwind-protect (begin {form} {_reply('ok')}) {_reply('error')})\n(fflush nil)\n"


class FestivalKind(WorkerKind):
    """festival workers speaking with `voice` (None: festival's own default voice), chosen
    once when each starts, as text2wave chose it once per run."""

    new_session = True  # festival does not ignore Ctrl-C; coach decides when it ends
    keeps_errors = True

    def __init__(self, voice: str | None) -> None:
        self.key = f"festival {voice or ''}"
        self.voice = voice

    def argv(self) -> list[str]:
        return ["festival", "--pipe", "--heap", str(HEAP_CELLS)]

    def greeting(self) -> bytes:
        # The voice's own HTS parameters, to which each line appends its speed (text2wave
        # appended it once to a freshly loaded voice's).
        choose = f"(voice_{self.voice}) " if self.voice is not None else ""
        ready = _guarded(f"{choose}(set! coach_hts_params hts_engine_params)")
        return (_SETUP + ready).encode("utf-8")

    def encode(self, message: dict[str, Any]) -> bytes:
        say = (
            f"(coach_say {quote(str(message['textfile']))} {quote(str(message['path']))} "
            f"{message['stretch']} {message['speed']} {quote(str(message['rate']))})"
        )
        # An error inside coach_say closes the file and makes it answer nil: a failed line.
        return _guarded(f'(if (not {say}) (error "no clip"))').encode("utf-8")

    def decode(self, line: bytes) -> dict[str, Any] | None:
        if not line.startswith(MARK):
            return None  # festival's own chatter
        said = line[len(MARK) :].strip()
        if said == b"ok":
            return {"ok": True}
        if said == b"error":
            return {"error": "festival failed"}
        raise ValueError("an unknown reply")
