import ArgumentParser
import Foundation
import TalkTracePipeline

extension TalkTrace {
    struct ManifestCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "manifest",
            abstract: "List the recordings to analyze, one JSON line each, for sharded batches.",
            discussion: """
                Walks RECORDINGS_DIR recursively for .wav files (any case), exactly as batch does, and writes \
                one line per recording, sorted by path: {"ModifiedTime":<seconds since 1970>,"Path":<relative>,"SizeBytes":<bytes>} \
                (plus "Problem" for a file that cannot be read), after a first line {"Root":<absolute folder>,"TalkTraceManifest":1}. \
                Then: talktrace batch --manifest FILE --shard INDEX/COUNT --out OUT on each worker, and talktrace join OUT. \
                A manifest can also be made from an S3 listing (ModifiedTime may be an ISO 8601 time): see the README.
                """)

        @Argument(help: ArgumentHelp("Directory of recordings, walked recursively.", valueName: "recordings-dir"))
        var recordingsDirectory: String

        @Option(name: .customLong("out"), help: ArgumentHelp("Manifest file to write (atomically); - for standard output.", valueName: "manifest.jsonl"))
        var out: String

        func run() throws {
            let manifest: Manifest
            do { manifest = try Manifest.make(directory: recordingsDirectory).0 } catch {
                printError("talktrace: \(error)")
                throw ExitCode(1)
            }
            let data = manifest.jsonLines()
            if out == "-" {
                Console.out.write(data)
            } else {
                let url = URL(fileURLWithPath: out)
                do {
                    try OutputFiles.write(data, to: url.deletingLastPathComponent().path, name: url.lastPathComponent)
                } catch {
                    printError("talktrace: \(error)")
                    throw ExitCode(1)
                }
                let problems = manifest.entries.filter { $0.problem != nil }.count
                printError("talktrace: \(out): \(manifest.entries.count) recordings, \(manifest.totalBytes) bytes"
                    + (problems > 0 ? ", \(problems) that cannot be read (listed, recorded as failed)" : "") + ", manifest id \(manifest.id)")
            }
            try Console.finish()
        }
    }

    struct JoinCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "join",
            abstract: "Join the analyses of every shard onto the contact records (CTRs) and write the outputs.",
            discussion: """
                Checks that every shard of the manifest in SHARDS_DIR (the --out of the shards) is complete, made \
                from that manifest and with one COUNT, and names the missing or stale ones otherwise (exit 1, \
                nothing written). Then joins every analysis onto the CTRs and writes into OUT_DIR exactly what a \
                one-machine batch writes: recordings.jsonl, contacts.jsonl, recordings.csv, talktrace.sqlite, \
                summary.json (only the wall time, speed and job count differ). The recordings are not read.
                """)

        @Argument(help: ArgumentHelp("The shards' output directory (holds manifest.jsonl and shards/).", valueName: "shards-dir"))
        var shardsDirectory: String

        @Option(name: .customLong("ctr"), help: ArgumentHelp(
            "A CTR file or a directory of them (walked recursively). Repeat for more.", valueName: "path"))
        var ctr: [String] = []

        @Option(name: .customLong("out"), help: ArgumentHelp("Output directory (created if missing).", valueName: "out-dir"))
        var out: String

        @Flag(help: "Also write OUT_DIR/report.html.")
        var report = false

        @Flag(name: .customLong("quiet"), help: "Accepted for symmetry with batch: join prints no progress.")
        var quiet = false

        func run() throws {
            let result: BatchResult
            do {
                result = try Join.run(shardsRoot: shardsDirectory, ctrPaths: ctr, outputDirectory: out)
            } catch {
                printError("talktrace: \(error)")
                throw ExitCode(1)
            }
            try Batch.finish(result, out: out, report: report)
        }
    }
}

extension TalkTrace {
    struct SchemaCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schema",
            abstract: "Print the published schema of every output: JSON Schema, or Athena/Glue CREATE EXTERNAL TABLE statements.",
            discussion: """
                Without options: the JSON Schema (draft 2020-12) of recordings.jsonl, contacts.jsonl, analyses.jsonl \
                and analyze --jsonl lines, analyze --json, summary.json, shard markers and manifest lines. Every \
                member is in every line (null when it does not apply); a "number" is always written as a float \
                (12.0), an "integer" never. With --athena: CREATE EXTERNAL TABLE statements for the JSON Lines \
                outputs under --location, partitioned by call_date (partition projection: no crawler needed).
                """)

        @Flag(help: "Print Athena/Glue DDL instead of the JSON Schema.")
        var athena = false

        @Option(help: ArgumentHelp("With --athena: the S3 prefix the tables live under, e.g. s3://bucket/talktrace.", valueName: "s3-prefix"))
        var location: String = "s3://YOUR-BUCKET/talktrace"

        @Option(help: ArgumentHelp("With --athena: the Glue database.", valueName: "name"))
        var database: String = "talktrace"

        func run() throws {
            if athena {
                do { Console.out.write(try OutputSchema.athena(location: location, database: database)) } catch {
                    printError("talktrace: \(error)")
                    throw ExitCode(1)
                }
            } else {
                Console.out.write(OutputSchema.jsonSchema + "\n")
            }
            try Console.finish()
        }
    }
}
