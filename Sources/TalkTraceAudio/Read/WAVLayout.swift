/// The chunk layout of a RIFF (`RIFF`, `RIFX`) or RF64 (`RF64`, `BW64`) WAVE file, read from its
/// bytes: where the `data` chunk starts and how many bytes it declares. Small and bounded: it
/// reads chunk headers (8 bytes each, at most `maxChunks` of them) and the `ds64` chunk, never the
/// audio.
///
/// Truncation is decided from these numbers, not from libsndfile's log: libsndfile logs "should
/// be" for many harmless things (a wrong byte-rate field, a RIFF size an encoder could not know),
/// and reads what is there either way.
struct WAVLayout: Equatable {
    /// Byte offset of the first audio byte (just after the `data` chunk header).
    var dataStart: Int64
    /// Bytes the `data` chunk declares; nil when the size is a "not known when written" sentinel
    /// (0 or 0xFFFFFFFF, as a piped encoder writes it: the data runs to the end of the file).
    var declaredDataBytes: Int64?

    /// Chunks examined before giving up on finding `data`.
    static let maxChunks = 64

    /// The layout of `bytes(offset, count)` (a file of `fileSize` bytes); nil when it is not a
    /// RIFF/RF64 WAVE file or no `data` chunk header lies within the file.
    static func read(fileSize: Int64, bytes: (Int64, Int) -> [UInt8]) -> WAVLayout? {
        let head = bytes(0, 12)
        guard head.count == 12, Array(head[8..<12]) == Array("WAVE".utf8) else { return nil }
        let magic = String(decoding: head[0..<4], as: UTF8.self)
        guard ["RIFF", "RIFX", "RF64", "BW64"].contains(magic) else { return nil }
        let bigEndian = magic == "RIFX"
        let is64 = magic == "RF64" || magic == "BW64"
        var ds64DataBytes: Int64?
        var offset: Int64 = 12
        for _ in 0..<maxChunks {
            guard offset >= 0, offset <= fileSize - 8 else { return nil }
            let header = bytes(offset, 8)
            guard header.count == 8 else { return nil }
            let id = String(decoding: header[0..<4], as: UTF8.self)
            let size = Int64(le32(header, 4, bigEndian: bigEndian))
            if id == "ds64", is64 {
                // ds64: RIFF size (8 bytes), data size (8 bytes), sample count (8 bytes), ...
                let body = bytes(offset + 8, 16)
                if body.count == 16 { ds64DataBytes = Int64(bitPattern: le64(body, 8)) }
            }
            if id == "data" {
                var declared: Int64? = size
                if is64 && size == 0xFFFF_FFFF { declared = ds64DataBytes }
                if declared == 0xFFFF_FFFF || declared == 0 { declared = nil }
                if let d = declared, d < 0 { declared = nil }
                return WAVLayout(dataStart: offset + 8, declaredDataBytes: declared)
            }
            // Chunks are padded to an even size.
            offset += 8 + size + (size & 1)
        }
        return nil
    }

    /// When the `data` chunk declares more bytes than the file holds after its start: the
    /// file size the header implies and the size the file has.
    func truncation(fileSize: Int64) -> (declared: Int64, holds: Int64)? {
        guard let declaredDataBytes else { return nil }
        let (end, overflow) = dataStart.addingReportingOverflow(declaredDataBytes)
        if overflow { return (Int64.max, fileSize) }
        return end > fileSize ? (end, fileSize) : nil
    }

    private static func le32(_ b: [UInt8], _ i: Int, bigEndian: Bool) -> UInt32 {
        let v = UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
        return bigEndian ? v.byteSwapped : v
    }

    private static func le64(_ b: [UInt8], _ i: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in (0..<8).reversed() { v = v << 8 | UInt64(b[i + k]) }
        return v
    }
}
