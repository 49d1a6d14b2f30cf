import Foundation
#if arch(x86_64)
import _Builtin_intrinsics.intel  // _mm_sqrt_ps
#endif

/// Stage 3 of the pipeline: one channel's samples -> spectral frames.
///
/// Every `hop` samples the framer takes a Hann-windowed block of `window` samples centred on the
/// hop, transforms it with FFTW and sums the power into log-spaced speech bands. Frame `k` stands
/// for the time span `[k*hop, (k+1)*hop)` samples; its window reaches half a window either side.
/// The framer is fed in blocks of any size and keeps only one window of history, so memory is
/// constant in the length of the call. Nothing in `push` allocates.
public struct FrameGeometry: Sendable, Equatable {
    /// Samples per second.
    public let sampleRate: Int
    /// Samples between frames (`defaultHopSeconds` unless asked otherwise).
    public let hop: Int
    /// FFT size in samples: the power of two nearest to 32 ms.
    public let window: Int
    /// Band edges in FFT bins: band `b` sums bins `bandEdges[b] ..< bandEdges[b+1]`.
    public let bandEdges: [Int]

    /// Seconds per frame.
    public var frameSeconds: Double { Double(hop) / Double(sampleRate) }
    /// Number of speech bands.
    public var bandCount: Int { bandEdges.count - 1 }
    /// Frames in each of the two spans `FrameFeatures.flux` compares: 40 ms, and at least four
    /// windows, so that two tones beating against each other (a ringback) average out.
    public var fluxFrames: Int { max(4, Int((0.040 / frameSeconds).rounded())) }
    /// Frames between the two spectra `FrameFeatures.stability` compares: 100 ms, longer than a
    /// speaker holds one pitch steady and shorter than a note of music.
    public var stabilityFrames: Int { max(1, Int((0.100 / frameSeconds).rounded())) }

    /// Lowest and highest frequency (Hz) the activity bands cover: the telephone speech band.
    public static let bandLow = 250.0, bandHigh = 3600.0
    /// Number of log-spaced bands between `bandLow` and `bandHigh`.
    public static let defaultBands = 12
    /// Seconds between frames: 20 ms, so consecutive 32 ms windows overlap by 12 ms and every
    /// sample is in a window. On the eval corpus a 10 ms hop scores the same (mean frame F1 0.981
    /// either way) at twice the FFTs.
    public static let defaultHopSeconds = 0.020

    /// Frame geometry for `sampleRate`, with hop `hopSeconds` and a window of about 32 ms.
    public init(sampleRate: Int, hopSeconds: Double = FrameGeometry.defaultHopSeconds, bands: Int = FrameGeometry.defaultBands) {
        precondition(sampleRate > 0)
        self.sampleRate = sampleRate
        self.hop = max(1, Int((hopSeconds * Double(sampleRate)).rounded()))
        let target = 0.032 * Double(sampleRate)
        var n = 8
        while Double(n * 2) <= target * 1.41 { n *= 2 }
        self.window = max(n, 8)
        let binHz = Double(sampleRate) / Double(window)
        let high = min(Self.bandHigh, Double(sampleRate) / 2 * 0.95)
        var edges: [Int] = []
        for b in 0...bands {
            let f = Self.bandLow * pow(high / Self.bandLow, Double(b) / Double(bands))
            let bin = Int((f / binHz).rounded())
            edges.append(max(1, bin))
        }
        // Every band at least one bin wide, edges strictly increasing.
        for b in 1..<edges.count where edges[b] <= edges[b - 1] { edges[b] = edges[b - 1] + 1 }
        self.bandEdges = edges
    }
}

