import Foundation
import TalkTraceStorage

/// Every CTR read from the given files and folders, deduplicated by ContactId, in memory bounded
/// by what the join needs.
///
/// Delivery is at least once and CTRs are updated after the contact, so one ContactId can arrive
/// many times: the copy with the latest `LastUpdateTimestamp` (parsed, see `Timestamp`) wins; a
/// copy whose time is missing or unparseable loses to any copy with one; on a tie, the one read
/// last (files in path order).
///
/// Memory: each record's bytes go to a spool file (created in `spoolDirectory` and unlinked at
/// once, so a killed run leaves nothing behind); only the ContactId, the recording locations, the
/// parsed time and where the bytes are stay in memory (about 250 bytes a contact). Outputs read
/// the records back one at a time (`record(_:)`).
///
/// Nothing disappears without a trace: every record of every file is either a contact, a
/// superseded duplicate (counted), or a `Problem` with its file and byte offset. A file's first
/// `problemsListedPerFile` problems are listed; the rest are counted in one closing line.
public final class ContactStore: @unchecked Sendable {
    /// A CTR file or record that could not be used, or a record used with a caveat.
    public struct Problem: Sendable, Equatable, Codable {
        public var file: String
        /// Byte offset of the record in the (decompressed) file; nil for whole-file problems.
        public var offset: Int?
        public var problem: String
        /// False when the record was still used (an unparseable LastUpdateTimestamp).
        public var recordSkipped: Bool = true
        public var description: String { offset.map { "\(file) @ byte \($0): \(problem)" } ?? "\(file): \(problem)" }

        public init(file: String, offset: Int?, problem: String, recordSkipped: Bool = true) {
            self.file = file
            self.offset = offset
            self.problem = problem
            self.recordSkipped = recordSkipped
        }
    }

    /// What the join keeps of a contact in memory.
    public struct Key: JoinKey, Sendable {
        public let contactId: String
        public let locations: [String]
        /// `LastUpdateTimestamp` in ns since 1970, nil when missing or unparseable.
        let time: Int64?
        let spoolOffset: Int64
        let spoolLength: Int32
        let file: Int32
        let offset: Int64
    }

    public static let problemsListedPerFile = 100

    /// What reading keeps of a record: the members dedup and the join's keys need, and whether
    /// the members that make it a CTR are there (`ContactRecord.rejection`); every other member
    /// is validated and skipped. The outputs parse the other fields when they read a record back.
    static let wanted: JSONWant = .object(Fields.members)

    /// Where `wanted`'s members sit in a record's capture, found once: looking them up by name
    /// in every record (string comparisons) cost more than parsing the members.
    enum Fields {
        static let location = JSONMembers(["Location": .scalar, "StorageType": .scalar])
        static let members = JSONMembers([
            "ContactId": .scalar, "LastUpdateTimestamp": .scalar,
            "AWSContactTraceRecordFormatVersion": .presence, "InitiationTimestamp": .presence,
            "Recording": .object(location), "Recordings": .array(.object(location)),
        ])
        static let contactId = members.index(of: "ContactId")!
        static let lastUpdate = members.index(of: "LastUpdateTimestamp")!
        static let formatVersion = members.index(of: "AWSContactTraceRecordFormatVersion")!
        static let initiation = members.index(of: "InitiationTimestamp")!
        static let recording = members.index(of: "Recording")!
        static let recordings = members.index(of: "Recordings")!
        static let locationAt = location.index(of: "Location")!
        static let storageTypeAt = location.index(of: "StorageType")!

        /// The file locations of a record's `Recordings[]` and `Recording` (as `ContactRecord.locations`).
        static func locations(_ o: JSONObject) -> [String] {
            var files: [String] = []
            func add(_ entry: JSONCapture?) {
                guard case .object(let e)? = entry,
                      let (loc, isStream) = ContactRecord.location(e.values[locationAt]?.string, storageType: e.values[storageTypeAt]?.string),
                      !isStream, !files.contains(loc) else { return }
                files.append(loc)
            }
            if case .array(let list)? = o.values[recordings] { for e in list { add(e) } }
            add(o.values[recording])
            return files
        }
    }

    /// Deduplicated contacts' keys, in first-seen order.
    public private(set) var keys: [Key] = []
    /// Listed problems (see `problemsListedPerFile`) and the total, listed or not.
    public private(set) var problems: [Problem] = []
    public private(set) var problemCount = 0
    /// Records skipped (not read as contacts) in total, listed or not.
    public private(set) var recordsSkipped = 0
    /// Records read as CTRs in total (before dedup), and copies dropped as superseded.
    public private(set) var recordsRead = 0
    public private(set) var duplicatesMerged = 0
    /// Files read.
    public private(set) var files: [String] = []
    private let indexById = IdIndex()
    private let spool: Spool

