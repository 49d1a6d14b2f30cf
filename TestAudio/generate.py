#!/usr/bin/env python3
"""Generate the TalkTrace test fixtures (recordings, CTRs, bad files, format variants).

Usage:  python3 TestAudio/generate.py

Needs python3 + numpy + scipy, and `sox` on PATH for the mu-law / float / 24-bit variants.
Fully deterministic: every random choice comes from fixed seeds, gzip headers carry no
name or time, sox runs in repeatable mode (-R). Running it twice gives byte-identical files.

The script deletes and recreates the generated sub-trees `recordings/`, `ctr/`, `bad/`,
`formats/` and rewrites `truth.json` and `ctr-expectations.json` next to itself.

Truth convention: a channel talks from the onset of an utterance's first syllable to the
end of its last syllable; pauses shorter than 300 ms (inside or between utterances) are
bridged into one segment. All syllable boundaries sit on whole milliseconds, so segment
times written with 3 decimals are exact. Echo, sidetone, noise, babble, hum, clicks and
hold music are never talk.
"""
import datetime as dt
import gzip
import io
import json
import os
import random
import shutil
import struct
import subprocess
import tempfile
import uuid
import wave

import numpy as np
from scipy import signal

FS = 8000                     # samples per second
SPM = FS // 1000              # samples per millisecond (8)
BRIDGE_MS = 300               # gaps shorter than this are part of the talk
NONTALK_MS = 3000             # mutual silence longer than this is a non-talk instance
ROOT = os.path.dirname(os.path.abspath(__file__))
REC_DAY = "connect/demo-instance/CallRecordings/2026/03/03"   # relative to recordings/
BUCKET = "demo-connect-bucket"
ACCOUNT = "123456789012"
REGION = "us-east-1"

BP_TEL = signal.butter(4, [300, 3400], btype="bandpass", fs=FS, output="sos")
BP_FRIC = signal.butter(4, [2000, 3800], btype="bandpass", fs=FS, output="sos")

# Vowel formant targets (F1, F2, F3 in Hz), clamped below to the brief's ranges.
VOWELS = {
    "a": (730, 1090, 2440), "i": (300, 2250, 2950), "u": (320, 920, 2400),
    "e": (530, 1840, 2480), "o": (570, 900, 2410), "ae": (660, 1720, 2410),
    "er": (490, 1350, 2400), "uh": (640, 1190, 2390), "ih": (390, 1990, 2550),
}
VOWEL_KEYS = sorted(VOWELS)
F_RANGES = ((300, 800), (900, 2300), (2400, 3000))
BANDWIDTHS = (80.0, 110.0, 170.0)


def db(x):
    return 10.0 ** (x / 20.0)


def bandlimit(x):
    """Telephone band 300-3400 Hz, zero phase (timing preserved)."""
    return signal.sosfiltfilt(BP_TEL, x)


def to_int16(x):
    return np.clip(np.round(x * 32767.0), -32767, 32767).astype("<i2")


def sec(ms):
    return round(ms / 1000.0, 3)


# --------------------------------------------------------------------------- speech

class Voice:
    def __init__(self, f0, f0_range, fscale, breath):
        self.f0, self.f0_range, self.fscale, self.breath = f0, f0_range, fscale, breath


def make_voice(rng, role):
    if role == "agent":
        return Voice(rng.uniform(100, 125), (90.0, 140.0), rng.uniform(0.95, 1.02), rng.uniform(0.02, 0.05))
    return Voice(rng.uniform(185, 220), (170.0, 240.0), rng.uniform(1.05, 1.12), rng.uniform(0.03, 0.07))


def layout_utterance(rng, target_ms, max_ms=6000):
    """Syllables as dicts with start/len in ms relative to the utterance onset."""
    sylls, t = [], 0
    while True:
        nsyl = int(rng.choice([1, 2, 3, 4], p=[0.35, 0.35, 0.2, 0.1]))
        word, wt = [], t
        for k in range(nsyl):
            length = int(rng.integers(120, 301))
            fric_on = int(rng.integers(40, 91)) if rng.random() < 0.25 else 0
            fric_off = int(rng.integers(40, 71)) if (rng.random() < 0.12 and length - fric_on > 150) else 0
            word.append({"start": wt, "len": length, "vowel": VOWEL_KEYS[int(rng.integers(len(VOWEL_KEYS)))],
                         "fric_on": fric_on, "fric_off": fric_off, "amp": float(rng.uniform(0.6, 1.0)),
                         "stress": bool(rng.random() < 0.35)})
            wt += length
            if k < nsyl - 1:
                wt += int(rng.integers(20, 121))        # gap inside a word
        if sylls and wt > max_ms:
            break
        sylls += word
        t = wt
        if t >= target_ms:
            break
        t += int(rng.integers(50, 251))                  # gap between words
    return sylls


def backchannel_layout(rng):
    length = int(rng.integers(300, 451))
    return [{"start": 0, "len": length, "vowel": "uh", "fric_on": 0, "fric_off": 0, "amp": 1.0, "stress": True}]


def rosenberg(frac, tp=0.4, tn=0.16):
    g = np.zeros_like(frac)
    a = frac < tp
    g[a] = 0.5 * (1.0 - np.cos(np.pi * frac[a] / tp))
    b = (frac >= tp) & (frac < tp + tn)
    g[b] = np.cos(0.5 * np.pi * (frac[b] - tp) / tn)
    return g