/// What the framer produces per frame for one channel. Plain values; the analyzer keeps them in
/// fixed rings.
public struct FrameFeatures: Sendable {
    /// Mean-square of the hop's own samples with their mean removed (full-scale sine = 0.5).
    public var hopPower: Float = 0
    /// Largest absolute sample in the hop.
    public var hopPeak: Float = 0
    /// Samples in the hop at or beyond the encoding's full scale.
    public var hopClipped: Int32 = 0
    /// Whether the window is impulsive (its peak towers over its RMS: clicks, not speech).
    public var impulsive: Bool = false
    /// Spectral change: sum |A - B| / sum (A + B) over the bands, A and B the band power summed
    /// over the last `FrameGeometry.fluxFrames` frames (40 ms at a 10 ms hop) and as many before; 0 (a held note, a tone) to 1. Speech moves from sound to sound every few tens of ms; music
    /// on hold and signalling tones hold still.
    public var flux: Float = 0
    /// Harmonic stability: the cosine similarity (0–1) of this frame's magnitude spectrum (every
    /// FFT bin from 250 to 3600 Hz) with the one `FrameGeometry.stabilityFrames` (100 ms) earlier.
    /// Fine structure, not the band envelope: the partials of recorded music stay on their bins
    /// for the length of a note (eval corpora: median 0.75–0.80 over a second of music), while a
    /// voice's harmonics glide with its pitch and its formants move from sound to sound (median
    /// 0.51–0.55, 99th percentile 0.69, synthetic and real voices alike). Steady noise is just
    /// as stable, so it is only read on frames well above the noise floor (the strong frames of a
    /// candidate). Cost: a square root and three multiply-adds per bin (about 110 bins at 8 kHz)
    /// and a ring of `stabilityFrames` spectra.
    public var stability: Float = 0

    public init(hopPower: Float = 0, hopPeak: Float = 0, hopClipped: Int32 = 0, impulsive: Bool = false, flux: Float = 0,
                stability: Float = 0) {
        self.hopPower = hopPower; self.hopPeak = hopPeak; self.hopClipped = hopClipped; self.impulsive = impulsive
        self.flux = flux; self.stability = stability
    }
}

/// Streaming framer for one channel. `~Copyable`: it owns its FFT buffers.
public struct SpectralFramer: ~Copyable {
    public let geometry: FrameGeometry
    /// Frames are transformed in pairs: a frame waits (`pending`) for the next one, and one
    /// complex FFT serves both (`TwoRealFFT`).
    private let fft: TwoRealFFT
    private var pending = false
    private var pendingFeatures = FrameFeatures()
    /// Last `window` samples: a sliding history.
    private let history: AlignedFloats
    private let hann: AlignedFloats
    /// Power spectra of the pending frame and of the one that completes the pair.
    private let powerA: AlignedFloats
    private let powerB: AlignedFloats
    /// FFT bins the bands cover: `bandEdges.first ..< bandEdges.last`.
    private let bins: Range<Int>
    /// `geometry.bandEdges`, copied out of the array so the per-frame loop touches no ARC.
    private let edges: UnsafeMutablePointer<Int>
    private let bandCount: Int
    /// Band power of the last `2 * fluxFrames` frames and two running `fluxFrames`-frame sums,
    /// for `FrameFeatures.flux`.
    private let ring: UnsafeMutablePointer<Float>
    private let fluxFrames: Int
    private let recent: UnsafeMutablePointer<Float>
    private let earlier: UnsafeMutablePointer<Float>
    private var fluxSlot = 0
    /// Magnitude spectra (bins `bins`) of the last `stabilityFrames` frames and their energies,
    /// for `FrameFeatures.stability`.
    private let spectra: UnsafeMutablePointer<Float>
    private let spectraEnergy: UnsafeMutablePointer<Float>
    private let stabilityFrames: Int
    private var spectraSlot = 0
    /// Samples in `history` so far.
    private var filled: Int
    /// Samples still needed before the next frame's window is complete.
    private var pendingUntilFrame: Int
    /// Parseval scale: band sums in units of mean-square power (full-scale sine = 0.5).
    private let powerScale: Float
    private let clipLevel: Float