    public var count: Int { keys.count }

    /// An empty store whose spool lives in `spoolDirectory` (default: the system's temporary folder).
    public init(spoolDirectory: String? = nil) throws(RecordsError) {
        spool = try Spool(directory: spoolDirectory ?? NSTemporaryDirectory())
    }

    /// Reads every CTR file under `paths` (files, or folders walked recursively; hidden files skipped).
    public convenience init(paths: [String], spoolDirectory: String? = nil) throws(RecordsError) {
        try self.init(spoolDirectory: spoolDirectory)
        for p in paths { read(path: p) }
        try finish()
    }

    /// Reads a file, or every file under a folder, in sorted order.
    public func read(path: String) {
        if S3Location.isS3(path) {
            // Every object under the prefix, like every file under a folder.
            let found: [FoundFile]
            do { found = try S3Listing.list(path, include: { _ in true }) } catch {
                files.append(path)
                add(Problem(file: path, offset: nil, problem: Self.withoutName(error.message, path)))
                return
            }
            // Many objects in flight (each waits ~0.1 s for its first byte), read in order.
            let ahead = S3ReadAhead(files: found)
            defer { ahead.cancel() }
            for (i, f) in found.enumerated() {
                read(name: f.path) { () throws(RecordsError) in
                    do throws(StorageError) { return CTRFile(source: try ahead.take(i)) } catch {
                        throw RecordsError(error.problem(of: f.path))
                    }
                }
            }
            return
        }
        var st = stat()
        if stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR {
            let found: [FoundFile]
            do { found = try DirectoryWalker.walk(path, include: { _ in true }) } catch {
                add(Problem(file: path, offset: nil, problem: error.message))
                return
            }
            for f in found {
                if let problem = f.problem {
                    files.append(f.path)
                    add(Problem(file: f.path, offset: nil, problem: problem))
                } else {
                    read(file: f.path)
                }
            }
        } else {
            read(file: path)
        }
    }

    /// Reads one file (any of the accepted shapes, gzip or not), streaming.
    public func read(file: String) {
        read(name: file) { () throws(RecordsError) in try CTRFile(path: file) }
    }

    /// `message` without a leading "`name`: " (the problem is listed under the file's name already).
    static func withoutName(_ message: String, _ name: String) -> String {
        message.hasPrefix(name + ": ") ? String(message.dropFirst(name.count + 2)) : message
    }

    /// Reads the CTR file `open` opens, listed as `file`.
    private func read(name file: String, open: () throws(RecordsError) -> CTRFile) {
        files.append(file)
        let fileIndex = Int32(files.count - 1)
        let problemsBefore = problemCount
        var listed = 0
        var hiddenSkipped = 0
        func report(_ p: Problem) {
            if listed < Self.problemsListedPerFile {
                listed += 1
                add(p)
            } else {
                problemCount += 1
                if p.recordSkipped { recordsSkipped += 1; hiddenSkipped += 1 }
            }
        }
        var source: CTRFile
        do { source = try open() } catch {
            report(Problem(file: file, offset: nil, problem: error.message))
            return
        }
        var sawAnything = false
        let failure = JSONRecordScanner.scan(&source, want: Self.wanted, record: { offset, bytes, capture in
            sawAnything = true
            // A CTR: an object with a non-empty string ContactId and its format version or its
            // initiation time; anything else is named by `ContactRecord.rejection`.
            guard case .object(let o) = capture, case .string(let id)? = o.values[Fields.contactId], !id.isEmpty,
                  o.values[Fields.formatVersion] != nil || o.values[Fields.initiation] != nil else {
                report(Problem(file: file, offset: offset, problem: ContactRecord.rejection(capture) ?? "not a contact trace record"))
                return
            }
            recordsRead += 1
            let stamp = o.values[Fields.lastUpdate]
            var time: Int64?
            switch stamp {
            case .string(let s)?:
                time = Timestamp.nanoseconds(s)
                if time == nil {
                    report(Problem(file: file, offset: offset, problem: "LastUpdateTimestamp \"\(s.prefix(64))\" is not an ISO 8601 time: this copy of ContactId \(id) loses to any copy with a time", recordSkipped: false))
                }
            case nil, .null?: time = nil
            default:
                report(Problem(file: file, offset: offset, problem: "LastUpdateTimestamp is not a string: this copy of ContactId \(id) loses to any copy with a time", recordSkipped: false))
            }
            let locations = Fields.locations(o)
            guard let at = spool.append(bytes) else { return }
            insert(Key(contactId: id, locations: locations, time: time, spoolOffset: at, spoolLength: Int32(bytes.count),
                       file: fileIndex, offset: Int64(offset)))
        }, damage: { d in
            sawAnything = true
            report(Problem(file: file, offset: d.offset, problem: d.problem))
        })
        if let failure { report(Problem(file: file, offset: nil, problem: failure)) }
        if !sawAnything && failure == nil {
            report(Problem(file: file, offset: nil, problem: source.isCompressed ? "empty after decompression: no CTR records" : "empty file: no CTR records"))
        }
        let hidden = problemCount - problemsBefore - listed
        if hidden > 0 {
            problems.append(Problem(file: file, offset: nil,
                                    problem: "... and \(hidden) more problems in this file, not listed (\(hiddenSkipped) records skipped)",
                                    recordSkipped: false))
        }
    }