def smooth_noise(rng, n, step):
    k = max(2, n // step + 2)
    knots = rng.normal(0.0, 1.0, k)
    return np.interp(np.arange(n), np.linspace(0, n - 1, k), knots)


def formant_cascade(x, tracks):
    y = x
    for f, bw in zip(tracks, BANDWIDTHS):
        r = np.exp(-np.pi * bw / FS)
        out = np.empty_like(y)
        zi = np.zeros(2)
        for i in range(0, len(y), 80):       # coefficients updated every 10 ms
            fc = float(f[i:i + 80].mean())
            b1 = 2.0 * r * np.cos(2.0 * np.pi * fc / FS)
            c1 = -r * r
            out[i:i + 80], zi = signal.lfilter([1.0 - b1 - c1], [1.0, -b1, -c1], y[i:i + 80], zi=zi)
        y = out
    return y


def render_utterance(rng, voice, sylls, rising=False):
    """Float waveform of one utterance (not yet band-limited or level-normalised)."""
    total_ms = sylls[-1]["start"] + sylls[-1]["len"]
    n = total_ms * SPM
    # pitch: declination + slow jitter + accents
    decl = np.linspace(rng.uniform(1.03, 1.1), rng.uniform(0.88, 0.96), n)
    if rising:
        decl = np.linspace(0.9, 1.15, n)
    f0 = voice.f0 * decl * (1.0 + 0.035 * smooth_noise(rng, n, 1200)) * (1.0 + 0.006 * smooth_noise(rng, n, 40))
    gate = np.zeros(n)
    fric = np.zeros(n)
    env = np.zeros(n)
    tracks = [np.full(n, np.nan) for _ in range(3)]
    noise = signal.sosfilt(BP_FRIC, rng.normal(0.0, 1.0, n + 400))[400:]
    ramp = np.sin(np.linspace(0, np.pi / 2, 5 * SPM)) ** 2
    for s in sylls:
        a, b = s["start"] * SPM, (s["start"] + s["len"]) * SPM
        va, vb = a + s["fric_on"] * SPM, b - s["fric_off"] * SPM
        if s["stress"]:
            f0[a:b] *= 1.0 + 0.07 * np.hanning(b - a)
        g = np.full(vb - va, s["amp"])
        g[:len(ramp)] *= ramp
        g[len(g) - len(ramp):] *= ramp[::-1]
        gate[va:vb] = g
        for seg_a, seg_b in ((a, va), (vb, b)):
            if seg_b > seg_a:
                fr = np.full(seg_b - seg_a, 0.22 * s["amp"])
                fr *= np.hanning(seg_b - seg_a) ** 0.5
                fric[seg_a:seg_b] = fr
        target = np.array(VOWELS[s["vowel"]], float)
        locus = target * (1.0 + rng.uniform(-0.2, 0.2, 3))
        end = target * (1.0 + rng.uniform(-0.1, 0.1, 3))
        m = a + int(0.3 * (b - a))
        for j in range(3):
            lo, hi = F_RANGES[j]
            tr = np.concatenate([np.linspace(locus[j], target[j], m - a, endpoint=False),
                                 np.linspace(target[j], end[j], b - m)]) * voice.fscale
            tracks[j][a:b] = np.clip(tr, lo, hi)
        # raised-cosine (Tukey) syllable envelope
        env[a:b] = signal.windows.tukey(b - a, 0.4)
    f0 = np.clip(f0, *voice.f0_range)
    phase = np.cumsum(f0 / FS)
    g = rosenberg(phase % 1.0)
    src = np.diff(g, prepend=g[0])
    src = src / (np.std(src) + 1e-12)
    src += voice.breath * rng.normal(0.0, 1.0, n)
    defined = ~np.isnan(tracks[0])
    idx = np.arange(n)
    for j in range(3):
        tracks[j] = np.interp(idx, idx[defined], tracks[j][defined])
    voiced = formant_cascade(src * gate, tracks)
    voiced /= (np.max(np.abs(voiced)) + 1e-12)
    y = (voiced + fric * noise / (np.std(noise) + 1e-12) * 0.35) * env
    return y


# --------------------------------------------------------------------------- calls

class Utt:
    def __init__(self, ch, start_ms, sylls, level_db, kind="speech"):
        self.ch, self.start, self.sylls, self.level, self.kind = ch, start_ms, sylls, level_db, kind
        self.end = start_ms + sylls[-1]["start"] + sylls[-1]["len"]
        self.loud = False


def build_script(rng, script, levels, fill_to_ms=None, gap=(300, 700), lead=(400, 900), tail=(1000, 1500)):
    """Lay out utterances in time (ms). Returns (utts, events, duration_ms)."""
    utts, events = [], {"interruptions": [], "backchannels": [], "holds": [], "music": []}
    other = {"agent": "customer", "customer": "agent"}

    def level(ch, delta=0.0):
        return float(np.clip(levels[ch] + delta + rng.uniform(-1.5, 1.5), -20.0, -12.0))

    prev_end = int(rng.integers(*lead))
    prev = None
    pending_gap = None

    def turn(ch, rng_s, loud=False):
        nonlocal prev_end, prev, pending_gap
        g = pending_gap if pending_gap is not None else int(rng.integers(*gap))
        pending_gap = None
        sylls = layout_utterance(rng, int(rng.uniform(*rng_s) * 1000))
        u = Utt(ch, prev_end + g, sylls, level(ch))
        u.loud = loud
        utts.append(u)
        prev, prev_end = u, max(prev_end, u.end)
        return u

    steps = list(script)
    while steps:
        d = steps.pop(0)
        op = d[0]
        if op == "turn":
            turn(d[1], d[2], loud=len(d) > 3 and d[3] == "loud")
        elif op == "interrupt":
            a = prev
            assert a is not None and a.ch == other[d[1]] and a.end - a.start >= 2500, "interrupt needs a long turn"
            ov = int(rng.integers(600, 1001))
            start = a.end - ov
            assert start >= a.start + 1000
            sylls = layout_utterance(rng, int(rng.uniform(*d[2]) * 1000))
            u = Utt(d[1], start, sylls, level(d[1]))
            assert u.end > a.end + 300
            utts.append(u)
            events["interruptions"].append({"by": d[1], "at": sec(start), "interrupted": a.ch,
                                            "overlapSeconds": sec(ov)})
            prev, prev_end = u, max(prev_end, u.end)
        elif op == "backchannel":
            a = prev
            assert a is not None and a.ch == other[d[1]] and a.end - a.start >= 3000, "backchannel needs a long turn"
            sylls = backchannel_layout(rng)
            ln = sylls[0]["len"]
            start = int(rng.integers(a.start + 1000, a.end - 1000 - ln))
            u = Utt(d[1], start, sylls, level(d[1], -2.0), kind="backchannel")
            utts.append(u)
            events["backchannels"].append({"by": d[1], "at": sec(start), "durationSeconds": sec(ln),
                                           "inside": a.ch})
        elif op == "silence":
            pending_gap = int(rng.uniform(*d[1]) * 1000)
        elif op == "hold":
            hold_len = int(d[1] * 1000)
            hs = prev_end + int(rng.integers(500, 801))
            he = hs + hold_len
            events["holds"].append([hs, he])
            events["music"].append([hs, he])
            for lo_s, hi_s in ((3.0, 4.5), (8.5, 10.5)):
                st = hs + int(rng.uniform(lo_s, hi_s) * 1000)
                sylls = layout_utterance(rng, int(rng.uniform(0.9, 1.4) * 1000), max_ms=1800)
                utts.append(Utt("agent", st, sylls, level("agent")))
            prev_end = he
            prev = None
            pending_gap = int(rng.integers(400, 701))
        elif op == "fill":
            # alternate turns until fill_to_ms, then the closing pair
            nxt = other[prev.ch] if prev else "agent"
            while prev_end < fill_to_ms:
                turn(nxt, (1.5, 3.2))
                nxt = other[nxt]
            if nxt == "agent":
                turn("agent", (1.2, 1.8))
            turn("customer", (0.9, 1.3))
            turn("agent", (1.0, 1.5))
        else:
            raise ValueError(op)
    dur = prev_end + int(rng.integers(*tail))
    dur = int(np.ceil(dur / 100.0) * 100)
    if fill_to_ms is not None:
        dur = max(dur, 40000)
        assert dur <= 60000, dur
    return utts, events, dur


def truth_segments(utts, ch):
    iv = sorted((u.start + s["start"], u.start + s["start"] + s["len"]) for u in utts if u.ch == ch for s in u.sylls)
    segs = []
    for a, b in iv:
        if segs and a - segs[-1][1] < BRIDGE_MS:
            segs[-1][1] = max(segs[-1][1], b)
        else:
            segs.append([a, b])
    return segs


def ms_mask(segs, n):
    m = np.zeros(n, bool)
    for a, b in segs:
        m[a:b] = True
    return m


def runs(mask):
    """[start, end) runs of True in a boolean array."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def summarize(segs_ag, segs_cu, dur_ms):
    ma, mc = ms_mask(segs_ag, dur_ms), ms_mask(segs_cu, dur_ms)
    silent = ~(ma | mc)
    return {
        "agent": {"segments": [[sec(a), sec(b)] for a, b in segs_ag], "talkSeconds": sec(int(ma.sum()))},
        "customer": {"segments": [[sec(a), sec(b)] for a, b in segs_cu], "talkSeconds": sec(int(mc.sum()))},
        "overlapSeconds": sec(int((ma & mc).sum())),
        "silenceSeconds": sec(int(silent.sum())),
        "nonTalkInstances": [[sec(a), sec(b)] for a, b in runs(silent) if b - a > NONTALK_MS],
    }


def render_track(rng, utts, ch, voice, n):
    x = np.zeros(n)
    pad = 200
    for u in utts:
        if u.ch != ch:
            continue
        y = render_utterance(rng, voice, u.sylls, rising=u.kind == "backchannel")
        y = bandlimit(np.concatenate([np.zeros(pad), y, np.zeros(pad)]))
        y *= db(u.level) / np.max(np.abs(y))
        if u.loud:
            # drive into the clipper so that about 1% of the samples of this utterance exceed full scale
            seg = np.abs(y[pad:pad + (u.end - u.start) * SPM])
            y *= 1.0 / np.quantile(seg, 0.99)
        a = u.start * SPM - pad
        lo = max(a, 0)
        x[lo:a + len(y)] += y[lo - a:n - a]
    return x


def noise_floor(rng, n, dbfs=-70.0):
    w = bandlimit(rng.normal(0.0, 1.0, n))
    return w * db(dbfs) / np.sqrt(np.mean(w ** 2))


def pink(rng, n):
    w = rng.normal(0.0, 1.0, n)
    spec = np.fft.rfft(w)
    f = np.fft.rfftfreq(n, 1.0 / FS)
    f[0] = f[1]
    p = np.fft.irfft(spec / np.sqrt(f), n)
    p = bandlimit(p)
    return p / np.sqrt(np.mean(p ** 2))


def babble(rng, n, talkers=6):
    out = np.zeros(n)
    for _ in range(talkers):
        v = Voice(rng.uniform(95, 230), (85.0, 250.0), rng.uniform(0.95, 1.1), 0.05)
        v.f0_range = (v.f0 * 0.8, v.f0 * 1.25)
        t = int(rng.integers(0, 400)) * SPM
        track = np.zeros(n)
        while t < n:
            y = render_utterance(rng, v, layout_utterance(rng, int(rng.uniform(1.5, 4.0) * 1000)))
            m = min(len(y), n - t)
            track[t:t + m] += y[:m]
            t += len(y) + int(rng.integers(60, 250)) * SPM
        out += track / np.sqrt(np.mean(track ** 2))
    out = bandlimit(out)
    return out / np.sqrt(np.mean(out ** 2))


def hold_music(rng, n_samples):
    t = np.arange(n_samples) / FS
    chords = [(523.25, 659.25, 783.99), (440.0, 523.25, 659.25), (349.23, 440.0, 523.25), (392.0, 493.88, 587.33)]
    melody_scale = [1046.5, 1174.66, 1318.51, 1567.98, 1760.0, 2093.0]
    y = np.zeros(n_samples)
    clen = n_samples // len(chords)
    for i, ch in enumerate(chords):
        a, b = i * clen, (n_samples if i == len(chords) - 1 else (i + 1) * clen)
        env = np.ones(b - a)
        r = int(0.08 * FS)
        env[:r] = np.linspace(0, 1, r)
        env[-r:] = np.linspace(1, 0, r)
        env *= np.exp(-0.15 * np.arange(b - a) / FS)
        for f in ch:
            y[a:b] += env * (np.sin(2 * np.pi * f * t[a:b]) + 0.2 * np.sin(2 * np.pi * 2 * f * t[a:b]))
    note = int(0.75 * FS)
    k = 0
    for a in range(0, n_samples, note):
        b = min(a + note, n_samples)
        f = melody_scale[int(rng.integers(len(melody_scale)))] if k % 4 else melody_scale[k % 3]
        k += 1
        tt = np.arange(b - a) / FS
        env = (1 - np.exp(-tt / 0.03)) * np.exp(-tt / 0.5)
        y[a:b] += 1.2 * env * np.sin(2 * np.pi * f * tt)
    y = bandlimit(y)
    fade = int(0.02 * FS)
    y[:fade] *= np.linspace(0, 1, fade)
    y[-fade:] *= np.linspace(1, 0, fade)
    return y * db(-25.0) / np.sqrt(np.mean(y ** 2))


# Call definitions ------------------------------------------------------------

SCRIPTS = {
    "clean": [
        ("turn", "agent", (2.2, 2.8)),
        ("turn", "customer", (4.2, 4.8)), ("backchannel", "agent"),
        ("turn", "agent", (1.4, 1.8)),
        ("turn", "customer", (3.4, 4.0)), ("interrupt", "agent", (2.2, 2.8)),
        ("turn", "agent", (3.6, 4.2)), ("backchannel", "customer"),
        ("silence", (4.2, 4.8)),
        ("turn", "customer", (1.8, 2.4)),
        ("turn", "agent", (3.2, 3.8)), ("interrupt", "customer", (2.0, 2.6)),
        ("fill",),
    ],
    "noisy": [
        ("turn", "agent", (2.2, 2.8)),
        ("turn", "customer", (3.6, 4.4)), ("backchannel", "agent"),
        ("turn", "agent", (2.0, 2.8)),
        ("turn", "customer", (3.0, 3.6)), ("interrupt", "agent", (1.8, 2.4)),
        ("silence", (3.6, 4.4)),
        ("turn", "customer", (2.0, 2.8)),
        ("turn", "agent", (3.0, 4.0)),
        ("fill",),
    ],
    "echo": [
        ("turn", "agent", (2.4, 3.0)),
        ("turn", "customer", (3.0, 3.8)),
        ("turn", "agent", (3.6, 4.4)), ("backchannel", "customer"),
        ("turn", "customer", (2.0, 2.8)),
        ("turn", "agent", (3.0, 3.6)), ("interrupt", "customer", (1.8, 2.4)),
        ("silence", (3.6, 4.4)),
        ("turn", "agent", (2.0, 2.8)),
        ("fill",),
    ],
    "hold": [
        ("turn", "agent", (2.4, 3.0)),
        ("turn", "customer", (3.0, 3.6)),
        ("turn", "agent", (2.0, 2.5)),
        ("hold", 15.0),
        ("turn", "agent", (2.6, 3.2)),
        ("turn", "customer", (3.4, 4.0)), ("backchannel", "agent"),
        ("fill",),
    ],
    "dropouts": [
        ("turn", "agent", (2.4, 3.0)),
        ("turn", "customer", (2.4, 3.0)),
        ("turn", "agent", (3.6, 4.4)),
        ("turn", "customer", (2.6, 3.2), "loud"),
        ("turn", "agent", (3.0, 3.6)), ("interrupt", "customer", (1.6, 2.2)),
        ("turn", "agent", (3.4, 4.2)),
        ("silence", (3.6, 4.2)),
        ("turn", "customer", (2.0, 2.6)),
        ("turn", "agent", (3.0, 3.8)),
        ("fill",),
    ],
    "renamed": [
        ("turn", "agent", (2.4, 3.0)),
        ("turn", "customer", (3.0, 4.0)),
        ("turn", "agent", (2.0, 3.0)),
        ("silence", (3.6, 4.2)),
        ("turn", "customer", (2.0, 3.0)),
        ("fill",),
    ],
    "orphan": [
        ("turn", "agent", (2.4, 3.0)),
        ("turn", "customer", (3.6, 4.4)), ("backchannel", "agent"),
        ("turn", "agent", (2.0, 3.0)),
        ("fill",),
    ],
    "corrupt": [
        ("turn", "agent", (2.4, 3.0)),
        ("turn", "customer", (1.0, 1.4)),
    ],
}


def synth_call(name, seed, levels, fill_to_ms=34500):
    rng = np.random.default_rng(seed)
    utts, events, dur_ms = build_script(rng, SCRIPTS[name], levels, None if name == "corrupt" else fill_to_ms)
    n = dur_ms * SPM
    voices = {"agent": make_voice(rng, "agent"), "customer": make_voice(rng, "customer")}
    clean = {ch: render_track(rng, utts, ch, voices[ch], n) for ch in ("agent", "customer")}
    segs = {ch: truth_segments(utts, ch) for ch in ("agent", "customer")}
    return {"rng": rng, "utts": utts, "events": events, "dur_ms": dur_ms, "n": n, "voices": voices,
            "clean": clean, "segs": segs}


def check_events(c):
    """Self-checks: scripted overlaps are the only overlaps; backchannels are separate segments."""
    segs, ev, dur = c["segs"], c["events"], c["dur_ms"]
    ma, mc = ms_mask(segs["agent"], dur), ms_mask(segs["customer"], dur)
    scripted = 0
    for i in ev["interruptions"]:
        at = int(round(i["at"] * 1000))
        me = [s for s in segs[i["by"]] if s[0] == at]
        other = [s for s in segs[i["interrupted"]] if s[0] < at < s[1]]
        assert me and other and other[0][1] - at >= 500, i
        scripted += other[0][1] - at
    for b in ev["backchannels"]:
        at = int(round(b["at"] * 1000))
        me = [s for s in segs[b["by"]] if s[0] == at]
        assert me and me[0][1] - me[0][0] == int(round(b["durationSeconds"] * 1000)), b
        host = [s for s in segs[b["inside"]] if s[0] < at and me[0][1] < s[1]]
        assert host, b
        scripted += me[0][1] - me[0][0]
    assert int((ma & mc).sum()) == scripted, (int((ma & mc).sum()), scripted)


def place_in_runs(free_runs, count, length_ms, margin_ms):
    """Pick `count` start times (ms) inside free runs: centred, one per run (longest runs first);
    if there are too few runs, the rest are spread evenly over the longest run."""
    need = length_ms + 2 * margin_ms
    cand = sorted([r for r in free_runs if r[1] - r[0] >= need], key=lambda r: (-(r[1] - r[0]), r[0]))
    picks = [a + (b - a - length_ms) // 2 for a, b in cand[:count]]
    if len(picks) < count:
        a, b = cand[0]
        extra = count - len(picks)
        usable = b - a - need
        for k in range(1, extra + 2):
            p = a + margin_ms + k * usable // (extra + 2)
            if len(picks) < count and all(abs(p - q) >= length_ms + 200 for q in picks):
                picks.append(p)
    assert len(picks) == count, (picks, count)
    return sorted(picks)


def write_wav(path, frames):
    """frames: int16 array (N, C)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with wave.open(path, "wb") as w:
        w.setnchannels(frames.shape[1])
        w.setsampwidth(2)
        w.setframerate(FS)
        w.writeframes(np.ascontiguousarray(frames).astype("<i2").tobytes())


def write_truncated_wav(path, frames, claimed_frames):
    """A 44-byte PCM header claiming `claimed_frames`, followed by fewer frames."""
    ch = frames.shape[1]
    data = np.ascontiguousarray(frames).astype("<i2").tobytes()
    claimed = claimed_frames * ch * 2
    hdr = b"RIFF" + struct.pack("<I", 36 + claimed) + b"WAVE"
    hdr += b"fmt " + struct.pack("<IHHIIHH", 16, 1, ch, FS, FS * ch * 2, ch * 2, 16)
    hdr += b"data" + struct.pack("<I", claimed)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(hdr + data)


def stereo(customer, agent):
    """Customer = LEFT (channel 0), agent = RIGHT (channel 1)."""
    return np.stack([to_int16(customer), to_int16(agent)], axis=1)


# --------------------------------------------------------------------------- main

def main():
    for sub in ("recordings", "ctr", "bad", "formats"):
        shutil.rmtree(os.path.join(ROOT, sub), ignore_errors=True)

    ids = random.Random(20260303)

    def new_uuid():
        return str(uuid.UUID(int=ids.getrandbits(128), version=4))

    cid = {k: new_uuid() for k in ("clean", "noisy", "echo", "hold", "dropouts", "renamed", "orphan", "corrupt",
                                   "abandoned", "ivronly", "kvs", "malformed")}
    instance_id = new_uuid()
    agent_ids = {u: new_uuid() for u in ("maria", "jlee", "sam", "priya")}
    queue_id = new_uuid()
    profile_id = new_uuid()
    firehose_ids = [new_uuid() for _ in range(4)]

    minutes = {"clean": "10:15", "noisy": "10:17", "hold": "10:18", "renamed": "10:20", "echo": "10:27",
               "dropouts": "10:33", "orphan": "10:40", "corrupt": "10:45"}

    def rec_name(key):
        if key == "renamed":
            return "ivr-leg 10:20 export.wav"
        return f"{cid[key]}_20260303T{minutes[key]}_UTC.wav"

    def rec_rel(key):      # relative to TestAudio/
        return f"recordings/{REC_DAY}/{rec_name(key)}"

    truth_calls = {}
    meta = {}

    def base_truth(key, cond, kind, c, agent_channel=1, contact=True, notes=""):
        s = summarize(c["segs"]["agent"], c["segs"]["customer"], c["dur_ms"])
        t = {"condition": cond, "kind": kind, "durationSeconds": sec(c["dur_ms"]),
             "sampleRate": FS, "channels": 2, "encoding": "pcm_s16le",
             "customerChannel": 1 - agent_channel, "agentChannel": agent_channel,
             "contactId": cid[key] if contact else None}
        t.update(s)
        t["agent"]["peakDbfs"] = None
        t["holds"] = [[sec(a), sec(b)] for a, b in c["events"]["holds"]]
        t["interruptions"] = c["events"]["interruptions"]
        t["backchannels"] = c["events"]["backchannels"]
        t["artifacts"] = {}
        t["notes"] = notes
        return t

    def levels_note(t, levels):
        t["agent"]["peakDbfs"] = levels["agent"]
        t["customer"]["peakDbfs"] = levels["customer"]

    # a. clean ---------------------------------------------------------------
    levels = {"agent": -14.0, "customer": -16.0}
    c = synth_call("clean", 101, levels)
    check_events(c)
    rng = c["rng"]
    cu = c["clean"]["customer"] + noise_floor(rng, c["n"])
    ag = c["clean"]["agent"] + noise_floor(rng, c["n"])
    clean_frames = stereo(cu, ag)
    write_wav(os.path.join(ROOT, rec_rel("clean")), clean_frames)
    t = base_truth("clean", "clean", "normal", c, notes=(
        "Turn-taking call, -70 dBFS noise floor. Two scripted interruptions (one by each side, overlap 0.6-1.0 s), "
        "two backchannels (single 0.3-0.45 s syllable inside the other side's long utterance), one mutual "
        "silence of 4-5 s (a non-talk instance)."))
    t["artifacts"] = {"noiseFloorDbfs": -70}
    levels_note(t, levels)
    truth_calls[rec_rel("clean")] = t
    meta["clean"] = c

    # b. noisy ---------------------------------------------------------------
    levels = {"agent": -13.0, "customer": -15.0}
    c = synth_call("noisy", 202, levels)
    check_events(c)
    rng = c["rng"]
    n = c["n"]
    snr = {"agent": 14.0, "customer": 11.0}
    chans = {}
    for ch in ("agent", "customer"):
        sp = c["clean"][ch]
        act = ms_mask(c["segs"][ch], c["dur_ms"]).repeat(SPM)
        sp_rms = np.sqrt(np.mean(sp[act] ** 2))
        bg = 0.85 * pink(rng, n) + 0.5 * babble(rng, n)
        bg = bg / np.sqrt(np.mean(bg ** 2)) * sp_rms / db(snr[ch])
        tt = np.arange(n) / FS
        hum = db(-40.0) * np.sin(2 * np.pi * 60.0 * tt + (0.3 if ch == "agent" else 1.1))
        chans[ch] = sp + bg + hum + noise_floor(rng, n)
    chans["customer"] += 0.02
    silent = ~(ms_mask(c["segs"]["agent"], c["dur_ms"]) | ms_mask(c["segs"]["customer"], c["dur_ms"]))
    click_ms = place_in_runs(runs(silent), 5, 0, 300)
    clicks = []
    for k, ms in enumerate(click_ms):
        ch = "customer" if k % 2 == 0 else "agent"
        smp = ms * SPM + 3
        chans[ch][smp] = 0.8
        clicks.append({"channel": ch, "channelIndex": 0 if ch == "customer" else 1, "sample": smp,
                       "at": round(smp / FS, 6), "value": 0.8})
    write_wav(os.path.join(ROOT, rec_rel("noisy")), stereo(chans["customer"], chans["agent"]))
    t = base_truth("noisy", "noisy", "normal", c, notes=(
        "Stationary pink noise + 6-talker babble on both channels (independent), SNR = active-speech RMS over "
        "noise RMS; 60 Hz hum (peak -40 dBFS) on both; DC offset +0.02 on the customer (left) channel; "
        "5 single-sample clicks of +0.8 full scale in mutual silence (>=0.3 s from any talk). Transferred "
        "to the hold call (CTR NextContactId)."))
    t["artifacts"] = {"backgroundNoise": "pink+babble", "snrDb": snr, "humHz": 60, "humPeakDbfs": -40,
                      "dcOffset": {"customer": 0.02, "agent": 0.0}, "clicks": clicks}
    levels_note(t, levels)
    truth_calls[rec_rel("noisy")] = t

    # c. echo ----------------------------------------------------------------
    levels = {"agent": -13.0, "customer": -17.0}
    c = synth_call("echo", 303, levels)
    check_events(c)
    rng = c["rng"]
    n = c["n"]
    d = int(0.040 * FS)
    echo = np.concatenate([np.zeros(d), c["clean"]["agent"][:-d]]) * db(-25.0)
    side = c["clean"]["customer"] * db(-30.0)
    cu = c["clean"]["customer"] + echo + noise_floor(rng, n)
    ag = c["clean"]["agent"] + side + noise_floor(rng, n)
    write_wav(os.path.join(ROOT, rec_rel("echo")), stereo(cu, ag))
    t = base_truth("echo", "echo", "normal", c, notes=(
        "Agent speech leaks into the customer (left) channel 25 dB down, 40 ms late (line echo); customer "
        "speech leaks into the agent (right) channel 30 dB down, no delay (sidetone). Leaked audio is not talk."))
    t["artifacts"] = {"echo": {"from": "agent", "into": "customer", "attenuationDb": 25, "delayMs": 40},
                      "sidetone": {"from": "customer", "into": "agent", "attenuationDb": 30, "delayMs": 0},
                      "noiseFloorDbfs": -70}
    levels_note(t, levels)
    truth_calls[rec_rel("echo")] = t

    # d. hold ----------------------------------------------------------------
    levels = {"agent": -16.0, "customer": -14.0}
    c = synth_call("hold", 404, levels)
    check_events(c)
    rng = c["rng"]
    n = c["n"]
    cu = c["clean"]["customer"] + noise_floor(rng, n)
    hs, he = c["events"]["music"][0]
    cu[hs * SPM:he * SPM] += hold_music(rng, (he - hs) * SPM)
    ag = c["clean"]["agent"] + noise_floor(rng, n)
    assert not ms_mask(c["segs"]["customer"], c["dur_ms"])[hs:he].any()
    write_wav(os.path.join(ROOT, rec_rel("hold")), stereo(cu, ag))
    t = base_truth("hold", "hold", "normal", c, notes=(
        "Transferred leg (CTR PreviousContactId = noisy call). Customer on hold for exactly 15 s: the customer "
        "(left) channel carries hold music (sine chords + slow melody, RMS -25 dBFS), which is not talk; the "
        "agent says two short things during the hold."))
    t["artifacts"] = {"holdMusic": {"channel": "customer", "start": sec(hs), "end": sec(he), "rmsDbfs": -25},
                      "noiseFloorDbfs": -70}
    levels_note(t, levels)
    truth_calls[rec_rel("hold")] = t

    # e. dropouts ------------------------------------------------------------
    levels = {"agent": -17.0, "customer": -14.0}
    c = synth_call("dropouts", 505, levels)
    check_events(c)
    rng = c["rng"]
    n = c["n"]
    cu = c["clean"]["customer"] + noise_floor(rng, n)
    ag = c["clean"]["agent"] + noise_floor(rng, n)
    cmask = ms_mask(c["segs"]["customer"], c["dur_ms"])
    amask = ms_mask(c["segs"]["agent"], c["dur_ms"])
    # dropouts where the customer is silent but the agent talks (so they are not mistaken for mutual silence)
    free = [(a, b) for a, b in runs(~cmask & amask)]
    drop_ms = place_in_runs(free, 3, 500, 300)
    dropouts = []
    for ms in drop_ms:
        assert not cmask[ms - 300:ms + 800].any()
        cu[ms * SPM:(ms + 500) * SPM] = 0.0
        dropouts.append({"channel": "customer", "channelIndex": 0, "start": sec(ms), "end": sec(ms + 500),
                         "startSample": ms * SPM, "endSample": (ms + 500) * SPM})
    loud = [u for u in c["utts"] if u.loud][0]
    frames = stereo(cu, ag)
    seg = frames[loud.start * SPM:loud.end * SPM, 0]
    nclip = int(np.sum(np.abs(seg.astype(np.int32)) == 32767))
    for dd in dropouts:
        assert not frames[dd["startSample"]:dd["endSample"], 0].any()
    write_wav(os.path.join(ROOT, rec_rel("dropouts")), frames)
    t = base_truth("dropouts", "dropouts", "normal", c, notes=(
        "Three 0.5 s digital-zero dropouts (exact zeros) on the customer (left) channel, placed where the "
        "customer is silent and the agent talks. One customer utterance is driven into the clipper "
        "(about 1% of its samples at exactly +/-32767); its peak level is therefore 0 dBFS, not the -14 target. "
        "Its CTR Recording.Location names a different minute (10:32) than the file (10:33): the join must fall "
        "back to the contact id in the file name."))
    t["artifacts"] = {"dropouts": dropouts,
                      "clipping": {"channel": "customer", "channelIndex": 0, "utterance": [sec(loud.start), sec(loud.end)],
                                   "clippedSamples": nclip, "utteranceSamples": int(len(seg)),
                                   "fraction": round(nclip / len(seg), 4), "clipValue": 32767},
                      "noiseFloorDbfs": -70}
    levels_note(t, levels)
    truth_calls[rec_rel("dropouts")] = t
    meta["dropouts"] = c

    # f. renamed (no contact id in file name) --------------------------------
    levels = {"agent": -19.0, "customer": -18.0}
    c = synth_call("renamed", 606, levels)
    check_events(c)
    rng = c["rng"]
    cu = c["clean"]["customer"] + noise_floor(rng, c["n"])
    ag = c["clean"]["agent"] + noise_floor(rng, c["n"])
    write_wav(os.path.join(ROOT, rec_rel("renamed")), stereo(cu, ag))
    t = base_truth("renamed", "clean", "renamed", c, notes=(
        "File name carries no contact id (and has a space and a colon); only its CTR's Recording(s).Location "
        "links it. Quieter speech (-18/-19 dBFS peaks)."))
    t["artifacts"] = {"noiseFloorDbfs": -70}
    levels_note(t, levels)
    truth_calls[rec_rel("renamed")] = t

    # g. orphan -----------------------------------------------------------------
    levels = {"agent": -12.5, "customer": -19.5}
    c = synth_call("orphan", 707, levels)
    check_events(c)
    rng = c["rng"]
    cu = c["clean"]["customer"] + noise_floor(rng, c["n"])
    ag = c["clean"]["agent"] + noise_floor(rng, c["n"])
    write_wav(os.path.join(ROOT, rec_rel("orphan")), stereo(cu, ag))
    t = base_truth("orphan", "clean", "orphan", c, contact=False, notes=(
        "Contact id in the file name has no CTR: the recording must be reported unmatched (contactId null)."))
    t["fileNameContactId"] = cid["orphan"]
    t["artifacts"] = {"noiseFloorDbfs": -70}
    levels_note(t, levels)
    truth_calls[rec_rel("orphan")] = t

    # h. corrupt (truncated) ---------------------------------------------------
    levels = {"agent": -15.0, "customer": -15.0}
    c = synth_call("corrupt", 808, levels)
    rng = c["rng"]
    cu = c["clean"]["customer"] + noise_floor(rng, c["n"])
    ag = c["clean"]["agent"] + noise_floor(rng, c["n"])
    fr = stereo(cu, ag)[:2 * FS]
    write_truncated_wav(os.path.join(ROOT, rec_rel("corrupt")), fr, 30 * FS)
    clip_ms = 2000
    sa = [[a, min(b, clip_ms)] for a, b in c["segs"]["agent"] if a < clip_ms]
    sc = [[a, min(b, clip_ms)] for a, b in c["segs"]["customer"] if a < clip_ms]
    t = {"condition": "truncated", "kind": "corrupt", "durationSeconds": 2.0, "headerDurationSeconds": 30.0,
         "sampleRate": FS, "channels": 2, "encoding": "pcm_s16le", "customerChannel": 0, "agentChannel": 1,
         "contactId": cid["corrupt"]}
    t.update(summarize(sa, sc, clip_ms))
    t.update({"holds": [], "interruptions": [], "backchannels": [],
              "artifacts": {"headerDataBytes": 30 * FS * 4, "presentDataBytes": 2 * FS * 4, "fileBytes": 44 + 2 * FS * 4},
              "notes": ("Valid 44-byte header whose RIFF and data sizes claim 30 s (960000 data bytes) but only 2 s "
                        "(64000 bytes) follow. A reader should report truncation (error, or a warning plus the 2 s "
                        "present). Segments describe the 2 s actually present.")})
    truth_calls[rec_rel("corrupt")] = t

    # 3. format variants of the clean call's first 20 s -----------------------
    fmt_dir = os.path.join(ROOT, "formats")
    os.makedirs(fmt_dir, exist_ok=True)
    first = clean_frames[:20 * FS]
    cclean = meta["clean"]
    clip_ms = 20000
    sa = [[a, min(b, clip_ms)] for a, b in cclean["segs"]["agent"] if a < clip_ms]
    sc = [[a, min(b, clip_ms)] for a, b in cclean["segs"]["customer"] if a < clip_ms]
    f_inter = []
    for i in cclean["events"]["interruptions"]:
        at = int(round(i["at"] * 1000))
        host = [s for s in cclean["segs"][i["interrupted"]] if s[0] < at < s[1]]
        if host and host[0][1] <= clip_ms:
            f_inter.append(i)
    f_bc = [b for b in cclean["events"]["backchannels"] if b["at"] + b["durationSeconds"] <= 20.0]
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "first20.wav")
        write_wav(src, first)
        variants = [
            ("mulaw-8k.wav", ["sox", "-R", "-D", src, "-e", "u-law", "-b", "8", os.path.join(fmt_dir, "mulaw-8k.wav")],
             "G.711 mu-law WAV (format tag 7), 8 kHz stereo", 8000, 1),
            ("float-16k.wav", ["sox", "-R", "-D", src, "-e", "floating-point", "-b", "32",
                               os.path.join(fmt_dir, "float-16k.wav"), "rate", "-v", "16000"],
             "32-bit float WAV, resampled to 16 kHz (sox rate -v, linear phase)", 16000, 1),
            ("pcm24-8k.wav", ["sox", "-R", "-D", src, "-e", "signed-integer", "-b", "24",
                              os.path.join(fmt_dir, "pcm24-8k.wav")],
             "24-bit signed PCM WAV, 8 kHz stereo", 8000, 1),
        ]
        for fname, cmd, desc, rate, agc in variants:
            subprocess.run(cmd, check=True)
        # A complete file whose header libsndfile disputes in its log ("Bytes/sec : 8111 (should be
        # 8110)"): sox's IMA ADPCM of the first 3 s.
        src3 = os.path.join(tmp, "first3.wav")
        write_wav(src3, first[:3 * FS])
        subprocess.run(["sox", "-R", "-D", src3, "-e", "ima-adpcm", os.path.join(fmt_dir, "ima-adpcm-8k.wav")], check=True)
    write_wav(os.path.join(fmt_dir, "agent-left.wav"), first[:, ::-1])
    variants.append(("agent-left.wav", None, "pcm_s16le 8 kHz stereo with channels swapped: agent LEFT (0), customer RIGHT (1)", 8000, 0))
    for fname, _, desc, rate, agc in variants:
        t = {"condition": "clean", "kind": "format", "durationSeconds": 20.0, "sampleRate": rate, "channels": 2,
             "encoding": {"mulaw-8k.wav": "mulaw", "float-16k.wav": "pcm_f32le", "pcm24-8k.wav": "pcm_s24le",
                          "agent-left.wav": "pcm_s16le"}[fname],
             "customerChannel": 1 - agc, "agentChannel": agc, "contactId": None,
             "sourceRecording": rec_rel("clean")}
        t.update(summarize(sa, sc, clip_ms))
        t.update({"holds": [], "interruptions": f_inter, "backchannels": f_bc, "artifacts": {},
                  "notes": desc + "; first 20 s of the clean call, segments clipped at 20 s."
                  + (" Analyse with --agent-channel left." if agc == 0 else "")})
        truth_calls["formats/" + fname] = t
    t = {"condition": "clean", "kind": "format", "durationSeconds": 3.0, "sampleRate": 8000, "channels": 2,
         "encoding": "ima_adpcm", "customerChannel": 0, "agentChannel": 1, "contactId": None,
         "sourceRecording": rec_rel("clean")}
    t.update(summarize([[a, min(b, 3000)] for a, b in cclean["segs"]["agent"] if a < 3000],
                       [[a, min(b, 3000)] for a, b in cclean["segs"]["customer"] if a < 3000], 3000))
    t.update({"holds": [], "interruptions": [], "backchannels": [], "artifacts": {},
              "notes": ("IMA ADPCM WAV written by sox (format tag 0x11, 505-frame blocks: libsndfile reads 3.03 s, "
                        "the last block padded). Its byte-rate field says 8111 where libsndfile computes 8110: a "
                        "complete file, not a truncated one. First 3 s of the clean call, segments clipped at 3 s.")})
    truth_calls["formats/ima-adpcm-8k.wav"] = t

    # bad files --------------------------------------------------------------------
    bad_dir = os.path.join(ROOT, "bad")
    os.makedirs(bad_dir, exist_ok=True)
    with open(os.path.join(bad_dir, "not-audio.wav"), "w") as f:
        f.write("This is not a WAV file. It is plain text that happens to have a .wav name.\n")
    open(os.path.join(bad_dir, "empty.wav"), "wb").close()
    write_truncated_wav(os.path.join(bad_dir, "truncated.wav"), clean_frames[:FS // 2], 10 * FS)
    write_wav(os.path.join(bad_dir, "header-only.wav"), np.zeros((0, 2), "<i2"))
    write_wav(os.path.join(bad_dir, "mono.wav"), clean_frames[2 * FS:3 * FS, 1:2])
    write_wav(os.path.join(bad_dir, "three-channel.wav"),
              np.concatenate([clean_frames[2 * FS:3 * FS], clean_frames[2 * FS:3 * FS, :1]], axis=1))
    bad = {
        "bad/not-audio.wav": {"expect": "error", "reason": "plain text, no RIFF header"},
        "bad/empty.wav": {"expect": "error", "reason": "0 bytes"},
        "bad/truncated.wav": {"expect": "error-or-warning", "reason": "44-byte header claims 10 s (320000 data bytes); only 0.5 s (16000 bytes) present"},
        "bad/header-only.wav": {"expect": "error-or-empty", "reason": "valid 44-byte stereo 8 kHz pcm_s16le header, 0 frames"},
        "bad/mono.wav": {"expect": "error-or-explicit-channel-handling", "reason": "1 s mono 8 kHz pcm_s16le (no customer/agent split)"},
        "bad/three-channel.wav": {"expect": "error-or-explicit-channel-handling", "reason": "1 s, 3 channels, 8 kHz pcm_s16le (plain PCM fmt chunk, not EXTENSIBLE)"},
    }

    # 2. CTRs ----------------------------------------------------------------------
    base = dt.datetime(2026, 3, 3, 0, 0, 0)

    def ts(hhmmss):
        h, m, s = (int(x) for x in hhmmss.split(":"))
        return base + dt.timedelta(hours=h, minutes=m, seconds=s)

    def iso(x):
        return x.strftime("%Y-%m-%dT%H:%M:%SZ") if x is not None else None

    inst_arn = f"arn:aws:connect:{REGION}:{ACCOUNT}:instance/{instance_id}"
    durations = {k: truth_calls[rec_rel(k)]["durationSeconds"] for k in
                 ("clean", "noisy", "echo", "hold", "dropouts", "renamed")}
    durations["corrupt"] = 30.0   # the recording was 30 s long before it got truncated in transit

    def loc(name):
        return f"{BUCKET}/{REC_DAY}/{name}"

    def s3_recordings(location, start, stop):
        rec = {"DeletionReason": None, "Location": location, "Status": "AVAILABLE", "Type": "AUDIO"}
        recs = [{"DeletionReason": None, "FragmentStartNumber": None, "FragmentStopNumber": None,
                 "Location": location, "MediaStreamType": "AUDIO", "ParticipantType": "AGENT",
                 "StartTimestamp": iso(start), "Status": "AVAILABLE", "StopTimestamp": iso(stop),
                 "StorageType": "S3"}]
        return rec, recs

    def ctr(key, initiated, agent_user, attrs, *, method="INBOUND", queue_wait=15, duration=None, hold=0,
            location="default", prev=None, nxt=None, initial=None, last_update_after=95, phone="+12065550100",
            agent=True, recording=True):
        init = ts(initiated)
        enq = init + dt.timedelta(seconds=12)
        deq = enq + dt.timedelta(seconds=queue_wait)
        r = {"AWSAccountId": ACCOUNT, "AWSContactTraceRecordFormatVersion": "2017-03-10",
             "AgentConnectionAttempts": 1 if agent else 0, "Attributes": attrs, "Channel": "VOICE",
             "ConnectedToSystemTimestamp": iso(init), "ContactId": cid[key],
             "CustomerEndpoint": {"Address": phone, "Type": "TELEPHONE_NUMBER"},
             "InitialContactId": initial, "InitiationMethod": method, "InitiationTimestamp": iso(init),
             "InstanceARN": inst_arn, "MediaStreams": [{"Type": "AUDIO"}], "NextContactId": nxt,
             "PreviousContactId": prev,
             "SystemEndpoint": {"Address": "+18005550199", "Type": "TELEPHONE_NUMBER"},
             "TransferCompletedTimestamp": None, "TransferredToEndpoint": None}
        if agent:
            secs = int(round(duration))
            disc = deq + dt.timedelta(seconds=secs)
            acw = 20 + secs % 17
            r["Agent"] = {"ARN": f"{inst_arn}/agent/{agent_ids[agent_user]}",
                          "AfterContactWorkDuration": acw,
                          "AfterContactWorkEndTimestamp": iso(disc + dt.timedelta(seconds=acw)),
                          "AfterContactWorkStartTimestamp": iso(disc),
                          "AgentInteractionDuration": secs - hold, "ConnectedToAgentTimestamp": iso(deq),
                          "CustomerHoldDuration": hold, "HierarchyGroups": None,
                          "LongestHoldDuration": hold, "NumberOfHolds": 1 if hold else 0,
                          "RoutingProfile": {"ARN": f"{inst_arn}/routing-profile/{profile_id}",
                                             "Name": "Basic Routing Profile"},
                          "Username": agent_user}
            r["DisconnectReason"] = "CUSTOMER_DISCONNECT"
        else:
            disc = deq
            r["Agent"] = None
            r["DisconnectReason"] = "CUSTOMER_DISCONNECT"
        r["DisconnectTimestamp"] = iso(disc)
        r["LastUpdateTimestamp"] = iso(disc + dt.timedelta(seconds=last_update_after))
        r["Queue"] = {"ARN": f"{inst_arn}/queue/{queue_id}", "DequeueTimestamp": iso(deq),
                      "Duration": queue_wait, "EnqueueTimestamp": iso(enq), "Name": "BasicQueue"}
        if recording:
            name = rec_name(key) if location == "default" else location
            r["Recording"], r["Recordings"] = s3_recordings(loc(name), deq, disc)
        return r

    # queue waits chosen so that ConnectedToAgentTimestamp falls in the file name's minute
    rec_clean_new = ctr("clean", "10:14:31", "maria", {"accountType": "VIP", "language": "en-US", "wrapUp": "resolved"},
                        queue_wait=19, duration=durations["clean"], last_update_after=160)
    rec_clean_old = ctr("clean", "10:14:31", "maria", {"accountType": "VIP", "language": "en-US"},
                        queue_wait=19, duration=durations["clean"], last_update_after=40)
    rec_noisy = ctr("noisy", "10:16:40", "jlee", {"accountType": "Standard", "language": "en-US", "reason": "billing"},
                    queue_wait=8, duration=durations["noisy"], nxt=cid["hold"], phone="+12065550142")
    rec_noisy["TransferCompletedTimestamp"] = rec_noisy["DisconnectTimestamp"]
    rec_noisy["TransferredToEndpoint"] = {"Address": f"{inst_arn}/queue/{queue_id}", "Type": "CONNECT_QUEUE"}
    rec_noisy["DisconnectReason"] = "AGENT_DISCONNECT"
    # the transferred leg starts when the first leg's agent hands over
    rec_hold = ctr("hold", "10:17:48", "sam", {"accountType": "Standard", "language": "en-US", "reason": "billing"},
                   method="TRANSFER", queue_wait=10, duration=durations["hold"], hold=15,
                   prev=cid["noisy"], initial=cid["noisy"], phone="+12065550142")
    assert rec_noisy["DisconnectTimestamp"] <= rec_hold["InitiationTimestamp"]
    rec_echo = ctr("echo", "10:26:30", "priya", {"language": "en-US"}, queue_wait=22, duration=durations["echo"],
                   phone="+12065550177")
    rec_drop = ctr("dropouts", "10:32:20", "jlee", {"language": "es-US", "callbackNumber": "+12065550123"},
                   queue_wait=28, duration=durations["dropouts"], phone="+12065550188",
                   location=f"{cid['dropouts']}_20260303T10:32_UTC.wav")
    rec_drop["ContactDetails"] = {"Foo": [1, {"Bar": None}], "Name": "follow-up", "ReferenceAttributes": {}}
    rec_drop["SegmentAttributes"] = {"connect:Subtype": {"ValueString": "connect:Telephony"},
                                     "x-future": {"ValueMap": {"nested": {"ValueInteger": 7}}}}
    rec_drop["QualityMetrics"] = {"Agent": {"Audio": {"PotentialQualityIssues": [], "QualityScore": 4.61}}}
    rec_renamed = ctr("renamed", "10:19:20", "maria", {"language": "en-US", "ivrPath": "main>billing"},
                      queue_wait=30, duration=durations["renamed"], phone="+12065550111")
    rec_corrupt = ctr("corrupt", "10:44:35", "sam", {"language": "en-US"}, queue_wait=27,
                      duration=durations["corrupt"], phone="+12065550155")
    rec_abandoned = ctr("abandoned", "10:21:10", None, {"language": "en-US"}, queue_wait=41, agent=False,
                        recording=False, phone="+12065550166")
    rec_abandoned["Recording"] = None
    rec_abandoned["Recordings"] = None
    rec_ivronly = ctr("ivronly", "10:24:02", None, {"selfService": "balance"}, queue_wait=0, agent=False,
                      recording=False, phone="+12065550170")
    del rec_ivronly["Queue"]
    rec_kvs = ctr("kvs", "10:36:15", "priya", {"language": "en-US", "liveMediaStreaming": "true"},
                  queue_wait=14, duration=52, recording=False, phone="+12065550193")
    kvs_arn = (f"arn:aws:kinesisvideo:{REGION}:{ACCOUNT}:stream/"
               f"connect-demo-instance-contact-{cid['kvs']}/1772533000000")
    rec_kvs["Recording"] = None
    rec_kvs["Recordings"] = [{"DeletionReason": None, "FragmentStartNumber": "91343852333181432392682062607743920146264201286",
                              "FragmentStopNumber": "91343852333181432392682062649547634384713284802",
                              "Location": kvs_arn, "MediaStreamType": "AUDIO", "ParticipantType": "CUSTOMER",
                              "StartTimestamp": rec_kvs["ConnectedToSystemTimestamp"], "Status": "AVAILABLE",
                              "StopTimestamp": rec_kvs["DisconnectTimestamp"], "StorageType": "KINESIS_VIDEO_STREAM"}]
    rec_malformed = ctr("malformed", "10:22:40", None, {"language": "en-US"}, queue_wait=9, agent=False,
                        recording=False, phone="+12065550102")
    rec_malformed["Recording"] = None
    rec_malformed["Recordings"] = None

    def compact(r):
        return json.dumps(r, sort_keys=True, separators=(",", ":"))

    ctr_dir = os.path.join(ROOT, "ctr/2026/03/03/10")
    os.makedirs(ctr_dir, exist_ok=True)
    fnames = [f"connect-ctr-stream-1-2026-03-03-10-{mm}-00-{fid}" for mm, fid in zip(("15", "30", "45", "55"), firehose_ids)]
    fnames[2] += ".gz"

    # file A: plain, concatenated with no delimiter, malformed record in the middle
    mal = compact(rec_malformed)
    assert mal.count('"Channel":"VOICE"') == 1
    mal = mal.replace('"Channel":"VOICE"', '"Channel":VOICE"')
    parts_a = [compact(rec_clean_new), compact(rec_noisy), mal, compact(rec_hold)]
    body_a = "".join(parts_a).encode()
    mal_off = len((parts_a[0] + parts_a[1]).encode())
    mal_end = mal_off + len(mal.encode())
    # file B: gzip, no extension, concatenated
    body_b = "".join(compact(r) for r in (rec_echo, rec_drop, rec_abandoned)).encode()
    # file C: gzip, .gz, newline-delimited (JSON Lines)
    body_c = "".join(compact(r) + "\n" for r in (rec_renamed, rec_corrupt, rec_kvs, rec_ivronly)).encode()
    # file D: plain, one pretty-printed (multi-line) record: the OLDER copy of the clean call
    body_d = (json.dumps(rec_clean_old, sort_keys=True, indent=2) + "\n").encode()

    def gz(data):
        bio = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=bio, mtime=0, compresslevel=9) as g:
            g.write(data)
        return bio.getvalue()

    for fname, data in zip(fnames, (body_a, gz(body_b), gz(body_c), body_d)):
        with open(os.path.join(ctr_dir, fname), "wb") as f:
            f.write(data)

    ctr_rel = [f"ctr/2026/03/03/10/{f}" for f in fnames]

    def recrel(key):  # relative to TestAudio/recordings
        return f"{REC_DAY}/{rec_name(key)}"

    contacts = {
        cid["clean"]: {"call": "clean", "recording": recrel("clean"), "matchBy": "location",
                       "keptLastUpdateTimestamp": rec_clean_new["LastUpdateTimestamp"], "keptFile": ctr_rel[0],
                       "attributes": rec_clean_new["Attributes"]},
        cid["noisy"]: {"call": "noisy", "recording": recrel("noisy"), "matchBy": "location",
                       "nextContactId": cid["hold"]},
        cid["hold"]: {"call": "hold", "recording": recrel("hold"), "matchBy": "location",
                      "previousContactId": cid["noisy"], "initialContactId": cid["noisy"],
                      "customerHoldDuration": 15},
        cid["echo"]: {"call": "echo", "recording": recrel("echo"), "matchBy": "location"},
        cid["dropouts"]: {"call": "dropouts", "recording": recrel("dropouts"), "matchBy": "contactId",
                          "ctrLocation": rec_drop["Recording"]["Location"],
                          "note": "Location names a file that does not exist (minute 10:32 vs 10:33); fall back to the contact id in the file name. Also carries unknown top-level fields ContactDetails, SegmentAttributes, QualityMetrics that must be kept verbatim."},
        cid["renamed"]: {"call": "renamed", "recording": recrel("renamed"), "matchBy": "location"},
        cid["corrupt"]: {"call": "corrupt", "recording": recrel("corrupt"), "matchBy": "location",
                         "note": "recording is truncated (header claims 30 s, 2 s present)"},
        cid["abandoned"]: {"call": None, "recording": None, "matchBy": None,
                           "note": "abandoned in queue: Agent null, Recording null, Recordings null"},
        cid["ivronly"]: {"call": None, "recording": None, "matchBy": None,
                         "note": "IVR-only: Agent null, no Recording / Recordings / Queue fields at all"},
        cid["kvs"]: {"call": None, "recording": None, "matchBy": None,
                     "note": "only Recordings entry is KINESIS_VIDEO_STREAM with a Kinesis Video ARN as Location; Recording null"},
    }
    for k, v in contacts.items():
        if v["recording"] is not None:
            v["durationSeconds"] = truth_calls["recordings/" + v["recording"]]["durationSeconds"]
    contacts[cid["corrupt"]]["durationSeconds"] = 2.0
    agent_rec = {cid[k]: r for k, r in (("clean", rec_clean_new), ("noisy", rec_noisy), ("hold", rec_hold),
                                        ("echo", rec_echo), ("dropouts", rec_drop), ("renamed", rec_renamed),
                                        ("corrupt", rec_corrupt), ("kvs", rec_kvs))}
    for k, r in agent_rec.items():
        contacts[k]["agentInteractionDuration"] = r["Agent"]["AgentInteractionDuration"]
        contacts[k]["customerHoldDuration"] = r["Agent"]["CustomerHoldDuration"]

    expectations = {
        "ctrRoot": "ctr",
        "recordingsRoot": "recordings",
        "bucket": BUCKET,
        "locationRule": "Location has no s3:// prefix; strip the first path segment (bucket) and resolve the rest under recordings/",
        "files": [
            {"path": ctr_rel[0], "compression": "none", "framing": "concatenated, no delimiter (}{)",
             "records": [cid["clean"], cid["noisy"], "MALFORMED", cid["hold"]],
             "validRecords": 3, "malformedRecords": 1},
            {"path": ctr_rel[1], "compression": "gzip (no extension: detect by magic bytes 1f 8b)",
             "framing": "concatenated, no delimiter (}{)",
             "records": [cid["echo"], cid["dropouts"], cid["abandoned"]], "validRecords": 3, "malformedRecords": 0},
            {"path": ctr_rel[2], "compression": "gzip (.gz)", "framing": "newline-delimited (JSON Lines)",
             "records": [cid["renamed"], cid["corrupt"], cid["kvs"], cid["ivronly"]], "validRecords": 4,
             "malformedRecords": 0},
            {"path": ctr_rel[3], "compression": "none", "framing": "one pretty-printed multi-line JSON object",
             "records": [cid["clean"]], "validRecords": 1, "malformedRecords": 0,
             "note": "older copy of the clean call's CTR (earlier LastUpdateTimestamp, no wrapUp attribute) in a LATER file"},
        ],
        "rawRecordsRead": 11,
        "malformedRecords": 1,
        "recordsAfterDedup": 10,
        "malformed": {"file": ctr_rel[0], "byteOffset": mal_off, "byteEnd": mal_end,
                      "nextRecordOffset": mal_end, "contactId": cid["malformed"],
                      "defect": 'value missing its opening quote: "Channel":VOICE"',
                      "expected": "skipped and reported (file + offset); the records before and after it in the same file are kept; its ContactId is NOT in the output"},
        "duplicates": [{"contactId": cid["clean"], "copies": 2,
                        "kept": {"file": ctr_rel[0], "LastUpdateTimestamp": rec_clean_new["LastUpdateTimestamp"],
                                 "hasAttribute": {"wrapUp": "resolved"}},
                        "dropped": {"file": ctr_rel[3], "LastUpdateTimestamp": rec_clean_old["LastUpdateTimestamp"]}}],
        "transfer": {"from": cid["noisy"], "to": cid["hold"]},
        "unknownFieldsKeptVerbatim": {"contactId": cid["dropouts"],
                                      "fields": {"ContactDetails": rec_drop["ContactDetails"],
                                                 "SegmentAttributes": rec_drop["SegmentAttributes"],
                                                 "QualityMetrics": rec_drop["QualityMetrics"]}},
        "contacts": contacts,
        "expectedContactIds": sorted(contacts),
        "ctrsWithoutRecording": [cid["abandoned"], cid["ivronly"], cid["kvs"]],
        "orphanRecordings": [recrel("orphan")],
        "corruptRecordings": [recrel("corrupt")],
        "notes": ["AgentInteractionDuration excludes hold time (Connect semantics): for the hold call "
                  "recording duration ~= AgentInteractionDuration + CustomerHoldDuration (27 + 15).",
                  "The corrupt recording's CTR reports 30 s of interaction; only 2 s of audio survive."],
    }

    join = {rec_rel(k): cid[k] for k in ("clean", "noisy", "echo", "hold", "dropouts", "renamed", "corrupt")}
    join[rec_rel("orphan")] = None

    truth = {
        "generator": "TestAudio/generate.py",
        "convention": ("A channel talks from the onset of an utterance's first syllable to the end of its last "
                       "syllable; pauses shorter than 300 ms inside or between utterances are bridged into one "
                       "segment. Segments are [start, end] seconds, exact at 1 ms. Echo, sidetone, background noise "
                       "and babble, hum, clicks and hold music are never talk. overlapSeconds = both talk; "
                       "silenceSeconds = neither talks; nonTalkInstances = mutual silences longer than 3 s. "
                       "Interruption 'at' = onset of the interrupter's utterance while the other keeps talking "
                       ">= 0.5 s; backchannel 'at' = onset of a single 0.3-0.45 s syllable fully inside the other "
                       "side's utterance. Customer = channel 0 (left), agent = channel 1 (right) unless agentChannel says otherwise."),
        "calls": truth_calls,
        "bad": bad,
        "join": join,
        "unmatchedRecordings": [rec_rel("orphan")],
        "ctrsWithoutRecording": [cid["abandoned"], cid["ivronly"], cid["kvs"]],
    }
    with open(os.path.join(ROOT, "truth.json"), "w") as f:
        json.dump(truth, f, indent=2)
        f.write("\n")
    with open(os.path.join(ROOT, "ctr-expectations.json"), "w") as f:
        json.dump(expectations, f, indent=2)
        f.write("\n")


# --------------------------------------------------------------------------- accuracy/: recorded material

MOH_DIR = "/usr/share/asterisk/moh"                # Debian asterisk-moh-opsound-wav: recorded music on hold
PROMPTS_DIR = "/usr/share/asterisk/sounds/en"      # Debian asterisk-core-sounds-en-wav: recorded human speech
ACC_PACKAGES = {MOH_DIR: "asterisk-moh-opsound-wav", PROMPTS_DIR: "asterisk-core-sounds-en-wav"}


def ensure_recorded_material():
    """Installs the two Debian packages of recorded sound when they are missing (apt-get)."""
    missing = [pkg for d, pkg in ACC_PACKAGES.items() if not os.path.isdir(d)]
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq"] + missing, check=True)


def read_mono(path, pitch_cents=0):
    """A recorded 8 kHz mono file as float in [-1, 1]; optionally pitch-shifted by sox (another voice)."""
    if pitch_cents:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "p.wav")
            subprocess.run(["sox", "-R", path, "-r", str(FS), "-c", "1", "-b", "16", out, "pitch", str(pitch_cents)], check=True)
            return read_mono(out)
    with wave.open(path) as w:
        assert w.getframerate() == FS and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0


