import Foundation

/// Every CTR read from the given files and directories, deduplicated by ContactId.
///
/// Delivery is at least once and CTRs are updated after the contact, so one ContactId can arrive
/// many times: the copy with the latest `LastUpdateTimestamp` wins; on a tie, the one read last
/// (files in path order). Everything that could not be read is kept in `problems` with its file
/// and byte offset: nothing disappears without a trace.
public struct ContactStore: Sendable {
    /// A CTR record or file that could not be used.
    public struct Problem: Sendable, Equatable, Codable {
        public var file: String
        /// Byte offset of the record in the (decompressed) file; nil for whole-file problems.
        public var offset: Int?
        public var problem: String
        public var description: String { offset.map { "\(file) @ byte \($0): \(problem)" } ?? "\(file): \(problem)" }
    }

    /// Deduplicated contacts in first-seen order.
    public private(set) var contacts: [ContactRecord] = []
    public private(set) var problems: [Problem] = []
    /// Records read in total (before dedup), and copies dropped as superseded.
    public private(set) var recordsRead = 0
    public private(set) var duplicatesMerged = 0
    /// Files read.
    public private(set) var files: [String] = []
    private var indexById: [String: Int] = [:]

    public init() {}

    /// Reads every CTR file under `paths` (files, or directories walked recursively; hidden files skipped).
    public init(paths: [String]) {
        for file in Self.expand(paths) { read(file: file) }
    }

    public func contact(id: String) -> ContactRecord? { indexById[id].map { contacts[$0] } }

    /// Files under `paths`, sorted, so runs are reproducible.
    static func expand(_ paths: [String]) -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for p in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else { out.append(p); continue }
            if !isDir.boolValue { out.append(p); continue }
            guard let walker = fm.enumerator(atPath: p) else { continue }
            var found: [String] = []
            for case let rel as String in walker {
                if rel.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
                let full = (p as NSString).appendingPathComponent(rel)
                var d: ObjCBool = false
                if fm.fileExists(atPath: full, isDirectory: &d), !d.boolValue { found.append(full) }
            }
            out += found.sorted()
        }
        return out
    }

    /// Reads one file (any of the accepted shapes, gzip or not).
    public mutating func read(file: String) {
        files.append(file)
        guard let raw = FileManager.default.contents(atPath: file) else {
            let exists = FileManager.default.fileExists(atPath: file)
            problems.append(Problem(file: file, offset: nil, problem: exists ? "cannot read the file" : "no such file"))
            return
        }
        var data = raw
        if Gzip.isCompressed(raw) {
            let (inflated, error) = Gzip.decompress(raw)
            // Whatever inflated before any damage is still read below.
            if let error { problems.append(Problem(file: file, offset: nil, problem: "gzip: \(error)")) }
            data = inflated
        }
        if data.isEmpty {
            problems.append(Problem(file: file, offset: nil, problem: "empty file: no CTR records"))
            return
        }
        let (records, damage) = JSONRecordScanner.scan(data)
        for d in damage { problems.append(Problem(file: file, offset: d.offset, problem: d.problem)) }
        for (piece, object) in records {
            recordsRead += 1
            guard let record = ContactRecord(object: object, raw: piece.bytes, source: file, offset: piece.offset) else {
                problems.append(Problem(file: file, offset: piece.offset, problem: "record has no ContactId"))
                continue
            }
            add(record)
        }
    }

    mutating func add(_ record: ContactRecord) {
        if let i = indexById[record.contactId] {
            duplicatesMerged += 1
            if !Timestamp.isLater(contacts[i].lastUpdate, than: record.lastUpdate) { contacts[i] = record }
        } else {
            indexById[record.contactId] = contacts.count
            contacts.append(record)
        }
    }
}
