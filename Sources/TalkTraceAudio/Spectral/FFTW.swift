// The one file that owns every FFTW (`fftwf_*`) call.
import CFFTW3f
import Foundation

/// FFTW's planner is not thread-safe: plan creation and destruction take this lock.
/// Only `fftwf_execute*` may run concurrently.
private let plannerLock = NSLock()

/// Plans are made once per size per process and kept for its lifetime. FFTW_ESTIMATE: for a
/// 256-point real transform it executes as fast as a measured plan here, and FFTW_MEASURE costs
/// about 48 ms of planning per process (more than analyzing a 5-minute call).
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

/// A forward real-to-complex FFT of a fixed power-of-two size, executed with FFTW's new-array
/// interface on this object's own aligned buffers, so any number of instances run in parallel
/// on one shared plan.
public struct RealFFT: ~Copyable {
    /// Transform size in samples.
    public let size: Int
    private let plan: OpaquePointer
    /// Time-domain input (`size` floats), aligned.
    public let input: AlignedFloats
    /// Output as interleaved (re, im) pairs, `size/2 + 1` complex bins, aligned.
    private let output: AlignedFloats

    public init(size: Int) {
        precondition(size >= 8 && size & (size - 1) == 0, "FFT size must be a power of two")
        self.size = size
        self.input = AlignedFloats(count: size)
        self.output = AlignedFloats(count: 2 * (size / 2 + 1))
        self.plan = RealFFT.sharedPlan(size: size)
    }

    /// Number of complex bins produced: `size/2 + 1`.
    public var binCount: Int { size / 2 + 1 }

    /// Transforms `input` and writes |X[k]|² for k in 0..<binCount into `power`.
    @inline(__always)
    public func powerSpectrum(into power: UnsafeMutablePointer<Float>) {
        output.pointer.withMemoryRebound(to: fftwf_complex.self, capacity: binCount) { out in
            fftwf_execute_dft_r2c(plan, input.pointer, out)
        }
        let o = output.pointer
        for k in 0..<binCount {
            let re = o[2 &* k], im = o[2 &* k &+ 1]
            power[k] = re * re + im * im
        }
    }

    /// The process-wide plan for `size`, made on first use under the planner lock.
    private static func sharedPlan(size: Int) -> OpaquePointer {
        plannerLock.lock()
        defer { plannerLock.unlock() }
        if let plan = planCache[size] { return plan }
        // Plan on scratch arrays, aligned like every AlignedFloats (a measuring planner would overwrite them).
        let scratchIn = AlignedFloats(count: size)
        let scratchOut = AlignedFloats(count: 2 * (size / 2 + 1))
        let plan = scratchOut.pointer.withMemoryRebound(to: fftwf_complex.self, capacity: size / 2 + 1) { out in
            fftwf_plan_dft_r2c_1d(Int32(size), scratchIn.pointer, out, UInt32(FFTW_ESTIMATE))
        }
        guard let plan else { fatalError("FFTW could not plan a \(size)-point real transform") }
        planCache[size] = plan
        return plan
    }
}