def prompt(name, pitch_cents=0):
    x = read_mono(os.path.join(PROMPTS_DIR, name + ".wav"), pitch_cents)
    # Trim the recording's leading and trailing near-silence (its own truth comes from the level).
    e = np.convolve(x * x, np.ones(80) / 80, "same")
    on = np.nonzero(e > e.max() * 1e-4)[0]
    return x[max(0, on[0] - 80): on[-1] + 80]


def level_truth(clean, start_s, dur_ms):
    """Talk segments of one source placed at `start_s`: 10 ms frames within 40 dB of its loudest
    frame, pauses under 300 ms bridged, islands under 60 ms dropped (the eval corpora's convention)."""
    fr = 80
    n = len(clean) // fr
    p = np.array([np.mean(clean[k * fr:(k + 1) * fr] ** 2) for k in range(n)])
    on = p > p.max() * 1e-4
    segs, k = [], 0
    while k < n:
        if on[k]:
            j = k
            while j < n and on[j]:
                j += 1
            segs.append([k * 10, j * 10])
            k = j
        else:
            k += 1
    merged = []
    for a, b in segs:
        if merged and a - merged[-1][1] < BRIDGE_MS:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    off = int(round(start_s * 1000))
    return [[a + off, min(b + off, dur_ms)] for a, b in merged if b - a >= 60]