    /// - Parameter fullScale: the encoding's largest magnitude; samples within 0.1% of it count as clipped.
    public init(geometry: FrameGeometry, fullScale: Float = 1.0) {
        self.geometry = geometry
        self.fft = TwoRealFFT(size: geometry.window)
        self.history = AlignedFloats(count: geometry.window)
        self.hann = AlignedFloats(count: geometry.window)
        self.powerA = AlignedFloats(count: geometry.window / 2 + 1)
        self.powerB = AlignedFloats(count: geometry.window / 2 + 1)
        self.bins = geometry.bandEdges.first! ..< geometry.bandEdges.last!
        let n = geometry.window
        var sumW2: Float = 0
        for i in 0..<n {
            let w = Float(0.5 - 0.5 * cos(2 * Double.pi * (Double(i) + 0.5) / Double(n)))
            hann.pointer[i] = w
            sumW2 += w * w
        }
        // One-sided power spectrum of a windowed block -> mean-square: 2 / (N * sum w^2).
        self.powerScale = 2 / (Float(n) * sumW2)
        self.clipLevel = fullScale * 0.999
        self.bandCount = geometry.bandCount
        self.fluxFrames = geometry.fluxFrames
        self.ring = .allocate(capacity: 2 * fluxFrames * geometry.bandCount)
        self.ring.initialize(repeating: 0, count: 2 * fluxFrames * geometry.bandCount)
        self.recent = .allocate(capacity: geometry.bandCount)
        self.recent.initialize(repeating: 0, count: geometry.bandCount)
        self.earlier = .allocate(capacity: geometry.bandCount)
        self.earlier.initialize(repeating: 0, count: geometry.bandCount)
        self.edges = .allocate(capacity: geometry.bandEdges.count)
        self.edges.initialize(from: geometry.bandEdges, count: geometry.bandEdges.count)
        self.stabilityFrames = geometry.stabilityFrames
        self.spectra = .allocate(capacity: geometry.stabilityFrames * bins.count)
        self.spectra.initialize(repeating: 0, count: geometry.stabilityFrames * bins.count)
        self.spectraEnergy = .allocate(capacity: geometry.stabilityFrames)
        self.spectraEnergy.initialize(repeating: 0, count: geometry.stabilityFrames)
        // Centre the first window on the first hop: pretend (window - hop)/2 zeros came before.
        let lead = (n - geometry.hop) / 2
        self.filled = min(lead, n)
        self.pendingUntilFrame = n - self.filled
    }

    deinit {
        edges.deallocate(); ring.deallocate(); recent.deallocate(); earlier.deallocate()
        spectra.deallocate(); spectraEnergy.deallocate()
    }

    /// Feeds `count` samples; calls `emit(bands, features)` once per completed frame, in order.
    /// Frames come out in pairs (the first of a pair waits for the second's window), so the last
    /// frame of a block may only come out with the next block or with `flush`.
    /// `bands` is valid only during the call.
    @inline(__always)
    public mutating func push(
        _ samples: UnsafePointer<Float>, count: Int,
        bands: UnsafeMutablePointer<Float>,
        emit: (UnsafeMutablePointer<Float>, FrameFeatures) -> Void
    ) {
        // `bands` receives each frame's band power (mean-square units, `geometry.bandCount` values).
        var i = 0
        let n = geometry.window, hop = geometry.hop
        let h = history.pointer
        while i < count {
            let take = min(pendingUntilFrame, count - i)
            // Append `take` samples to history (history holds at most `window`; it always has room
            // because a frame is emitted as soon as it is full).
            let dst = h + filled
            for j in 0..<take {
                let x = samples[i &+ j]
                dst[j] = x
            }
            filled += take
            i += take
            pendingUntilFrame -= take
            if pendingUntilFrame == 0 {
                if pending {
                    var second = window(into: fft.second.pointer)
                    fft.powerSpectra(bins: bins, first: powerA.pointer, second: powerB.pointer)
                    var first = pendingFeatures
                    first.flux = bandsAndFlux(powerA.pointer, bands: bands)
                    first.stability = stability(powerA.pointer)
                    emit(bands, first)
                    second.flux = bandsAndFlux(powerB.pointer, bands: bands)
                    second.stability = stability(powerB.pointer)
                    emit(bands, second)
                    pending = false
                } else {
                    pendingFeatures = window(into: fft.first.pointer)
                    pending = true
                }
                // Slide by one hop.
                (h).update(from: h + hop, count: n - hop)
                filled = n - hop
                pendingUntilFrame = hop
            }
        }
    }

