"""Python programs the bench runs as child processes, as text for `python -c`."""

from __future__ import annotations

# Facts of the coach under test: the ffmpeg it uses, its MP3 settings, its default engine.
FACTS = """
import json, shutil
from coach import __version__
from coach.encoding import mp3_encoder_args
try:
    from coach.soundfile import find_ffmpeg
    ffmpeg = find_ffmpeg()
except Exception:
    ffmpeg = shutil.which("ffmpeg")
from coach.engines import chosen_name
print(json.dumps({"version": __version__, "mp3_args": mp3_encoder_args(),
                  "ffmpeg": ffmpeg, "engine": chosen_name()}))
"""

# Runs `coach ARGS` in this process (as the `coach` script does), then prints the peak
# resident memory (VmHWM, kB) of this process and of each child it started, by program
# name. VmHWM counts only what a program touched after its exec: ru_maxrss would also count
# the memory of the parent at the moment it started the child (vfork and fork share it).
# Children are found by recording the pid and program of each subprocess.Popen; a thread
# samples their VmHWM every 10 ms while they run that program (not before their exec).
PEAK_RSS = """
import json, os, subprocess, sys, threading, time
from coach.cli import main

def hwm(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as name:
            return name.read().strip()
    except OSError:
        return "?"

started, peaks = [], {}
spawn = subprocess.Popen.__init__
def recording(self, args, *rest, **kwargs):
    spawn(self, args, *rest, **kwargs)
    program = args if isinstance(args, (str, bytes)) else args[0]
    started.append((self.pid, os.path.basename(os.fsdecode(program)).split()[0]))
subprocess.Popen.__init__ = recording

def sample():
    for pid, name in list(started):
        if comm(pid) == name[:15]:
            peaks[name] = max(peaks.get(name, 0), hwm(pid))

def watch():
    while True:
        sample()
        time.sleep(0.01)

threading.Thread(target=watch, daemon=True).start()
try:
    main(sys.argv[1:], prog_name="coach")
    code = 0
except SystemExit as done:
    code = done.code
sample()
print(json.dumps({"self": hwm("self"), "children": peaks}))
sys.exit(code)
"""

# The peak resident memory (VmHWM, kB) of Python once numpy is imported.
NUMPY_PEAK = """
import numpy
with open("/proc/self/status") as status:
    print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""

# Plays wall-release in real time through a paced capture device and presses pause during
# speech argv[2] times, at random moments (resuming 0.4 s later); reports key-to-silence and
# key-to-sound seconds: from the command to the feed handing the fade's end (or its start
# again) to the device, plus the output latency PortAudio states for the stream.
LATENCY = """
import json, random, sys, threading, time
from pathlib import Path
from coach import session
from coach.player import Player

built = session.build("wall-release", cache_dir=Path(sys.argv[1]))
presses = int(sys.argv[2])
timeline = built.timeline
speech = [(e.start, e.end) for e in timeline.events if e.kind == "speech"]
player = Player(timeline, built.bank)
feed = player.feed
pauses, resumes = [], []

def speaking():
    at = feed.where().position
    return any(a + 2205 < at < b - 4410 for a, b in speech)

def press():
    while not feed.started:
        time.sleep(0.005)
    latency = player._output.latency
    while len(pauses) < presses:
        while not speaking():
            time.sleep(0.002)
        time.sleep(random.uniform(0, 0.1))  # a key comes at any moment, not in step
        if not speaking():
            continue
        marks = len(feed.marks)
        pressed = time.monotonic()
        player.pause()
        while not feed.paused:
            time.sleep(0.0005)
        silent = next(m for m in feed.marks[marks:] if m.what == "silent")
        pauses.append(silent.at - pressed + latency)
        time.sleep(0.4)
        marks = len(feed.marks)
        pressed = time.monotonic()
        player.resume()
        while not any(m.what == "fade-in" for m in feed.marks[marks:]):
            time.sleep(0.0005)
        sounding = next(m for m in feed.marks[marks:] if m.what == "fade-in")
        resumes.append(sounding.at - pressed + latency)
    player.quit()

threading.Thread(target=press, daemon=True).start()
player.run()
print(json.dumps({"pause": pauses, "resume": resumes}))
"""

# A stand-in sound card, paced in real time: `plug` converts to 48 kHz stereo 32-bit as a
# card's driver would, and a pacer takes the bytes from a pipe at that rate. The pipe holds
# one page (4096 bytes): about 10 ms at this rate, like a card's period. (The 22050 Hz mono
# capture of the tests would hold 93 ms there and ask for audio in bursts that far apart.)
PACER = """
import fcntl, sys, time
try:
    fcntl.fcntl(0, 1031, 4096)  # F_SETPIPE_SZ: one page
except OSError:
    pass
began, count = time.monotonic(), 0
while data := sys.stdin.buffer.read1(1024):
    count += len(data)
    ahead = count / 384000 - (time.monotonic() - began)
    if ahead > 0:
        time.sleep(ahead)
"""

SOUND_CARD_CONF = """pcm.!default {{
 type plug
 slave {{ pcm "paced" format S32_LE rate 48000 channels 2 }}
}}
pcm.paced {{
 type file
 slave.pcm {{ type null }}
 format "raw"
 file "|{python} -S {pacer}"
}}
"""

# Loudness of an audio file (argv[1]): integrated by pyloudnorm (BS.1770) on the decoded
# samples, true peak by ffmpeg's EBU R128 meter (scripts/listen.py's, argv[2] is scripts/).
LOUDNESS = """
import json, subprocess, sys
from pathlib import Path
import numpy as np
import pyloudnorm
sys.path.insert(0, sys.argv[2])
from listen import loudness

path = sys.argv[1]
decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "f32le", "-ac", "1",
                          "-"], capture_output=True, check=True).stdout
rate = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                       "stream=sample_rate", "-of", "csv=p=0", path],
                      capture_output=True, text=True, check=True).stdout.strip()
samples = np.frombuffer(decoded, dtype="<f4").astype(np.float64)
lufs = pyloudnorm.Meter(int(rate)).integrated_loudness(samples)
print(json.dumps({"lufs": lufs, "true_peak": loudness(Path(path))["true_peak"]}))
"""
