import Foundation
import GRDB
import TalkTraceAudio
import TalkTraceRecords

/// talktrace.sqlite: contacts, recordings, per-channel metrics, segments, non-talk instances and
/// interruptions, with indexes on ContactId. Built in a temporary file and renamed into place.
///
/// Tables (snake_case columns, seconds and dBFS):
/// - `contacts(contact_id PK, channel, queue_name, agent_username, initiation_timestamp,
///   last_update_timestamp, initial_contact_id, previous_contact_id, next_contact_id,
///   agent_interaction_duration, customer_hold_duration, recording_count, ctr_json)`
/// - `recordings(recording_id PK, path, contact_id, matched_by, location, error, duration_seconds,
///   sample_rate, encoding, talk_seconds, silence_seconds, overlap_seconds, non_talk_seconds,
///   non_talk_instances, interruptions, interruptions_by_agent, interruptions_by_customer,
///   backchannels, agent_talk_share, median_response_seconds, cross_check_difference_seconds,
///   analysis_json)`
/// - `channel_metrics(recording_id, participant, talk_seconds, talk_ratio, segment_count,
///   longest_monologue_seconds, speech_level_dbfs, noise_floor_dbfs, snr_db, peak_dbfs,
///   clipped_ratio, dropout_seconds, loudness_mean, gated_silence_seconds)`
/// - `segments(recording_id, participant, start_seconds, end_seconds)`
/// - `non_talk(recording_id, begin_seconds, end_seconds, duration_seconds)`
/// - `interruptions(recording_id, by_participant, begin_seconds, end_seconds, overlap_seconds)`
/// - `ctr_problems(file, byte_offset, problem)`
///
/// Text is bound as its UTF-8 bytes and cast to TEXT in SQL, so a string with a NUL inside is
/// stored whole (binding it as a C string cut it at the NUL, and two contact IDs differing after
/// a NUL then collided). A row the database still refuses is skipped and returned as a problem;
/// it never sinks the rest of the database.
enum SQLiteExport {
    static let name = "talktrace.sqlite"

    static func write(_ result: BatchResult, summary: BatchSummary, to dir: String) throws(PipelineError) -> [ContactStore.Problem] {
        let final = (dir as NSString).appendingPathComponent(name)
        let temp = (dir as NSString).appendingPathComponent(".\(name).tmp-\(getpid())")
        for suffix in ["", "-journal", "-wal", "-shm"] { unlink(temp + suffix) }
        var problems: [ContactStore.Problem] = []
        do {
            let queue = try DatabaseQueue(path: temp)
            try queue.write { db in problems = try fill(db, result) }
            try queue.close()
        } catch {
            unlink(temp)
            throw PipelineError("\(final): cannot write the database (\(error))")
        }
        try OutputFiles.rename(temp, to: final)
        return problems
    }

    /// Text as bytes, for `CAST(? AS TEXT)`.
    static func text(_ s: String?) -> Data? { s.map { Data($0.utf8) } }