    /// Flushes the spool; call once every file is read (`init(paths:)` does). Throws when the
    /// spool could not be written (a full disk), since records would be missing otherwise.
    public func finish() throws(RecordsError) {
        try spool.flush()
    }

    private func add(_ p: Problem) {
        problems.append(p)
        problemCount += 1
        if p.recordSkipped { recordsSkipped += 1 }
    }

    private func insert(_ key: Key) {
        // One hash and one probe: the default is stored when the ID is new.
        let fresh = Int32(keys.count)
        let i = indexById.find(IdKey(key.contactId), orInsert: fresh)
        if i == fresh {
            keys.append(key)
        } else {
            duplicatesMerged += 1
            if !Self.isLater(keys[Int(i)].time, than: key.time) { keys[Int(i)] = key }
        }
    }

    static func isLater(_ a: Int64?, than b: Int64?) -> Bool {
        switch (a, b) {
        case (nil, _): false
        case (_?, nil): true
        case let (a?, b?): a > b
        }
    }

    // MARK: Reading back

    public func index(of id: String) -> Int? { indexById.find(IdKey(id)).map(Int.init) }

    /// The raw bytes of contact `i` as read.
    public func raw(_ i: Int) throws(RecordsError) -> Data {
        let k = keys[i]
        return try spool.read(at: k.spoolOffset, count: Int(k.spoolLength))
    }

    /// Contact `i` with every field the outputs use, read back from the spool.
    public func record(_ i: Int) throws(RecordsError) -> ContactRecord {
        let k = keys[i]
        let bytes = try raw(i)
        guard let r = ContactRecord(json: bytes, source: files[Int(k.file)], offset: Int(k.offset)) else {
            throw RecordsError("CTR spool: record \(k.contactId) does not read back")
        }
        return r
    }

    public func contact(id: String) -> ContactRecord? { index(of: id).flatMap { try? record($0) } }

    /// Every contact, read back (tests and small batches; outputs go one at a time).
    public var contacts: [ContactRecord] { (0..<count).compactMap { try? record($0) } }
}

/// A ContactId as a dictionary key: Connect's IDs are UUIDs, kept as their 128 bits (hashing two
/// integers instead of a 36-byte string made deduplication 5x cheaper); anything else as its
/// text. The text decides equality: only the canonical lower-case form is packed, so two IDs
/// that differ in case stay two contacts, as before.
enum IdKey: Hashable {
    case uuid(UInt64, UInt64)
    case text(String)

    init(_ s: String) {
        if s.utf8.count == 36, let packed = s.utf8.withContiguousStorageIfAvailable({ Self.pack($0) }) ?? nil {
            self = .uuid(packed.0, packed.1)
        } else {
            self = .text(s)
        }
    }

    /// The 32 hex digits of `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (lower case) as two integers.
    static func pack(_ b: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        guard b.count == 36, b[8] == 0x2d, b[13] == 0x2d, b[18] == 0x2d, b[23] == 0x2d else { return nil }
        var bad = false
        @inline(__always) func digits(_ from: Int, _ to: Int, into v: inout UInt64) {
            for k in from..<to {
                let c = b[k], d = c &- 0x30, l = c &- 0x61
                if d < 10 { v = v << 4 | UInt64(d) } else if l < 6 { v = v << 4 | UInt64(l + 10) } else { bad = true }
            }
        }
        var hi: UInt64 = 0, lo: UInt64 = 0
        digits(0, 8, into: &hi); digits(9, 13, into: &hi); digits(14, 18, into: &hi)
        digits(19, 23, into: &lo); digits(24, 36, into: &lo)
        return bad ? nil : (hi, lo)
    }
}

