import ArgumentParser
import Foundation
import ShelfFeed
import ShelfPublish

/// `shelf publish`: a built feed to S3-compatible object storage.
struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Publish a built feed to S3-compatible storage (AWS S3, MinIO, R2, Wasabi...), uploading only what changed.",
        discussion: """
            Compares the folder with what the bucket holds (by MD5) and uploads only what changed, with \
            Content-Type and Cache-Control per object (immutable for packages and catalog leaves, short for \
            indexes); JSON documents and pages are stored gzip-compressed with Content-Encoding: gzip. \
            Order: packages and leaves, then indexes, then index.json, then deletions (only of objects an \
            earlier publish wrote), so that no client follows a link to a missing object; an interrupted \
            publish converges when run again. A manifest object (PREFIX\(StateRecord.publishManifest.path)), written only \
            with conditional requests, keeps two publishers apart. Credentials: AWS_ACCESS_KEY_ID / \
            AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), or a profile of ~/.aws/credentials (--profile, \
            AWS_PROFILE). Exit status: 0 done, 1 an error, 75 another publish holds the destination.
            """
    )

    @Argument(help: "The folder `shelf build --out` wrote.")
    var dir: String

    @Argument(help: "Where to publish: s3://BUCKET or s3://BUCKET/PREFIX.")
    var destination: String

    @OptionGroup var s3: S3Options

    @Flag(name: .customLong("dry-run"), help: "Print the plan (puts, deletes, bytes) and change nothing.")
    var dryRun = false

    @Flag(name: .customLong("break-lock"), help: "Take the destination's lease even if another publish holds it.")
    var breakLock = false

    @Option(name: .long, help: "How many requests at once.")
    var jobs = 8

    @Flag(name: .long, help: "Print only problems and the final line.")
    var quiet = false

    func run() async throws {
        let fail: (String, Int32) -> ExitCode = { message, code in
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            return ExitCode(code)
        }
        let root = URL(fileURLWithPath: dir).standardizedFileURL.path
        let target: S3Destination
        let client: S3Client
        do {
            (target, client) = try s3.client(for: destination)
        } catch {
            throw fail("\(error)", 64)
        }
        var options = Publisher.Options()
        options.dryRun = dryRun
        options.breakLock = breakLock
        options.concurrency = max(1, jobs)
        let line = ProgressLine(enabled: !quiet && isatty(2) != 0)
        let publisher = Publisher(
            root: root, destination: target, client: client, options: options,
            progress: { line.status($0) })
        let result: Publisher.Result
        do {
            result = try await publisher.run()
        } catch let error as PublishError where error.isContention {
            line.finish()
            throw fail(error.description, 75)
        } catch {
            line.finish()
            throw fail("\(error)", 1)
        }
        line.finish()
        let plan = result.plan
        if dryRun && !quiet {
            for path in plan.putPaths { print("put     \(target)\(path)") }
            for path in plan.deletePaths { print("delete  \(target)\(path)") }
        }
        var summary =
            dryRun
            ? "shelf publish --dry-run: would upload \(plan.putCount) files (\(plan.putBytes) bytes), delete \(plan.deleteCount); \(plan.unchangedCount) unchanged"
            : "shelf publish: uploaded \(plan.putCount) files (\(plan.putBytes) bytes), deleted \(plan.deleteCount); \(plan.unchangedCount) unchanged"
        if plan.foreignCount > 0 {
            summary += "; \(plan.foreignCount) objects under \(target) that Shelf did not write were left alone"
        }
        print(summary)
    }
}

/// How to reach an S3-compatible bucket: `shelf publish`, `shelf push` and `shelf delete` share these.
struct S3Options: ParsableArguments {
    @Option(
        name: .long, help: "An S3-compatible endpoint (https://minio.example.com:9000); default: AWS for the region.")
    var endpoint: String?

    @Option(name: .long, help: "The region to sign for (default: AWS_REGION, the profile's region, us-east-1).")
    var region: String?

    @Option(name: .long, help: "A profile of ~/.aws/credentials or ~/.aws/config.")
    var profile: String?

    @Option(name: .long, help: "path or virtual (default: virtual for AWS, path for --endpoint).")
    var addressing: String?

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    /// The destination `s3://BUCKET[/PREFIX]` and a client for its bucket, with the credentials
    /// of the environment or the profile.
    func client(for destination: String) throws -> (S3Destination, S3Client) {
        let target = try S3Destination(destination)
        let config = try AWSConfiguration.resolve(profile: profile, region: region)
        var endpointURL = S3Client.awsEndpoint(region: config.region)
        if let endpoint {
            guard let url = URL(string: endpoint), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw Invalid(
                    description: "--endpoint \(endpoint) is not an http(s) URL: write it as https://HOST[:PORT]")
            }
            endpointURL = url
        }
        let style: S3Addressing
        if let addressing {
            guard let s = S3Addressing(rawValue: addressing) else {
                throw Invalid(description: "--addressing must be path or virtual, not \(addressing)")
            }
            style = s
        } else {
            style = S3Client.defaultAddressing(bucket: target.bucket, customEndpoint: endpoint != nil)
        }
        let client = S3Client(
            endpoint: endpointURL, bucket: target.bucket, addressing: style,
            signer: SigV4Signer(credentials: config.credentials, region: config.region))
        return (target, client)
    }
}