    /// Feeds zeros until the frame that covers sample `totalSamples - 1` has been emitted.
    public mutating func flush(
        totalSamples: Int64, framesEmitted: Int64,
        bands: UnsafeMutablePointer<Float>,
        emit: (UnsafeMutablePointer<Float>, FrameFeatures) -> Void
    ) {
        let hop = Int64(geometry.hop)
        let needed = (totalSamples + hop - 1) / hop
        var emitted = framesEmitted
        let zeros = [Float](repeating: 0, count: geometry.hop)
        while emitted < needed {
            zeros.withUnsafeBufferPointer { z in
                push(z.baseAddress!, count: geometry.hop, bands: bands) { b, f in
                    if emitted < needed { emit(b, f) }
                    emitted += 1
                }
            }
        }
    }

    /// The time-domain half of a frame, from the full history window: the hop's statistics, and
    /// the Hann-windowed copy for the FFT into `x`. The sample loops run on SIMD8 lanes: scalar
    /// float reductions do not vectorize on their own (their order is fixed).
    @inline(__always)
    private func window(into x: UnsafeMutablePointer<Float>) -> FrameFeatures {
        let n = geometry.window, hop = geometry.hop
        let h = history.pointer, w = hann.pointer
        // Time-domain statistics of the hop at the window centre.
        let hopStart = (n - hop) / 2
        var s8 = SIMD8<Float>(), s28 = SIMD8<Float>(), peak8 = SIMD8<Float>()
        var j = hopStart
        let hopEnd = hopStart + hop
        while j + 8 <= hopEnd {
            let v = UnsafeRawPointer(h + j).loadUnaligned(as: SIMD8<Float>.self)
            s8 += v
            s28 += v * v
            let a = magnitude(v)
            peak8.replace(with: a, where: a .> peak8)
            j += 8
        }
        var s = lanes(s8), s2 = lanes(s28), peak = lanesMax(peak8)
        while j < hopEnd {
            let v = h[j]
            s += v; s2 += v * v
            peak = max(peak, abs(v))
            j += 1
        }
        // Clipping is rare: count it only in hops that reach full scale.
        var clipped: Int32 = 0
        if peak >= clipLevel {
            for k in hopStart..<hopEnd where abs(h[k]) >= clipLevel { clipped &+= 1 }
        }
        let mean = s / Float(hop)
        let hopPower = max(0, s2 / Float(hop) - mean * mean)
        // Windowed copy for the FFT, with the window's energy and peak for the click test. The mean
        // is not removed: the Hann window leaks DC no further than two bins, far below 250 Hz.
        var e8 = SIMD8<Float>(), wpeak8 = SIMD8<Float>()
        j = 0
        while j < n {
            let v = UnsafeRawPointer(h + j).loadUnaligned(as: SIMD8<Float>.self)
            let win = UnsafeRawPointer(w + j).loadUnaligned(as: SIMD8<Float>.self)
            e8 += v * v
            let a = magnitude(v)
            wpeak8.replace(with: a, where: a .> wpeak8)
            UnsafeMutableRawPointer(x + j).storeBytes(of: v * win, as: SIMD8<Float>.self)
            j += 8
        }
        let e = lanes(e8), wpeak = lanesMax(wpeak8)
        // A click: one sample carries most of the window's energy.
        let impulsive = e > 0 && wpeak * wpeak > 0.25 * e
        return FrameFeatures(hopPower: hopPower, hopPeak: peak, hopClipped: clipped, impulsive: impulsive)
    }