    private static func fill(_ db: Database, _ result: BatchResult) throws -> [ContactStore.Problem] {
        var problems: [ContactStore.Problem] = []
        try db.execute(sql: """
            CREATE TABLE contacts (
              contact_id TEXT PRIMARY KEY NOT NULL, channel TEXT, queue_name TEXT, agent_username TEXT,
              initiation_timestamp TEXT, last_update_timestamp TEXT, initial_contact_id TEXT,
              previous_contact_id TEXT, next_contact_id TEXT, agent_interaction_duration REAL,
              customer_hold_duration REAL, recording_count INTEGER NOT NULL, ctr_json TEXT NOT NULL);
            CREATE TABLE recordings (
              recording_id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, contact_id TEXT, matched_by TEXT,
              location TEXT, error TEXT, duration_seconds REAL, sample_rate INTEGER, encoding TEXT,
              talk_seconds REAL, silence_seconds REAL, overlap_seconds REAL, non_talk_seconds REAL,
              non_talk_instances INTEGER, interruptions INTEGER, interruptions_by_agent INTEGER,
              interruptions_by_customer INTEGER, backchannels INTEGER, agent_talk_share REAL,
              median_response_seconds REAL, cross_check_difference_seconds REAL, analysis_json TEXT);
            CREATE INDEX recordings_contact_id ON recordings(contact_id);
            CREATE TABLE channel_metrics (
              recording_id INTEGER NOT NULL REFERENCES recordings(recording_id), participant TEXT NOT NULL,
              talk_seconds REAL, talk_ratio REAL, segment_count INTEGER, longest_monologue_seconds REAL,
              speech_level_dbfs REAL, noise_floor_dbfs REAL, snr_db REAL, peak_dbfs REAL, clipped_ratio REAL,
              dropout_seconds REAL, loudness_mean REAL, gated_silence_seconds REAL, PRIMARY KEY (recording_id, participant));
            CREATE TABLE segments (
              recording_id INTEGER NOT NULL REFERENCES recordings(recording_id), participant TEXT NOT NULL,
              start_seconds REAL NOT NULL, end_seconds REAL NOT NULL);
            CREATE INDEX segments_recording ON segments(recording_id, participant);
            CREATE TABLE non_talk (
              recording_id INTEGER NOT NULL REFERENCES recordings(recording_id),
              begin_seconds REAL, end_seconds REAL, duration_seconds REAL);
            CREATE TABLE interruptions (
              recording_id INTEGER NOT NULL REFERENCES recordings(recording_id), by_participant TEXT,
              begin_seconds REAL, end_seconds REAL, overlap_seconds REAL);
            CREATE INDEX interruptions_recording ON interruptions(recording_id);
            CREATE TABLE ctr_problems (file TEXT NOT NULL, byte_offset INTEGER, problem TEXT NOT NULL);
            """)
        let t = "CAST(? AS TEXT)"
        for i in 0..<result.contacts.count {
            let key = result.contacts.keys[i]
            do {
                let c = try result.contacts.record(i)
                try db.cachedStatement(sql: "INSERT INTO contacts VALUES (\(t),\(t),\(t),\(t),\(t),\(t),\(t),\(t),\(t),?,?,?,\(t))").execute(
                    arguments: [text(c.contactId), text(c.channel), text(c.queueName), text(c.agentUsername), text(c.initiationTimestamp),
                                text(c.lastUpdate), text(c.initialContactId), text(c.previousContactId), text(c.nextContactId),
                                c.agentInteractionDuration, c.customerHoldDuration, result.analysesByContact[c.contactId]?.count ?? 0,
                                c.raw])
            } catch {
                problems.append(ContactStore.Problem(file: "talktrace.sqlite", offset: nil,
                                                     problem: "contacts: ContactId \(OneLine.sanitize(key.contactId)) not stored (\(error))"))
            }
        }
        let encoder = CallAnalysis.encoder()
        for (i, r) in result.recordings.enumerated() {
            let id = i + 1
            // The figures from the analysis's JSON, as recordings.csv reads them: the same
            // values whether the analysis was made here or read back from a shard.
            let json = try result.analysisJSON(i, encoder: encoder)
            let a: AnalysisRow?
            do throws(PipelineError) { a = try json.map { j throws(PipelineError) in try AnalysisRow.read(j, details: true) } } catch {
                throw PipelineError("\(OneLine.sanitize(r.file.relativePath)): \(error.message)")
            }
            try db.cachedStatement(sql: "INSERT INTO recordings VALUES (?,\(t),\(t),?,\(t),\(t),?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)").execute(
                arguments: [
                    id, text(r.file.relativePath), text(r.match?.contactId), r.match?.by.rawValue, text(r.match?.location), text(r.error),
                    a?.durationSeconds, a?.sampleRate, a?.encoding, a?.talkSeconds,
                    a?.silenceSeconds, a?.overlapSeconds, a?.nonTalkSeconds, a?.nonTalkCount,
                    a?.interruptions, a?.interruptionsByAgent, a?.interruptionsByCustomer, a?.backchannels,
                    a?.agentTalkShare, a?.medianResponseSeconds, r.crossCheck?.differenceSeconds,
                    json.map { String(decoding: $0, as: UTF8.self) },
                ])
            guard let a else { continue }
            for (who, ch) in [("AGENT", a.agent), ("CUSTOMER", a.customer)] {
                try db.cachedStatement(sql: "INSERT INTO channel_metrics VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)").execute(
                    arguments: [id, who, ch.talkSeconds, ch.talkRatio, ch.segmentCount, ch.longestMonologueSeconds,
                                ch.speechLevelDbfs, ch.noiseFloorDbfs, ch.snrDb, ch.peakDbfs, ch.clippedRatio, ch.dropoutSeconds,
                                ch.loudnessMean, ch.gatedSilenceSeconds])
                let insert = try db.cachedStatement(sql: "INSERT INTO segments VALUES (?,?,?,?)")
                for s in ch.segments { try insert.execute(arguments: [id, who, s.0, s.1]) }
            }
            for n in a.nonTalk {
                try db.cachedStatement(sql: "INSERT INTO non_talk VALUES (?,?,?,?)").execute(
                    arguments: [id, n.begin, n.end, n.duration])
            }
            for e in a.interruptionInstances {
                try db.cachedStatement(sql: "INSERT INTO interruptions VALUES (?,?,?,?,?)").execute(
                    arguments: [id, e.by, e.begin, e.end, e.overlap])
            }
        }
        for p in result.contacts.problems {
            try db.cachedStatement(sql: "INSERT INTO ctr_problems VALUES (\(t),?,\(t))").execute(arguments: [text(p.file), p.offset, text(p.problem)])
        }
        return problems
    }
}