def place(track, x, start_s, level_dbfs):
    """Adds `x`, scaled so its loud frames (95th percentile of 10 ms RMS) sit at `level_dbfs`."""
    fr = 80
    rms = np.sqrt([np.mean(x[k:k + fr] ** 2) for k in range(0, len(x) - fr, fr)])
    x = x * db(level_dbfs) / np.percentile(rms, 95)
    a = int(round(start_s * FS))
    track[a:a + len(x)] += x[: len(track) - a]
    return len(x) / FS


def talk_track(n_ms, turns, level):
    """Places prompts [(start_s, name, pitch_cents)] into a track; returns it and its truth."""
    y = np.zeros(n_ms * SPM)
    segs = []
    for start, name, cents in turns:
        x = prompt(name, cents)
        place(y, x, start, level)
        segs += level_truth(x * db(level), start, n_ms)
    merged = []
    for a, b in sorted(segs):
        if merged and a - merged[-1][1] < BRIDGE_MS:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return y, merged


def background(rng, n_ms, names, level, pitch_cents, gap=(0.15, 0.6)):
    """A far talker who never stops for long: prompts one after another, `level` dBFS at their loudest."""
    y = np.zeros(n_ms * SPM)
    t = float(rng.uniform(0, 0.5))
    k = 0
    while t < n_ms / 1000:
        x = prompt(names[k % len(names)], pitch_cents)
        t += place(y, x, t, level) + float(rng.uniform(*gap))
        k += 1
    return y