    /// The spectral half of a frame: band power from its power spectrum `p` into `bands`, and the
    /// flux against the frames before. Returns the flux.
    @inline(__always)
    private mutating func bandsAndFlux(_ p: UnsafeMutablePointer<Float>, bands: UnsafeMutablePointer<Float>) -> Float {
        let ed = edges
        // Spectral flux between the last 40 ms and the 40 ms before it (boxcar sums over
        // `fluxFrames` frames each, F), so two tones beating at 40 Hz, a ringback, still read as steady.
        let span = 2 &* fluxFrames
        var midSlot = fluxSlot &+ fluxFrames
        if midSlot >= span { midSlot &-= span }
        let slot = ring + (fluxSlot &* bandCount)   // frame t-2F, replaced by frame t
        let mid = ring + (midSlot &* bandCount)     // frame t-F
        var diff: Float = 0, total: Float = 0
        for b in 0..<bandCount {
            var acc: Float = 0
            for k in ed[b]..<ed[b &+ 1] { acc += p[k] }
            let v = acc * powerScale
            bands[b] = v
            recent[b] += v - mid[b]          // frames t-F+1...t
            earlier[b] += mid[b] - slot[b]   // frames t-2F+1...t-F
            slot[b] = v
            diff += abs(recent[b] - earlier[b])
            total += recent[b] + earlier[b]
        }
        fluxSlot &+= 1
        if fluxSlot == span { fluxSlot = 0 }
        return total > 0 ? diff / total : 0
    }
}

extension SpectralFramer {
    /// `FrameFeatures.stability` of the frame whose power spectrum is `p`: the cosine of its
    /// magnitude spectrum with the one `stabilityFrames` earlier, which it then replaces.
    @inline(__always)
    fileprivate mutating func stability(_ p: UnsafeMutablePointer<Float>) -> Float {
        let count = bins.count
        let old = spectra + spectraSlot &* count
        let src = p + bins.lowerBound
        // SIMD8 lanes (scalar float reductions do not vectorize), then the remainder.
        var dot8 = SIMD8<Float>(), energy8 = SIMD8<Float>()
        var k = 0
        while k &+ 8 <= count {
            let m = squareRoots(UnsafeRawPointer(src + k).loadUnaligned(as: SIMD8<Float>.self))
            let o = UnsafeRawPointer(old + k).loadUnaligned(as: SIMD8<Float>.self)
            dot8 += m * o
            energy8 += m * m
            UnsafeMutableRawPointer(old + k).storeBytes(of: m, as: SIMD8<Float>.self)
            k &+= 8
        }
        var dot = lanes(dot8), energy = lanes(energy8)
        while k < count {
            let m = src[k].squareRoot()
            dot += m * old[k]
            energy += m * m
            old[k] = m
            k &+= 1
        }
        let previous = spectraEnergy[spectraSlot]
        spectraEnergy[spectraSlot] = energy
        spectraSlot &+= 1
        if spectraSlot == stabilityFrames { spectraSlot = 0 }
        let norm = (energy * previous).squareRoot()
        return norm > 0 ? dot / norm : 0
    }
}

/// √v lane by lane, correctly rounded like `Float.squareRoot()`. Swift lowers
/// `SIMD8.squareRoot()` lane by lane through `sqrtf` (with its errno check: about 65 instructions
/// per 8 lanes, 12 % of a whole analysis in `stability`); on x86-64 this is two `sqrtps`.
@inline(__always)
func squareRoots(_ v: SIMD8<Float>) -> SIMD8<Float> {
    #if arch(x86_64)
    return SIMD8(lowHalf: _mm_sqrt_ps(v.lowHalf), highHalf: _mm_sqrt_ps(v.highHalf))
    #else
    return v.squareRoot()
    #endif
}

/// |v| lane by lane, by clearing the sign bits (a compare and blend costs three times as much).
@inline(__always)
func magnitude(_ v: SIMD8<Float>) -> SIMD8<Float> {
    unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & SIMD8<UInt32>(repeating: 0x7fff_ffff), to: SIMD8<Float>.self)
}

/// Horizontal sum and maximum of eight lanes, written out: the generic `sum()`/`max()` are not
/// specialized in the hot loop.
@inline(__always)
func lanes(_ v: SIMD8<Float>) -> Float {
    let a = v.lowHalf + v.highHalf
    return (a[0] + a[1]) + (a[2] + a[3])
}

@inline(__always)
func lanesMax(_ v: SIMD8<Float>) -> Float {
    let a = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
    return Swift.max(Swift.max(a[0], a[1]), Swift.max(a[2], a[3]))
}
