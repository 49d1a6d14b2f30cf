import Foundation
import TalkTraceAudio

/// The published schema of every JSON output, as JSON Schema (draft 2020-12), and the Athena /
/// Glue tables generated from it.
///
/// Conventions the writers keep (`CallAnalysis.encoder`, contract mode): every member listed is in
/// every line, `null` when it does not apply (a nullable column is always present); a member of
/// type `number` is always written as a float (`12.0`, never `12`), one of type `integer` never
/// has a fraction. `additionalProperties` is false everywhere but in a contact line, which is the
/// CTR as it arrived plus `RecordingAnalysis`. The tests validate every output line against this
/// schema with Python's `jsonschema`, reading "number" as "a float in the text".
public enum OutputSchema {
    public static let id = "https://talktrace.example/schema/\(version)/talktrace.schema.json"
    /// Bumped when a member is added, removed or changes type.
    public static let version = "1"

    /// The schema's text (stable: tests and the README quote it).
    public static var jsonSchema: String {
        #"""
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "$id": "\#(id)",
          "title": "TalkTrace outputs",
          "description": "recordings.jsonl lines (RecordingLine), contacts.jsonl lines (ContactLine), analyses.jsonl and analyze --jsonl lines (AnalysisLine), analyze --json (Analysis), summary.json (Summary), shards/*/complete.json (ShardMarker), manifest lines (ManifestLine).",
          "$defs": {
            "Span": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "minItems": 2, "maxItems": 2, "description": "[startSeconds, endSeconds]"},
            "Participant": {"enum": ["AGENT", "CUSTOMER"]},
            "Levels": {"type": "object", "additionalProperties": false,
              "required": ["SpeechLevelDbfs", "NoiseFloorDbfs", "SnrDb", "PeakDbfs", "ClippedRatio", "DropoutSeconds", "GatedSilenceSeconds"],
              "properties": {
                "SpeechLevelDbfs": {"type": ["number", "null"]}, "NoiseFloorDbfs": {"type": ["number", "null"]},
                "SnrDb": {"type": ["number", "null"]}, "PeakDbfs": {"type": ["number", "null"]},
                "ClippedRatio": {"type": "number"}, "DropoutSeconds": {"type": "number"}, "GatedSilenceSeconds": {"type": "number"}}},
            "Loudness": {"type": "object", "additionalProperties": false, "required": ["Mean", "PerSecond"],
              "properties": {
                "Mean": {"type": ["number", "null"]},
                "PerSecond": {"type": "array", "items": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "integer"}], "minItems": 2, "maxItems": 2}, "description": "[second, score 0-100]"}}},
            "Channel": {"type": "object", "additionalProperties": false,
              "required": ["TalkSeconds", "Segments", "SegmentCount", "LongestMonologueSeconds", "TalkRatio", "Levels", "Loudness"],
              "properties": {
                "TalkSeconds": {"type": "number"}, "Segments": {"type": "array", "items": {"$ref": "#/$defs/Span"}},
                "SegmentCount": {"type": "integer"}, "LongestMonologueSeconds": {"type": "number"}, "TalkRatio": {"type": "number"},
                "Levels": {"$ref": "#/$defs/Levels"}, "Loudness": {"$ref": "#/$defs/Loudness"}}},
            "Overlap": {"type": "object", "additionalProperties": false, "required": ["By", "BeginOffsetSeconds", "EndOffsetSeconds", "OverlapSeconds"],
              "properties": {"By": {"$ref": "#/$defs/Participant"}, "BeginOffsetSeconds": {"type": "number"}, "EndOffsetSeconds": {"type": "number"}, "OverlapSeconds": {"type": "number"}}},
            "Leak": {"type": "object", "additionalProperties": false, "required": ["Detected", "DelaySeconds", "LevelDb", "Correlation"],
              "properties": {"Detected": {"type": "boolean"}, "DelaySeconds": {"type": ["number", "null"]}, "LevelDb": {"type": ["number", "null"]}, "Correlation": {"type": ["number", "null"]}}},
            "Background": {"type": "object", "additionalProperties": false, "required": ["Detected", "Seconds", "LevelDb"],
              "properties": {"Detected": {"type": "boolean"}, "Seconds": {"type": "number"}, "LevelDb": {"type": ["number", "null"]},
                "SoundWhileListening": {"type": ["number", "null"], "minimum": 0, "maximum": 1}}},
            "Analysis": {"type": "object", "additionalProperties": false,
              "required": ["Recording", "Agent", "Customer", "Conversation", "Quality", "Analyzer"],
              "properties": {
                "Recording": {"type": "object", "additionalProperties": false,
                  "required": ["Path", "Location", "ContactId", "DurationSeconds", "SampleRate", "Channels", "Encoding", "AgentChannel", "CustomerChannel"],
                  "properties": {
                    "Path": {"type": "string"}, "Location": {"type": ["string", "null"]}, "ContactId": {"type": ["string", "null"]},
                    "DurationSeconds": {"type": "number"}, "SampleRate": {"type": "integer"}, "Channels": {"type": "integer"},
                    "Encoding": {"type": "string"}, "AgentChannel": {"enum": ["left", "right"]}, "CustomerChannel": {"enum": ["left", "right"]}}},
                "Agent": {"$ref": "#/$defs/Channel"},
                "Customer": {"$ref": "#/$defs/Channel"},
                "Conversation": {"type": "object", "additionalProperties": false,
                  "required": ["TalkSeconds", "SilenceSeconds", "OverlapSeconds", "NonTalk", "Interruptions", "Backchannels", "ResponseLatency", "AgentTalkShare"],
                  "properties": {
                    "TalkSeconds": {"type": "number"}, "SilenceSeconds": {"type": "number"}, "OverlapSeconds": {"type": "number"},
                    "NonTalk": {"type": "object", "additionalProperties": false, "required": ["TotalSeconds", "Instances"],
                      "properties": {"TotalSeconds": {"type": "number"}, "Instances": {"type": "array", "items": {"type": "object", "additionalProperties": false,
                        "required": ["BeginOffsetSeconds", "EndOffsetSeconds", "DurationSeconds"],
                        "properties": {"BeginOffsetSeconds": {"type": "number"}, "EndOffsetSeconds": {"type": "number"}, "DurationSeconds": {"type": "number"}}}}}},
                    "Interruptions": {"type": "object", "additionalProperties": false, "required": ["Total", "ByAgent", "ByCustomer", "TotalSeconds", "Instances"],
                      "properties": {"Total": {"type": "integer"}, "ByAgent": {"type": "integer"}, "ByCustomer": {"type": "integer"}, "TotalSeconds": {"type": "number"},
                        "Instances": {"type": "array", "items": {"$ref": "#/$defs/Overlap"}}}},
                    "Backchannels": {"type": "object", "additionalProperties": false, "required": ["Total", "ByAgent", "ByCustomer", "Instances"],
                      "properties": {"Total": {"type": "integer"}, "ByAgent": {"type": "integer"}, "ByCustomer": {"type": "integer"},
                        "Instances": {"type": "array", "items": {"$ref": "#/$defs/Overlap"}}}},
                    "ResponseLatency": {"type": "object", "additionalProperties": false, "required": ["MedianSeconds", "AgentMedianSeconds", "CustomerMedianSeconds", "TurnChanges"],
                      "properties": {"MedianSeconds": {"type": ["number", "null"]}, "AgentMedianSeconds": {"type": ["number", "null"]},
                        "CustomerMedianSeconds": {"type": ["number", "null"]}, "TurnChanges": {"type": "integer"}}},
                    "AgentTalkShare": {"type": ["number", "null"]}}},
                "Quality": {"type": "object", "additionalProperties": false,
                  "required": ["Echo", "Sidetone", "Clipping", "OneWayAudio", "MusicOnHold", "BackgroundSpeech", "ChannelsSwapped"],
                  "properties": {
                    "Echo": {"$ref": "#/$defs/Leak"}, "Sidetone": {"$ref": "#/$defs/Leak"},
                    "Clipping": {"type": "object", "additionalProperties": false, "required": ["Detected", "AgentClippedRatio", "CustomerClippedRatio"],
                      "properties": {"Detected": {"type": "boolean"}, "AgentClippedRatio": {"type": "number"}, "CustomerClippedRatio": {"type": "number"}}},
                    "OneWayAudio": {"type": "object", "additionalProperties": false, "required": ["Detected", "SilentParticipant", "DigitalSilence"],
                      "properties": {"Detected": {"type": "boolean"}, "SilentParticipant": {"anyOf": [{"$ref": "#/$defs/Participant"}, {"type": "null"}]}, "DigitalSilence": {"type": "boolean"}}},
                    "MusicOnHold": {"type": "object", "additionalProperties": false, "required": ["Detected", "Participant", "Spans", "TotalSeconds"],
                      "properties": {"Detected": {"type": "boolean"}, "Participant": {"anyOf": [{"$ref": "#/$defs/Participant"}, {"type": "null"}]},
                        "Spans": {"type": "array", "items": {"$ref": "#/$defs/Span"}}, "TotalSeconds": {"type": "number"}}},
                    "BackgroundSpeech": {"anyOf": [{"type": "null"}, {"type": "object", "additionalProperties": false, "required": ["Agent", "Customer"],
                      "properties": {"Agent": {"$ref": "#/$defs/Background"}, "Customer": {"$ref": "#/$defs/Background"}}}]},
                    "ChannelsSwapped": {"type": "object", "additionalProperties": false, "required": ["Suspected", "Evidence"],
                      "properties": {"Suspected": {"type": "boolean"}, "Evidence": {"type": "array", "items": {"type": "string"}}}}}},
                "Analyzer": {"type": "object", "additionalProperties": false, "required": ["Version", "HopSeconds", "FftSize"],
                  "properties": {"Version": {"type": "string"}, "HopSeconds": {"type": "number"}, "FftSize": {"type": "integer"}}}}},
            "CrossCheck": {"type": "object", "additionalProperties": false,
              "required": ["RecordingSeconds", "AgentInteractionDuration", "CustomerHoldDuration", "DifferenceSeconds", "Consistent"],
              "properties": {"RecordingSeconds": {"type": "number"}, "AgentInteractionDuration": {"type": ["number", "null"]},
                "CustomerHoldDuration": {"type": ["number", "null"]}, "DifferenceSeconds": {"type": ["number", "null"]}, "Consistent": {"type": ["boolean", "null"]}}},
            "RecordingLine": {"type": "object", "additionalProperties": false,
              "required": ["Path", "ContactId", "MatchedBy", "Location", "SizeBytes", "CrossCheck", "Analysis", "Error"],
              "properties": {
                "Path": {"type": "string"}, "ContactId": {"type": ["string", "null"]}, "MatchedBy": {"enum": ["location", "contactId", null]},
                "Location": {"type": ["string", "null"]}, "SizeBytes": {"type": "integer"},
                "CrossCheck": {"anyOf": [{"$ref": "#/$defs/CrossCheck"}, {"type": "null"}]},
                "Analysis": {"anyOf": [{"$ref": "#/$defs/Analysis"}, {"type": "null"}]}, "Error": {"type": ["string", "null"]}}},
            "AnalysisLine": {"type": "object", "additionalProperties": false, "required": ["Path", "SizeBytes", "Analysis", "Error"],
              "properties": {"Path": {"type": "string"}, "SizeBytes": {"type": "integer"},
                "Analysis": {"anyOf": [{"$ref": "#/$defs/Analysis"}, {"type": "null"}]}, "Error": {"type": ["string", "null"]}}},
            "ContactLine": {"type": "object", "required": ["ContactId", "RecordingAnalysis"],
              "properties": {"ContactId": {"type": "string"}, "InitiationTimestamp": {"type": "string"}, "LastUpdateTimestamp": {"type": ["string", "null"]},
                "RecordingAnalysis": {"type": "array", "items": {"$ref": "#/$defs/Analysis"}}}},
            "Problem": {"type": "object", "additionalProperties": false, "required": ["File", "Offset", "Problem", "RecordSkipped"],
              "properties": {"File": {"type": "string"}, "Offset": {"type": ["integer", "null"]}, "Problem": {"type": "string"}, "RecordSkipped": {"type": "boolean"}}},
            "Summary": {"type": "object", "additionalProperties": false,
              "required": ["RecordingsFound", "RecordingsAnalyzed", "RecordingsFailed", "RecordingsUnmatched", "MatchedByLocation", "MatchedByContactId",
                "RecordingsReused", "CtrFiles", "CtrRecordsRead", "CtrDuplicatesMerged", "Contacts", "ContactsWithRecording", "ContactsWithoutRecording",
                "AudioHours", "WallSeconds", "SpeedTimesRealTime", "Jobs", "Failures", "CtrProblems", "CtrProblemCount", "CtrRecordsSkipped",
                "DatabaseProblems", "CrossCheckMismatches"],
              "properties": {
                "RecordingsFound": {"type": "integer"}, "RecordingsAnalyzed": {"type": "integer"}, "RecordingsFailed": {"type": "integer"},
                "RecordingsUnmatched": {"type": "integer"}, "MatchedByLocation": {"type": "integer"}, "MatchedByContactId": {"type": "integer"},
                "RecordingsReused": {"type": "integer"}, "CtrFiles": {"type": "integer"}, "CtrRecordsRead": {"type": "integer"},
                "CtrDuplicatesMerged": {"type": "integer"}, "Contacts": {"type": "integer"}, "ContactsWithRecording": {"type": "integer"},
                "ContactsWithoutRecording": {"type": "integer"}, "AudioHours": {"type": "number"}, "WallSeconds": {"type": "number"},
                "SpeedTimesRealTime": {"type": "number"}, "Jobs": {"type": "integer"},
                "Failures": {"type": "array", "items": {"type": "object", "additionalProperties": false, "required": ["Path", "Error"],
                  "properties": {"Path": {"type": "string"}, "Error": {"type": "string"}}}},
                "CtrProblems": {"type": "array", "items": {"$ref": "#/$defs/Problem"}}, "CtrProblemCount": {"type": "integer"},
                "CtrRecordsSkipped": {"type": "integer"}, "DatabaseProblems": {"type": "array", "items": {"$ref": "#/$defs/Problem"}},
                "CrossCheckMismatches": {"type": "array", "items": {"type": "string"}}}},
            "ShardMarker": {"type": "object", "additionalProperties": false,
              "required": ["ManifestId", "Index", "Count", "Recordings", "AnalysesBytes", "Failed", "AudioSeconds", "WallSeconds", "Jobs"],
              "properties": {"ManifestId": {"type": "string", "pattern": "^[0-9a-f]{16}$"}, "Index": {"type": "integer"}, "Count": {"type": "integer"},
                "Recordings": {"type": "integer"}, "AnalysesBytes": {"type": "integer"}, "Failed": {"type": "integer"},
                "AudioSeconds": {"type": "number"}, "WallSeconds": {"type": "number"}, "Jobs": {"type": "integer"}}},
            "ManifestLine": {"type": "object", "additionalProperties": false,
              "properties": {"Path": {"type": "string"}, "SizeBytes": {"type": "integer"}, "ModifiedTime": {"type": ["number", "string"]},
                "Problem": {"type": "string"}, "TalkTraceManifest": {"type": "integer"}, "Root": {"type": "string"}}}
          }
        }
        """#
    }

    /// The Athena tables: each JSON Lines output under its own S3 prefix, one folder per call
    /// date (`call_date=YYYY-MM-DD`, the date of the recordings' night), found by partition
    /// projection so no `MSCK REPAIR TABLE` or crawler is needed. Columns are generated from the
    /// schema: `number` → DOUBLE, `integer` → BIGINT, `boolean` → BOOLEAN, `string` and enums →
    /// STRING, objects → STRUCT, arrays → ARRAY (a `[start, end]` pair → ARRAY<DOUBLE>);
    /// nullable is every Athena column's nature. Names are the JSON keys, lower-cased, as the
    /// OpenX JSON SerDe matches them (case-insensitively).
    public static func athena(location: String, database: String = "talktrace") throws(PipelineError) -> String {
        guard let schema = (try? JSONSerialization.jsonObject(with: Data(jsonSchema.utf8))) as? [String: Any],
              let defs = schema["$defs"] as? [String: Any] else { throw PipelineError("the built-in schema does not parse (a bug)") }
        let base = location.hasSuffix("/") ? String(location.dropLast()) : location
        var out = "-- TalkTrace \(CallAnalysis.version) outputs, schema \(version) (talktrace schema --athena). Upload each night's files to\n"
        out += "-- \(base)/<table>/call_date=YYYY-MM-DD/ (e.g. aws s3 cp FINAL/recordings.jsonl \(base)/recordings/call_date=2026-03-03/).\n"
        out += "CREATE DATABASE IF NOT EXISTS \(database);\n"
        for (table, def, what) in [("recordings", "RecordingLine", "recordings.jsonl"), ("contacts", "ContactLine", "contacts.jsonl"),
                                   ("analyses", "AnalysisLine", "shards/*/analyses.jsonl and analyze --jsonl")] {
            guard let object = defs[def] as? [String: Any], let props = object["properties"] as? [String: Any] else { continue }
            out += "\n-- \(what)\n"
            out += "CREATE EXTERNAL TABLE IF NOT EXISTS \(database).\(table) (\n"
            let columns = try order(object, props).map { key throws(PipelineError) in
                "  `\(key.lowercased())` \(try hiveType(props[key]!, defs))"
            }
            out += columns.joined(separator: ",\n") + "\n)\n"
            out += "PARTITIONED BY (`call_date` STRING)\n"
            out += "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n"
            out += "WITH SERDEPROPERTIES ('ignore.malformed.json' = 'false', 'case.insensitive' = 'true')\n"
            out += "LOCATION '\(base)/\(table)/'\n"
            out += "TBLPROPERTIES (\n"
            out += "  'projection.enabled' = 'true',\n"
            out += "  'projection.call_date.type' = 'date',\n"
            out += "  'projection.call_date.format' = 'yyyy-MM-dd',\n"
            out += "  'projection.call_date.range' = '2017-01-01,NOW',\n"
            out += "  'projection.call_date.interval' = '1',\n"
            out += "  'projection.call_date.interval.unit' = 'DAYS',\n"
            out += "  'storage.location.template' = '\(base)/\(table)/call_date=${call_date}/'\n"
            out += ");\n"
        }
        return out
    }

    /// Members in the order of `required`, then the rest sorted.
    static func order(_ object: [String: Any], _ props: [String: Any]) -> [String] {
        let required = object["required"] as? [String] ?? []
        return required.filter { props[$0] != nil } + props.keys.filter { !required.contains($0) }.sorted()
    }

    static func hiveType(_ node: Any, _ defs: [String: Any]) throws(PipelineError) -> String {
        guard let n = node as? [String: Any] else { throw PipelineError("schema: not an object: \(node)") }
        if let ref = n["$ref"] as? String {
            let name = String(ref.split(separator: "/").last ?? "")
            guard let target = defs[name] else { throw PipelineError("schema: no definition \(ref)") }
            return try hiveType(target, defs)
        }
        if let any = n["anyOf"] as? [Any] {
            let nonNull = any.filter { (($0 as? [String: Any])?["type"] as? String) != "null" }
            guard nonNull.count == 1 else { throw PipelineError("schema: a union Athena cannot hold") }
            return try hiveType(nonNull[0], defs)
        }
        if n["enum"] != nil { return "STRING" }
        var type = n["type"] as? String
        if let types = n["type"] as? [String] {
            let nonNull = types.filter { $0 != "null" }
            type = nonNull.count == 1 ? nonNull[0] : "string"
        }
        switch type {
        case "number": return "DOUBLE"
        case "integer": return "BIGINT"
        case "boolean": return "BOOLEAN"
        case "string": return "STRING"
        case "array":
            if let items = n["items"] { return "ARRAY<\(try hiveType(items, defs))>" }
            if let prefix = n["prefixItems"] as? [Any], let first = prefix.first { return "ARRAY<\(try hiveType(first, defs))>" }
            return "ARRAY<STRING>"
        case "object":
            let props = n["properties"] as? [String: Any] ?? [:]
            let fields = try order(n, props).map { key throws(PipelineError) in "`\(key.lowercased())`:\(try hiveType(props[key]!, defs))" }
            return "STRUCT<\(fields.joined(separator: ","))>"
        default:
            throw PipelineError("schema: type \(type ?? "none") has no Athena type")
        }
    }
}
