import Foundation

/// Per-band noise floor by minimum statistics (Martin 2001, simplified): the minimum of the
/// smoothed band power over the last few seconds, kept as minima of sub-windows so memory and
/// work per frame are constant. Speech rarely fills every band for seconds on end; noise does.
struct NoiseTracker: ~Copyable {
    let bands: Int
    let subWindowFrames: Int
    let subWindows: Int
    let smoothing: Float
    let bias: Float
    /// Smoothed band power.
    private let smoothed: UnsafeMutablePointer<Float>
    /// Minimum of the current sub-window.
    private let current: UnsafeMutablePointer<Float>
    /// Minima of the last `subWindows` complete sub-windows, ring `[subWindows][bands]`.
    private let ring: UnsafeMutablePointer<Float>
    /// The floor: min over ring and current, times `bias`.
    let floor: UnsafeMutablePointer<Float>
    /// Minimum over the ring, per band.
    private let ringMin: UnsafeMutablePointer<Float>
    private var framesInCurrent = 0
    private var ringFilled = 0
    private var ringNext = 0
    private var started = false

    init(bands: Int, subWindowFrames: Int, subWindows: Int, smoothing: Float, biasDB: Float) {
        self.bands = bands
        self.subWindowFrames = max(1, subWindowFrames)
        self.subWindows = max(1, subWindows)
        self.smoothing = smoothing
        self.bias = powf(10, biasDB / 10)
        smoothed = .allocate(capacity: bands)
        current = .allocate(capacity: bands)
        ring = .allocate(capacity: bands * self.subWindows)
        floor = .allocate(capacity: bands)
        ringMin = .allocate(capacity: bands)
        ringMin.initialize(repeating: .infinity, count: bands)
        smoothed.initialize(repeating: 0, count: bands)
        current.initialize(repeating: .infinity, count: bands)
        ring.initialize(repeating: .infinity, count: bands * self.subWindows)
        floor.initialize(repeating: .infinity, count: bands)
    }

    deinit {
        smoothed.deallocate(); current.deallocate(); ring.deallocate(); floor.deallocate(); ringMin.deallocate()
    }

    /// Whether any frame has reached the tracker yet.
    var hasFloor: Bool { started }

    /// Takes one frame's band power and updates `floor`.
    @inline(__always)
    mutating func update(_ power: UnsafePointer<Float>) {
        let a = smoothing
        if !started {
            for b in 0..<bands { smoothed[b] = power[b] }
            started = true
        } else {
            for b in 0..<bands { smoothed[b] = a * smoothed[b] + (1 - a) * power[b] }
        }
        for b in 0..<bands { current[b] = min(current[b], smoothed[b]) }
        framesInCurrent &+= 1
        if framesInCurrent >= subWindowFrames {
            let slot = ring + ringNext &* bands
            for b in 0..<bands { slot[b] = current[b]; current[b] = .infinity }
            ringNext = (ringNext &+ 1) % subWindows
            ringFilled = min(ringFilled &+ 1, subWindows)
            framesInCurrent = 0
            // The ring changes once per sub-window: its minimum is recomputed only then.
            for b in 0..<bands {
                var m = Float.infinity
                for r in 0..<ringFilled { m = min(m, ring[r &* bands &+ b]) }
                ringMin[b] = m
            }
        }
        for b in 0..<bands { floor[b] = min(ringMin[b], current[b]) * bias }
    }
}
