// The one file that owns every FFTW (`fftwf_*`) call.
import CFFTW3f
import Foundation

/// FFTW's planner is not thread-safe: plan creation and destruction take this lock.
/// Only `fftwf_execute*` may run concurrently.
private let plannerLock = NSLock()

/// Plans are made once per size per process and kept for its lifetime, with FFTW_ESTIMATE:
/// FFTW_MEASURE costs about 46 ms of planning per process (more than analyzing a 5-minute call)
/// and, for the split complex transform `TwoRealFFT` uses, gains 10 %.
/// `nonisolated(unsafe)`: every access holds `plannerLock`.
nonisolated(unsafe) private var planCache: [Int: OpaquePointer] = [:]

/// A buffer of `count` floats allocated with `fftwf_alloc_real`, so it has the alignment the
/// planned transforms expect for new-array execution. One owner, freed exactly once.
public struct AlignedFloats: ~Copyable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int) {
        guard let p = fftwf_alloc_real(count) else { fatalError("fftwf_alloc_real(\(count)) failed: out of memory") }
        p.initialize(repeating: 0, count: count)
        self.pointer = p
        self.count = count
    }

    deinit { fftwf_free(pointer) }
}

/// Two real forward FFTs of a fixed power-of-two size for the price of one complex one: the first
/// signal goes in as the real part, the second as the imaginary part, and the two spectra are
/// separated afterwards (X[k] = (Z[k] + Z*[N-k]) / 2, Y[k] = (Z[k] - Z*[N-k]) / 2i). The framer
/// pairs consecutive frames of one channel this way. Measured here for 256 points, per pair of
/// frames: 114 ns for FFTW's split-format complex transform (AVX codelets even with
/// FFTW_ESTIMATE) against 2 x 193 ns for two real-to-complex transforms with an FFTW_ESTIMATE
/// plan (FFTW_MEASURE finds a 111 ns real plan, but planning it costs 46 ms per process).
///
/// Executed with FFTW's new-array interface on this object's own aligned split buffers, so any
/// number of instances run in parallel on one shared plan.
public struct TwoRealFFT: ~Copyable {
    /// Transform size in samples.
    public let size: Int
    private let plan: OpaquePointer
    /// The two time-domain inputs (`size` floats each), aligned.
    public let first: AlignedFloats
    public let second: AlignedFloats
    /// The complex output, real and imaginary parts apart.
    private let outRe: AlignedFloats
    private let outIm: AlignedFloats

    public init(size: Int) {
        precondition(size >= 8 && size & (size - 1) == 0, "FFT size must be a power of two")
        self.size = size
        first = AlignedFloats(count: size)
        second = AlignedFloats(count: size)
        outRe = AlignedFloats(count: size)
        outIm = AlignedFloats(count: size)
        plan = TwoRealFFT.sharedPlan(size: size)
    }

    /// Number of non-negative frequency bins of each spectrum: `size/2 + 1`.
    public var binCount: Int { size / 2 + 1 }

    /// Transforms both inputs and writes |X[k]|² (first) and |Y[k]|² (second) for k in `bins`
    /// (a range within `0..<binCount`) into `a[k]` and `b[k]`; other entries are untouched.
    @inline(__always)
    public func powerSpectra(bins: Range<Int>, first a: UnsafeMutablePointer<Float>, second b: UnsafeMutablePointer<Float>) {
        fftwf_execute_split_dft(plan, first.pointer, second.pointer, outRe.pointer, outIm.pointer)
        let re = outRe.pointer, im = outIm.pointer, n = size
        var k = bins.lowerBound
        if k == 0, k < bins.upperBound {  // Z*[N-0] is Z*[0]
            let zr = re[0], zi = im[0]
            let xr = zr + zr, xi = zi - zi, yr = zr - zr, yi = zi + zi
            a[0] = 0.25 * (xr * xr + xi * xi)
            b[0] = 0.25 * (yr * yr + yi * yi)
            k = 1
        }
        // Eight bins at a time: Z[k..k+7] against Z[N-k-7...N-k] read backwards. The same
        // operations per bin as the scalar remainder, so the same values to the bit (Swift does
        // not contract them into fused multiply-adds); a scalar loop here was 7 % of an analysis.
        while k &+ 8 <= bins.upperBound {
            let m = n &- k &- 7
            let zr = UnsafeRawPointer(re + k).loadUnaligned(as: SIMD8<Float>.self)
            let zi = UnsafeRawPointer(im + k).loadUnaligned(as: SIMD8<Float>.self)
            let cr = reversed(UnsafeRawPointer(re + m).loadUnaligned(as: SIMD8<Float>.self))
            let ci = reversed(UnsafeRawPointer(im + m).loadUnaligned(as: SIMD8<Float>.self))
            let xr = zr + cr, xi = zi - ci   // 2 X[k]
            let yr = zr - cr, yi = zi + ci   // 2i Y[k]: same magnitude as 2 Y[k]
            UnsafeMutableRawPointer(a + k).storeBytes(of: 0.25 * (xr * xr + xi * xi), as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(b + k).storeBytes(of: 0.25 * (yr * yr + yi * yi), as: SIMD8<Float>.self)
            k &+= 8
        }
        while k < bins.upperBound {
            let m = n &- k
            let zr = re[k], zi = im[k], cr = re[m], ci = im[m]
            let xr = zr + cr, xi = zi - ci
            let yr = zr - cr, yi = zi + ci
            a[k] = 0.25 * (xr * xr + xi * xi)
            b[k] = 0.25 * (yr * yr + yi * yi)
            k &+= 1
        }
    }

    @inline(__always)
    private func reversed(_ v: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(v[7], v[6], v[5], v[4], v[3], v[2], v[1], v[0])
    }

    /// The process-wide plan for `size`, made on first use under the planner lock.
    private static func sharedPlan(size: Int) -> OpaquePointer {
        plannerLock.lock()
        defer { plannerLock.unlock() }
        if let plan = planCache[size] { return plan }
        // Plan on scratch arrays, aligned like every AlignedFloats (a measuring planner would overwrite them).
        let ri = AlignedFloats(count: size), ii = AlignedFloats(count: size)
        let ro = AlignedFloats(count: size), io = AlignedFloats(count: size)
        var dim = fftwf_iodim(n: Int32(size), is: 1, os: 1)
        let plan = fftwf_plan_guru_split_dft(1, &dim, 0, nil, ri.pointer, ii.pointer, ro.pointer, io.pointer, UInt32(FFTW_ESTIMATE))
        guard let plan else { fatalError("FFTW could not plan a \(size)-point transform") }
        planCache[size] = plan
        return plan
    }
}
