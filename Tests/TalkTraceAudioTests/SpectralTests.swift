import Foundation
import Testing
@testable import TalkTraceAudio
import _TestSupport

@Suite("Spectral frames (FFTW)")
struct SpectralTests {
    @Test("Frame geometry follows the sample rate")
    func geometry() {
        let g8 = FrameGeometry(sampleRate: 8000)
        #expect(g8.hop == 160)  // 20 ms
        #expect(g8.window == 256)
        let g16 = FrameGeometry(sampleRate: 16000)
        #expect(g16.hop == 320)
        #expect(g16.window == 512)
        let g44 = FrameGeometry(sampleRate: 44100)
        #expect(g44.hop == 882)
        #expect(g44.window == 1024)
        // Bands cover 250..3600 Hz in increasing bins.
        #expect(g8.bandEdges.first == 8)  // 250 Hz / 31.25 Hz per bin
        #expect(g8.bandEdges.last == 115) // 3600 Hz / 31.25
        #expect(zip(g8.bandEdges, g8.bandEdges.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test("Two real transforms in one: a 1 kHz tone in bin 32 and a 500 Hz one in bin 16, each in its own spectrum")
    func toneBins() {
        let fft = TwoRealFFT(size: 256)
        for i in 0..<256 {
            fft.first.pointer[i] = 0.5 * Float(sin(2 * Double.pi * 1000 * Double(i) / 8000))
            fft.second.pointer[i] = 0.25 * Float(cos(2 * Double.pi * 500 * Double(i) / 8000)) + 0.125  // plus DC
        }
        var a = [Float](repeating: -1, count: fft.binCount), b = a
        a.withUnsafeMutableBufferPointer { pa in
            b.withUnsafeMutableBufferPointer { pb in
                fft.powerSpectra(bins: 0..<fft.binCount, first: pa.baseAddress!, second: pb.baseAddress!)
            }
        }
        // Unwindowed, bin-centred: |X|^2 = (A N / 2)^2; DC: (c N)^2.
        #expect(a.indices.max { a[$0] < a[$1] } == 32)
        #expect(abs(a[32] - 4096) < 1)
        #expect(abs(b[16] - 1024) < 0.5)
        #expect(abs(b[0] - 1024) < 0.5)
        #expect(a[16] < 1e-6 && a[0] < 1e-6 && b[32] < 1e-6)
        #expect(a[31] < 1e-6 && a[33] < 1e-6 && a[128] < 1e-6)
        // Only the bins asked for are written.
        b.withUnsafeMutableBufferPointer { pb in
            a.withUnsafeMutableBufferPointer { pa in
                pa.update(repeating: -1)
                fft.powerSpectra(bins: 8..<115, first: pa.baseAddress!, second: pb.baseAddress!)
            }
        }
        #expect(a[7] == -1 && a[115] == -1 && abs(a[32] - 4096) < 1)
    }

    @Test("Band power equals the tone's mean-square power (Parseval, Hann window)")
    func bandPower() {
        let g = FrameGeometry(sampleRate: 8000)
        var framer = SpectralFramer(geometry: g)
        var x = TestSupport.silence(1.0)
        TestSupport.addTone(&x, frequency: 1000, amplitude: 0.5, start: 0, end: 1)
        var bands = [Float](repeating: 0, count: g.bandCount)
        var frames: [[Float]] = []
        var features: [FrameFeatures] = []
        bands.withUnsafeMutableBufferPointer { b in
            x.withUnsafeBufferPointer { s in
                framer.push(s.baseAddress!, count: s.count, bands: b.baseAddress!) { p, f in
                    frames.append(Array(UnsafeBufferPointer(start: p, count: g.bandCount)))
                    features.append(f)
                }
            }
        }
        // Frame k is centred on hop k (160 samples at the default 20 ms) and needs samples up to
        // 160k + 80 + 128: 49 complete windows in 8000 samples. Frames come out in pairs (one FFT
        // serves two), so 48 are out and the 49th waits for its partner or for `flush`.
        #expect(g.hop == 160)
        #expect(frames.count == 48)
        let middle = frames[25]
        let total = middle.reduce(0, +)
        #expect(abs(total - 0.125) < 0.125 * 0.02)  // A^2/2 within 2 %
        let band = g.bandEdges.firstIndex { $0 > 32 }! - 1
        #expect(middle[band] / total > 0.99)
        #expect(abs(features[25].hopPower - 0.125) < 0.002)
        #expect(abs(features[25].hopPeak - 0.5) < 0.01)
        #expect(!features[25].impulsive)
    }

    @Test("A single-sample click is impulsive, a tone is not")
    func impulsive() {
        let g = FrameGeometry(sampleRate: 8000)
        var framer = SpectralFramer(geometry: g)
        var x = TestSupport.silence(0.5)
        TestSupport.addNoise(&x, rms: 0.0003, seed: 3)
        x[2000] = 0.8
        var bands = [Float](repeating: 0, count: g.bandCount)
        var flags: [Bool] = []
        bands.withUnsafeMutableBufferPointer { b in
            x.withUnsafeBufferPointer { s in
                framer.push(s.baseAddress!, count: s.count, bands: b.baseAddress!) { _, f in flags.append(f.impulsive) }
            }
        }
        // Sample 2000 is in hop 12; frame k's 32 ms window spans samples 160k - 48 ..< 160k + 208,
        // so only frame 12 sees it.
        #expect(flags[12])
        #expect(flags.filter { $0 }.count == 1)
        #expect(!flags[5])
    }
}
