#!/usr/bin/env python3
"""Deterministic inputs for compare.sh: Amazon Connect-style call recordings (stereo 8 kHz
pcm_s16le, customer left, agent right) with speech-like turns on both channels over line noise,
and a batch of short calls with their CTRs.

  gen_calls.py call OUT.wav SECONDS [--seed N]
  gen_calls.py batch DIR --calls N [--seed N]

Speech-like: syllables (a glottal pulse train with a falling pitch, shaped by two vowel formants,
some with a noisy consonant onset, under a raised-cosine envelope) grouped into words and
phrases; turns of 1.5-7 s alternate between agent and customer with gaps of 0.25-1.5 s, a hold
of 4-8 s now and then, and backchannels from the listener. Speech sits around -22 dBFS (agent)
and -25 dBFS (customer); independent noise around -57 dBFS on each channel. Syllables come from
a fixed bank synthesized once; a call's seed picks its schedule, syllables and noise. Written
one minute at a time, so a 10-hour file (1.15 GB) takes constant memory and about a minute.

The batch folder mirrors an `aws s3 sync` of a Connect bucket and its CTR stream:
  DIR/recordings/connect/bench/CallRecordings/2026/03/03/<ContactId>_20260303T<HH:MM>_UTC.wav
  DIR/ctr/2026/03/03/09/connect-ctr-stream-1-2026-03-03-09-<k>-bench[.gz]   (Firehose objects)
Calls last 30-90 s. Every tenth contact is delivered twice (alternately an older and a newer
copy), three CTRs are abandoned contacts with no recording, and one recording has no CTR.
"""
import argparse, gzip, json, os, sys, wave
import numpy as np

RATE = 8000
VOWELS = [(730, 1090), (270, 2290), (300, 870), (530, 1840), (660, 1720), (490, 1350), (440, 1020), (400, 1920)]
# (f0 Hz, formant scale, syllable RMS before the envelope): customer (left), agent (right).
TALKERS = [(118.0, 1.0, 0.07), (205.0, 1.15, 0.10)]
NOISE = 0.0025


def resonator_gain2(f, fc, bw):
    """|H|^2 of a two-pole resonator at centre fc, bandwidth bw, at frequencies f."""
    r = np.exp(-np.pi * bw / RATE)
    a1, a2 = 2 * r * np.cos(2 * np.pi * fc / RATE), -r * r
    w = 2 * np.pi * f / RATE
    re = 1 - a1 * np.cos(w) - a2 * np.cos(2 * w)
    im = a1 * np.sin(w) + a2 * np.sin(2 * w)
    return 1 / (re * re + im * im)


def syllable_bank(talker, count=256, seed=12345):
    """`count` syllables for one talker, each at unit RMS before its envelope."""
    f0, scale, _ = talker
    rng = np.random.default_rng(seed + int(f0))
    bank = []
    for _ in range(count):
        n = int(rng.uniform(0.11, 0.26) * RATE)
        pitch = f0 * rng.uniform(0.88, 1.14)
        v = VOWELS[rng.integers(len(VOWELS))]
        f1, f2 = v[0] * scale * rng.uniform(0.92, 1.08), v[1] * scale * rng.uniform(0.92, 1.08)
        t = np.arange(n) / n
        inst = pitch * (1.05 - 0.1 * t)                      # falling pitch
        phase = 2 * np.pi * np.cumsum(inst) / RATE
        k = np.arange(1, int(RATE / 2 / pitch))
        amp = np.sqrt(resonator_gain2(k * pitch, f1, 90) * resonator_gain2(k * pitch, f2, 130))
        amp /= np.sqrt((amp ** 2).sum() / 2)                  # unit RMS
        y = (amp[:, None] * np.sin(k[:, None] * phase[None, :] + rng.uniform(0, 2 * np.pi, len(k))[:, None])).sum(0)
        if rng.uniform() < 0.55:                              # a consonant: a short hiss
            m = int(rng.uniform(0.02, 0.06) * RATE)
            y[:m] += np.diff(rng.standard_normal(m + 1)) * 0.2
        y *= 0.5 - 0.5 * np.cos(2 * np.pi * t)
        bank.append(y.astype(np.float32))
    return bank


BANKS = None


def banks():
    global BANKS
    if BANKS is None:
        BANKS = [syllable_bank(t) for t in TALKERS]
    return BANKS


def events(seconds, rng):
    """Yields (channel, start sample, syllable index, gain) in order of start."""
    total = int(seconds * RATE)
    t = int(0.4 * RATE)
    speaker = 1  # the agent greets
    while t < total:
        turn_end = t + int(rng.uniform(1.5, 7) * RATE)
        backchannel = t + int(rng.uniform(0.3, 0.8) * (turn_end - t)) if rng.uniform() < 0.4 else None
        f0, _, level = TALKERS[speaker]
        while t < turn_end and t < total:
            if backchannel is not None and t >= backchannel:
                other = 1 - speaker
                yield other, t, int(rng.integers(256)), TALKERS[other][2] * rng.uniform(0.7, 1.4)
                backchannel = None
            i = int(rng.integers(256))
            yield speaker, t, i, level * rng.uniform(0.7, 1.4)
            t += len(banks()[speaker][i])
            u = rng.uniform()
            t += int((rng.uniform(0, 0.03) if u < 0.55 else rng.uniform(0.04, 0.16) if u < 0.92 else rng.uniform(0.32, 0.6)) * RATE)
        t += int((rng.uniform(4, 8) if rng.uniform() < 0.08 else rng.uniform(0.25, 1.5)) * RATE)
        if rng.uniform() < 0.85:
            speaker = 1 - speaker


