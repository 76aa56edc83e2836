import Crypto
import Foundation
import NuGetCore

/// What a build is asked to do, checked and resolved before anything is read: the input folder
/// (it must be one), the policy (it must load), the scanner, and the keys that say whether what
/// earlier builds recorded still applies.
struct BuildSettings: Sendable {
    let options: FeedBuilder.Options
    let layout: FeedLayout
    let scanner: PackageScanner
    let policy: FeedPolicy?
    /// The policy file and the advisory files it names: part of what a build reads.
    let policyFiles: [String]
    /// The names of the extra renderers (the site, a host's configuration).
    let rendererNames: [String]

    /// `writing`: the build writes into `options.output` (which then must not be the input).
    init(_ options: FeedBuilder.Options, extras: [any FeedDocumentRenderer], writing: Bool = true)
        throws(FeedBuilder.BuildError)
    {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: options.input, isDirectory: &isDir), isDir.boolValue else {
            throw .inputMissing(options.input)
        }
        var policy: FeedPolicy?
        var files: [String] = []
        do throws(PolicyError) {
            if let path = options.resolvedPolicyPath {
                policy = try FeedPolicy.load(path: path)
                files.append(path)
            }
            files += policy?.advisoryFiles ?? []
            // What `shelf serve --push` recorded beside the packages it stored.
            let serverPath = (options.input as NSString).appendingPathComponent(FeedPolicy.serverFileName)
            if options.looksForPolicy, FileManager.default.fileExists(atPath: serverPath) {
                let server = try FeedPolicy.loadServerFile(path: serverPath)
                policy = policy?.adding(server: server) ?? server
                files.append(serverPath)
            }
        } catch {
            throw .policy(error)
        }
        let scanner = PackageScanner(root: options.input, excluding: [options.output])
        if writing, scanner.root == PackageScanner.standardize(options.output) {
            throw .outputInsideFeed(options.output)
        }
        self.options = options
        self.layout = FeedLayout(baseURL: options.baseURL)
        self.scanner = scanner
        self.policy = policy
        self.policyFiles = files
        self.rendererNames = extras.map { String(describing: type(of: $0)) }
    }

    /// A push's settings: the feed's recorded options, the policy at `policyPath` (a local copy,
    /// or the one the push applies), the destination's `root` (a folder, or "/" for a bucket) to
    /// name files by.
    init(
        pushing record: BuildOptionsRecord, policyPath: String?, extras: [any FeedDocumentRenderer], root: String,
        concurrency: Int
    ) throws(PolicyError) {
        var options = FeedBuilder.Options(
            input: root, output: root, baseURL: record.baseURL, concurrency: concurrency, policyPath: policyPath,
            warnOnPrefixViolation: record.warnOnPrefixViolation)
        options.gzipRegistrations = record.gzipRegistrations
        options.host = record.host
        options.looksForPolicy = false
        self.options = options
        layout = FeedLayout(baseURL: record.baseURL)
        scanner = PackageScanner(root: root)
        policy = try policyPath.map { path throws(PolicyError) in try FeedPolicy.load(path: path) }
        policyFiles = (policyPath.map { [$0] } ?? []) + (policy?.advisoryFiles ?? [])
        rendererNames = extras.map { String(describing: type(of: $0)) }
    }

    /// The record of how this feed is built, for `shelf push`.
    var optionsRecord: BuildOptionsRecord {
        BuildOptionsRecord(
            baseURL: layout.baseURL, renderers: rendererNames, host: options.host,
            gzipRegistrations: options.gzipRegistrations, warnOnPrefixViolation: options.warnOnPrefixViolation,
            policy: options.resolvedPolicyPath.map { ($0 as NSString).lastPathComponent })
    }

    /// The policy file and the advisory files it imports, as records for `shelf push`: each by
    /// its path relative to the policy's folder (an advisory outside that folder is left out; a
    /// push then says it is missing).
    func policyRecords() -> [(StateRecord, Data)] {
        guard let path = options.resolvedPolicyPath else { return [] }
        let folder = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
        var out: [(StateRecord, Data)] = []
        if let data = FileManager.default.contents(atPath: path) {
            out.append((.policy((path as NSString).lastPathComponent), data))
        }
        for file in policy?.advisoryFiles ?? [] {
            let standard = URL(fileURLWithPath: file).standardizedFileURL.path
            guard standard.hasPrefix(folder + "/"), let data = FileManager.default.contents(atPath: standard) else {
                continue
            }
            out.append((.policy(String(standard.dropFirst(folder.count + 1))), data))
        }
        return out
    }

    /// The digest of everything this build reads (`InputSignature`): when it and the records'
    /// identity are what the last finished build recorded, nothing can have changed.
    func signature(of scan: InputScan) -> String {
        InputSignature.compute(
            packages: scan.identities, symbolPackages: scan.symbolPackages, snupkgs: scan.snupkgIdentities,
            policyFiles: policyFiles,
            settings: [
                IdState.outputFormat, layout.baseURL, rendererNames.joined(separator: ","),
                options.warnOnPrefixViolation ? "warn" : "refuse", "host=\(options.host ?? "")",
                options.gzipRegistrations ? "gzip" : "plain",
            ])
    }

    /// Everything every id's documents depend on beyond its own files (base URL, renderers,
    /// options, Shelf's output format): when it changes, every id is put together again
    /// (`IdState.globalKey`). The policy is not in it (`policyKey`).
    func globalKey() -> String {
        IdState.globalKey(
            baseURL: layout.baseURL, renderers: rendererNames + (options.gzipRegistrations ? ["gzip"] : []),
            settings: [options.warnOnPrefixViolation ? "warn" : "refuse"])
    }

    /// The policy files' contents (the policy file and the advisories it imports; "" for no
    /// policy): when they change, the ids whose view of the policy changed are put together again.
    func policyKey() -> String {
        guard !policyFiles.isEmpty else { return "" }
        return policyFiles.map { path in
            (try? Data(contentsOf: URL(fileURLWithPath: path))).map { Hex.string(SHA256.hash(data: $0)) } ?? "missing"
        }.joined(separator: ",")
    }

    /// The ids whose view of the policy is not the one their record has: none when the policy
    /// files are the ones the records were made with.
    func policyTouched(_ previous: IdState, policyKey: String) -> Set<String> {
        guard previous.policyKey != policyKey else { return [] }
        let entries = previous.entries
        return FeedPolicy.idsWithChangedView(policy, Array(entries.keys)) { entries[$0]?.policyView ?? "" }
    }
}