/// ContactId -> index of its contact. UUIDs (every Connect ContactId) live in an open-addressing
/// table of their 128 bits and the index, one slot of 24 bytes per contact, so a lookup in a
/// million contacts is one cache miss and a multiply instead of `Dictionary`'s SipHash and its
/// separate key and value arrays (a tenth of reading a file of new contacts). The slot comes
/// from a multiply-xorshift mix of both halves with a per-process random seed, so crafted IDs
/// cannot aim at one slot; other IDs go to a `Dictionary` keyed by their text.
final class IdIndex {
    private struct Slot { var hi: UInt64, lo: UInt64, index: Int32 }
    private var slots: UnsafeMutablePointer<Slot>
    private var mask: Int
    private var used = 0
    private var texts: [String: Int32] = [:]
    private let seed = UInt64.random(in: .min ... .max)

    init() {
        mask = 1023
        slots = .allocate(capacity: mask + 1)
        slots.initialize(repeating: Slot(hi: 0, lo: 0, index: -1), count: mask + 1)
    }

    deinit { slots.deallocate() }

    @inline(__always) private func home(_ hi: UInt64, _ lo: UInt64) -> Int {
        var h = (hi ^ seed) &* 0x9E37_79B9_7F4A_7C15 ^ lo
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        return Int(truncatingIfNeeded: h ^ (h >> 32)) & mask
    }

    /// The index stored for `key`, or nil.
    func find(_ key: IdKey) -> Int32? {
        switch key {
        case .text(let s): return texts[s]
        case .uuid(let hi, let lo):
            var k = home(hi, lo)
            while slots[k].index >= 0 {
                if slots[k].hi == hi && slots[k].lo == lo { return slots[k].index }
                k = (k + 1) & mask
            }
            return nil
        }
    }

    /// The index stored for `key`; when there is none, stores `fresh` and returns it.
    func find(_ key: IdKey, orInsert fresh: Int32) -> Int32 {
        switch key {
        case .text(let s):
            if let i = texts[s] { return i }
            texts[s] = fresh
            return fresh
        case .uuid(let hi, let lo):
            var k = home(hi, lo)
            while slots[k].index >= 0 {
                if slots[k].hi == hi && slots[k].lo == lo { return slots[k].index }
                k = (k + 1) & mask
            }
            slots[k] = Slot(hi: hi, lo: lo, index: fresh)
            used += 1
            if used * 2 > mask { grow() }
            return fresh
        }
    }

    /// Doubles the table (kept at most half full, so probe runs stay short).
    private func grow() {
        let old = slots, oldCount = mask + 1
        mask = 2 * oldCount - 1
        slots = .allocate(capacity: mask + 1)
        slots.initialize(repeating: Slot(hi: 0, lo: 0, index: -1), count: mask + 1)
        for j in 0..<oldCount where old[j].index >= 0 {
            var k = home(old[j].hi, old[j].lo)
            while slots[k].index >= 0 { k = (k + 1) & mask }
            slots[k] = old[j]
        }
        old.deallocate()
    }
}

/// An append-only file of record bytes, unlinked as soon as it is created.
final class Spool: @unchecked Sendable {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var flushed: Int64 = 0
    private var failure: RecordsError?
    private let lock = NSLock()
    static let bufferSize = 1 << 20

    init(directory: String) throws(RecordsError) {
        var template = Array(((directory as NSString).appendingPathComponent(".talktrace-ctr-spool-XXXXXX")).utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw RecordsError("\(directory): cannot create the CTR spool file (\(String(cString: strerror(errno))))")
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        self.fd = fd
        buffer.reserveCapacity(Self.bufferSize)
    }

    deinit { close(fd) }

    /// Appends `bytes`; returns their offset, or nil once writing has failed.
    func append(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        lock.lock(); defer { lock.unlock() }
        if failure != nil { return nil }
        let at = flushed + Int64(buffer.count)
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.bufferSize { writeOut() }
        return failure == nil ? at : nil
    }

    func flush() throws(RecordsError) {
        lock.lock(); defer { lock.unlock() }
        writeOut()
        if let failure { throw failure }
    }

    private func writeOut() {
        if let error = Descriptor.writeAll(fd, buffer).failure {
            failure = RecordsError("cannot write the CTR spool file (\(error))")
            return
        }
        flushed += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    func read(at offset: Int64, count: Int) throws(RecordsError) -> Data {
        lock.lock()
        if offset + Int64(count) > flushed { writeOut() }
        lock.unlock()
        var data = Data(count: count)
        var done = 0
        while done < count {
            let n = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw RecordsError("cannot read the CTR spool file back (\(n < 0 ? String(cString: strerror(errno)) : "short read"))") }
            done += n
        }
        return data
    }
}