def write_call(path, seconds, seed):
    """Writes the call one minute at a time (tmp file, then rename)."""
    rng = np.random.default_rng(seed)
    noise_rng = np.random.default_rng(seed + 1_000_003)
    chunk = 60 * RATE
    total = int(seconds * RATE)
    longest = max(len(s) for b in banks() for s in b)
    carry = np.zeros((2, longest), np.float32)
    lowpass = np.array([0.4, 0.24, 0.144, 0.0864, 0.0518, 0.031], np.float32)
    tmp = path + ".partial"
    w = wave.open(tmp, "wb")
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(RATE)
    ev = events(seconds, rng)
    pending = next(ev, None)
    for start in range(0, total, chunk):
        n = min(chunk, total - start)
        buf = np.zeros((2, n + longest), np.float32)
        buf[:, :longest] += carry
        while pending is not None and pending[1] < start + n:
            ch, at, i, gain = pending
            s = banks()[ch][i]
            o = at - start
            buf[ch, o:o + len(s)] += s * np.float32(gain)
            pending = next(ev, None)
        carry = buf[:, n:n + longest].copy()
        noise = noise_rng.standard_normal((2, n + len(lowpass) - 1), dtype=np.float32)
        for c in range(2):
            buf[c, :n] += NOISE * np.convolve(noise[c], lowpass, "valid")
        pcm = np.clip(np.rint(buf[:, :n] * 32768), -32768, 32767).astype("<i2")
        w.writeframes(pcm.T.tobytes())
    w.close()
    os.replace(tmp, path)


def contact_id(i):
    return "%08x-%04x-4%03x-8%03x-%012x" % (0x5EED0000 + i, i & 0xFFFF, i % 4096, i * 7 % 4096, i * 2654435761 % 0xFFFFFFFFFFFF)


def ctr(i, key, seconds, minute, recording=True):
    loc = "bench-recordings/" + key if recording else None
    return {
        "AWSAccountId": "123456789012", "AWSContactTraceRecordFormatVersion": "2017-03-10",
        "Agent": {"ARN": f"arn:aws:connect:us-east-1:123456789012:instance/bench/agent/a{i % 40}",
                  "AfterContactWorkDuration": 12, "AgentInteractionDuration": max(1, seconds - 5),
                  "CustomerHoldDuration": 0, "NumberOfHolds": 0, "Username": f"agent{i % 40}",
                  "RoutingProfile": {"Name": "Basic Routing Profile"}} if recording else None,
        "Attributes": {"intent": "billing", "customerTier": "gold"}, "Channel": "VOICE", "ContactId": contact_id(i),
        "CustomerEndpoint": {"Address": "+1555555%04d" % (i % 10000), "Type": "TELEPHONE_NUMBER"},
        "DisconnectTimestamp": "2026-03-03T08:%02d:00Z" % (i % 60), "InitiationMethod": "INBOUND",
        "InitiationTimestamp": "2026-03-03T08:%02d:00Z" % (i % 60),
        "LastUpdateTimestamp": "2026-03-03T09:%02d:00Z" % minute,
        "Queue": {"Name": f"Queue{i % 5}", "ARN": f"arn:aws:connect:us-east-1:123456789012:instance/bench/queue/q{i % 5}"},
        "Recording": {"Location": loc, "Status": "AVAILABLE", "Type": "AUDIO"} if recording else None,
        "Recordings": [{"Location": loc, "MediaStreamType": "AUDIO", "StorageType": "S3", "Status": "AVAILABLE"}] if recording else None,
        "SystemEndpoint": {"Address": "+15555551000", "Type": "TELEPHONE_NUMBER"},
    }


def write_batch(root, calls, seed):
    rec_root = os.path.join(root, "recordings")
    records, audio = [], 0.0
    for i in range(calls):
        seconds = 30 + (i * 37) % 61
        key = "connect/bench/CallRecordings/2026/03/03/%s_20260303T%02d:%02d_UTC.wav" % (contact_id(i), 8 + i // 60 % 10, i % 60)
        path = os.path.join(rec_root, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path):
            write_call(path, seconds, seed * 100_000 + i)
        audio += seconds
        if i == calls - 1:
            break  # the last recording has no CTR (an orphan)
        records.append(ctr(i, key, seconds, 30))
        if i % 10 == 0:
            records.append(ctr(i, key, seconds, 10 if i % 20 == 0 else 50))  # a second delivery, older or newer
    for j in range(3):
        records.append(ctr(calls + j, "", 0, 30, recording=False))  # abandoned: no recording
    ctr_dir = os.path.join(root, "ctr/2026/03/03/09")
    os.makedirs(ctr_dir, exist_ok=True)
    for k in range(0, len(records), 50):
        body = "".join(json.dumps(r, separators=(",", ":")) for r in records[k:k + 50]).encode()
        name = os.path.join(ctr_dir, "connect-ctr-stream-1-2026-03-03-09-%02d-bench" % (k // 50))
        if (k // 50) % 2:
            with gzip.open(name + ".gz", "wb", compresslevel=6) as f:
                f.write(body)
        else:
            with open(name, "wb") as f:
                f.write(body)
    with open(os.path.join(root, "batch.json"), "w") as f:
        json.dump({"calls": calls, "audioSeconds": audio, "ctrRecords": len(records)}, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    c = sub.add_parser("call"); c.add_argument("out"); c.add_argument("seconds", type=float); c.add_argument("--seed", type=int, default=1)
    b = sub.add_parser("batch"); b.add_argument("dir"); b.add_argument("--calls", type=int, default=300); b.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    if a.what == "call":
        write_call(a.out, a.seconds, a.seed)
    else:
        write_batch(a.dir, a.calls, a.seed)


if __name__ == "__main__":
    sys.exit(main())