def accuracy_fixtures():
    """accuracy/: six short calls isolating what synthetic voices and tones never exercised, made from
    recorded sound: music on hold from a real recording, a background talker who out-talks the caller,
    neighbouring agents under the agent (on a quiet and on a noisy line, and with the agent's words
    under the caller's talk), a listener's soft words on a quiet line. Written with their own
    truth.json (accuracy/truth.json)."""
    ensure_recorded_material()
    out = os.path.join(ROOT, "accuracy")
    shutil.rmtree(out, ignore_errors=True)
    rng = np.random.default_rng(20261130)
    calls = {}
    dur_ms = 30000
    n = dur_ms * SPM

    def line_noise(dbfs=-62.0):
        return bandlimit(rng.standard_normal(n)) * db(dbfs) / np.sqrt(2)

    def brown_line(dbfs):
        """Brown line noise at `dbfs` (RMS), without drift: brown over the speech band."""
        brown = np.cumsum(rng.standard_normal(n))
        brown -= np.convolve(brown, np.ones(801) / 801, "same")
        brown = bandlimit(brown)
        return brown * db(dbfs) / np.sqrt(np.mean(brown * brown)) / np.sqrt(2)

    def finish(name, cu, ag, cu_segs, ag_segs, notes, extra, noise_dbfs=-62.0):
        write_wav(os.path.join(out, name), stereo(bandlimit(cu) + line_noise(noise_dbfs), bandlimit(ag) + line_noise(noise_dbfs)))
        t = {"durationSeconds": sec(dur_ms), "notes": notes}
        t.update(summarize(ag_segs, cu_segs, dur_ms))
        t.update(extra)
        calls[name] = t

    # The same turns in every call: the customer (recorded prompts pitch-shifted -350 cents, another
    # voice) and the agent take turns; levels are the loud frames' (95th percentile of 10 ms RMS).
    agent_turns = [(0.5, "dir-welcome", 0), (8.2, "pls-hold-while-try", 0), (14.8, "demo-thanks", 0),
                   (23.7, "queue-thankyou", 0)]
    customer_turns = [(2.8, "agent-user", -350), (11.0, "agent-pass", -350), (20.8, "conf-getpin", -350),
                      (25.8, "goodbye", -350)]
    tv_prompts = ["vm-intro", "privacy-unident", "queue-thereare", "conf-onlyperson"]

    # 1. Recorded music on hold (a real piece with a beat and a melody, not chords and tones) in the
    #    customer channel, 8 dB under the caller; the caller answers 0.2 s after the music stops.
    ag, ag_segs = talk_track(dur_ms, [(0.5, "dir-welcome", 0), (8.0, "pls-hold-while-try", 0),
                                      (25.6, "queue-thankyou", 0)], -18.0)
    cu, cu_segs = talk_track(dur_ms, [(2.8, "agent-user", -350), (24.2, "auth-thankyou", -350),
                                      (27.6, "goodbye", -350)], -20.0)
    hold = (10.8, 24.0)
    music = read_mono(os.path.join(MOH_DIR, "macroform-robot_dity.wav"))[20 * FS: 20 * FS + int((hold[1] - hold[0]) * FS)]
    fade = int(0.05 * FS)
    music[:fade] *= np.linspace(0, 1, fade)
    music[-fade:] *= np.linspace(1, 0, fade)
    place(cu, music, hold[0], -28.0)
    finish("recorded-moh.wav", cu, ag, cu_segs, ag_segs,
           "Music on hold from Debian asterisk-moh-opsound-wav (macroform-robot_dity, from 20 s in) on the customer "
           "channel 10.8-24 s at -28 dBFS, 8 dB under the caller, who answers 0.2 s after it stops. Speech: recorded "
           "prompts (asterisk-core-sounds-en-wav), the customer's pitch-shifted -350 cents.",
           {"musicOnHold": [list(hold)]})

    # 2. A television behind the caller, 16 dB under the caller, talking all call long (more than
    #    the caller, who takes turns with the agent).
    ag, ag_segs = talk_track(dur_ms, agent_turns, -18.0)
    cu, cu_segs = talk_track(dur_ms, customer_turns, -20.0)
    tv = background(rng, dur_ms, tv_prompts, -36.0, 250)
    finish("tv-behind-caller.wav", cu + tv, ag, cu_segs, ag_segs,
           "A background talker (recorded prompts pitch-shifted +250 cents) all call on the customer channel at "
           "-36 dBFS, 16 dB under the caller, talking more than the caller.",
           {"backgroundSpeech": {"customer": True, "agent": False}})

    # 3. Two neighbouring agents on an open floor, 20 and 24 dB under the agent, most of the call.
    ag, ag_segs = talk_track(dur_ms, agent_turns, -16.0)
    cu, cu_segs = talk_track(dur_ms, customer_turns, -20.0)
    n1 = background(rng, dur_ms, tv_prompts[:2], -36.0, -150, gap=(0.4, 1.5))
    n2 = background(rng, dur_ms, tv_prompts[2:], -40.0, 400, gap=(0.6, 2.0))
    finish("neighbours.wav", cu, ag + n1 + n2, cu_segs, ag_segs,
           "Two neighbouring agents (recorded prompts at -150 and +400 cents) on the agent channel at -36 and "
           "-40 dBFS, 20 and 24 dB under the agent, most of the call.",
           {"backgroundSpeech": {"customer": False, "agent": True}})

    # 4. A quiet line (-72 dBFS) with nobody else on it; the caller says three soft things while the
    #    agent talks (12, 18 and 20 dB under the caller's turns): the listener's soft turns of real
    #    conversation, which a level gate against background talkers would drop. The third never
    #    comes within the 14 dB near gate of the caller's speech level: no frame of it anchors talk.
    ag, ag_segs = talk_track(dur_ms, [(0.5, "dir-welcome", 0), (8.3, "vm-intro", 0), (18.5, "demo-thanks", 0),
                                      (26.2, "queue-thankyou", 0)], -18.0)
    cu, cu_segs = talk_track(dur_ms, [(2.8, "agent-user", -350), (14.6, "agent-pass", -350),
                                      (24.6, "goodbye", -350)], -20.0)
    soft1, soft1_segs = talk_track(dur_ms, [(10.5, "hello", -350)], -32.0)
    soft2, soft2_segs = talk_track(dur_ms, [(20.8, "second", -350)], -38.0)
    soft3, soft3_segs = talk_track(dur_ms, [(12.3, "please-try-again", -350)], -40.0)
    soft_segs = sorted(soft1_segs + soft3_segs + soft2_segs)
    finish("soft-listener.wav", cu + soft1 + soft2 + soft3, ag, sorted(cu_segs + soft_segs), ag_segs,
           "A quiet line (-72 dBFS line noise), nobody behind either participant. The caller (-20 dBFS) says "
           "'hello' at 10.5 s (-32 dBFS), 'please try again' at 12.3 s (-40 dBFS) and 'second' at 20.8 s "
           "(-38 dBFS) while the agent talks: soft turns 12, 20 and 18 dB under the caller's others.",
           {"softTurns": [[sec(a), sec(b)] for a, b in soft_segs]}, noise_dbfs=-72.0)

    # 5. The next agents under a noisy line: brown noise on the agent channel (-37 dBFS) and two
    #    neighbouring agents (-36 and -40 dBFS peaks, 20-24 dB under the agent) talking nearly all
    #    the time. While the caller talks, the echo test (no leak here) takes the channel's level
    #    for a coupling and keeps most of its sound out; that sound is still someone else's, and
    #    ListeningSound has to hear it (FrameDecision.heard) to know the agent is not alone.
    ag, ag_segs = talk_track(dur_ms, agent_turns, -16.0)
    cu, cu_segs = talk_track(dur_ms, customer_turns, -20.0)
    n1 = background(rng, dur_ms, tv_prompts[:2], -36.0, -150)
    n2 = background(rng, dur_ms, tv_prompts[2:], -40.0, 400)
    brown = brown_line(-37.0)
    finish("neighbours-noisy-line.wav", cu, ag + n1 + n2 + brown, cu_segs, ag_segs,
           "Two neighbouring agents (recorded prompts at -150 and +400 cents, -36 and -40 dBFS, 20 and 24 dB under "
           "the agent) nearly all call, under brown line noise at -37 dBFS on the agent channel.",
           {"backgroundSpeech": {"customer": False, "agent": True}})

    # 6. The agent's words under the caller's talk, on corpus-hard's terms: a loud caller (-10 dBFS)
    #    with a television 16 dB under them, and a quiet agent (-26 dBFS) on a noisy line (brown
    #    noise 14 dB under the agent). No leak either way, so the echo test's "coupling" is only the
    #    agent line's level while the caller talks, some 20 dB under the caller: wherever the caller
    #    is that much louder than the agent, the agent's words fall under that prediction plus its
    #    8 dB margin, and the noise keeps them short of 17 dB over the floor. As loud as the agent's
    #    other talk (`ActivityParameters.ownLevelGate`), they are the agent's.
    under = [(12.0, "im-sorry", 0), (21.3, "enabled", 0)]
    ag, ag_segs = talk_track(dur_ms, agent_turns + under, -26.0)
    cu, cu_segs = talk_track(dur_ms, customer_turns, -10.0)
    tv = background(rng, dur_ms, tv_prompts, -26.0, 250)
    brown = brown_line(-40.0)
    under_segs = [s for a, name, _ in under for s in ag_segs if s[0] <= a * 1000 + 50 and s[1] >= a * 1000 + 200]
    finish("agent-under-caller.wav", cu + tv, ag + brown, cu_segs, ag_segs,
           "A loud caller (-10 dBFS) with a television 16 dB under them (recorded prompts at +250 cents); a quiet "
           "agent (-26 dBFS) on a line with brown noise at -40 dBFS. The agent says 'I'm sorry' at 12.0 s and "
           "'enabled' at 21.3 s, at the agent's level, under the caller's turns.",
           {"backgroundSpeech": {"customer": True, "agent": False},
            "agentUnderCaller": [[sec(a), sec(b)] for a, b in under_segs]})

    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump({"generator": "TestAudio/generate.py (accuracy_fixtures)",
                   "convention": ("A channel talks in the 10 ms frames where the participant's own clean recording is "
                                  "within 40 dB of that utterance's loudest frame, pauses under 300 ms bridged, "
                                  "islands under 60 ms dropped. Music, background talkers and neighbours are never talk. "
                                  "Customer = channel 0 (left), agent = channel 1 (right)."),
                   "calls": calls}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
    accuracy_fixtures()
