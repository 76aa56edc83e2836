import Foundation
import NuGetCore

/// `shelf build`: scan → read → model → render → write.
public struct FeedBuilder: Sendable {
    public struct Options: Sendable {
        public var input: String
        public var output: String
        public var baseURL: String
        public var concurrency: Int
        /// The policy file; nil: `shelf.json` in the input folder when there is one.
        public var policyPath: String?
        /// Let packages that break a prefix reservation through (unverified, with a warning).
        public var warnOnPrefixViolation = false

        public init(
            input: String, output: String, baseURL: String,
            concurrency: Int = ProcessInfo.processInfo.activeProcessorCount, policyPath: String? = nil,
            warnOnPrefixViolation: Bool = false
        ) {
            self.input = input
            self.output = output
            self.baseURL = baseURL
            self.concurrency = max(1, concurrency)
            self.policyPath = policyPath
            self.warnOnPrefixViolation = warnOnPrefixViolation
        }

        /// The policy file this build uses, if any.
        public var resolvedPolicyPath: String? {
            if let policyPath { return policyPath }
            let candidate = (input as NSString).appendingPathComponent(FeedPolicy.fileName)
            return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
        }
    }

    /// What a build did, for the summary line and `--json`.
    public struct Report: Sendable {
        public var packageFiles = 0
        public var packagesRead = 0
        public var ids = 0
        public var versions = 0
        public var skipped: [Diagnostic] = []
        public var warnings: [Diagnostic] = []
        public var symbolPackages = 0
        public var filesWritten = 0
        public var filesUnchanged = 0
        public var filesRemoved = 0
        public var bytesWritten: Int64 = 0
        public var catalogItemsAdded = 0
        /// Versions retention left out of the feed.
        public var pruned = 0
    }

    /// Progress for a terminal: how far reading and writing have come.
    public enum Progress: Sendable {
        case reading(done: Int, total: Int)
        case writing(done: Int, total: Int)
    }

    public enum BuildError: Error, CustomStringConvertible {
        case inputMissing(String)
        case outputInsideFeed(String)
        case policy(PolicyError)

        public var description: String {
            switch self {
            case .inputMissing(let path):
                return
                    "the input folder \(path) does not exist or is not a folder; give the folder that holds your .nupkg files"
            case .outputInsideFeed(let path):
                return "the output folder \(path) is the input folder; choose a separate folder with --out"
            case .policy(let error):
                return "\(error). No feed was written"
            }
        }
    }

    public let options: Options
    /// Renderers from other modules (the package site).
    public let extras: [any FeedDocumentRenderer]

    public init(options: Options, extras: [any FeedDocumentRenderer] = []) {
        self.options = options
        self.extras = extras
    }

    public func run(progress: (@Sendable (Progress) -> Void)? = nil) async throws -> Report {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: options.input, isDirectory: &isDir), isDir.boolValue else {
            throw BuildError.inputMissing(options.input)
        }
        var policy: FeedPolicy?
        if let path = options.resolvedPolicyPath {
            do throws(PolicyError) {
                policy = try FeedPolicy.load(path: path)
            } catch {
                throw BuildError.policy(error)
            }
        }
        let scanner = PackageScanner(root: options.input, excluding: [options.output])
        if scanner.root == PackageScanner.standardize(options.output) {
            throw BuildError.outputInsideFeed(options.output)
        }
        let scan = scanner.scan()
        var report = Report()
        report.packageFiles = scan.packages.count
        report.symbolPackages = scan.symbolPackages.count
        report.warnings += scan.problems

        let results = await readAll(scan.packages, progress: progress)
        var archives: [PackageArchive] = []
        for (path, result) in zip(scan.packages, results) {
            switch result {
            case .success(let archive):
                archives.append(archive)
                for w in archive.warnings {
                    report.warnings.append(Diagnostic(severity: .warning, file: scanner.relative(path), message: w))
                }
            case .failure(let error):
                report.skipped.append(
                    Diagnostic(severity: .error, file: scanner.relative(path), message: error.description))
            }
        }
        report.packagesRead = archives.count

        var model = FeedModel(packages: archives, relativePath: scanner.relative)
        report.warnings += model.diagnostics
        if let policy {
            let outcome = policy.apply(
                to: model, warnOnPrefixViolation: options.warnOnPrefixViolation, relativePath: scanner.relative)
            model = outcome.model
            report.skipped += outcome.refused
            report.warnings += outcome.diagnostics
            report.pruned = outcome.pruned.count
        }
        // The clock is read only to warn; it never goes into the feed.
        let tomorrow = Date().addingTimeInterval(86_400)
        for a in archives where a.packedAt > tomorrow {
            report.warnings.append(
                Diagnostic(
                    severity: .warning, file: scanner.relative(a.path),
                    message:
                        "the package's timestamp (\(RegistrationRenderer.timestamp(a.packedAt))) is in the future; "
                        + "its published date and catalog commit time follow it, and later catalog commits come after it. "
                        + "Repack it on a machine with a correct clock"))
        }
        report.ids = model.registrations.count
        report.versions = model.registrations.reduce(0) { $0 + $1.versions.count }

        let sink = LocalFolderSink(root: options.output, concurrency: options.concurrency)
        let lock = try sink.lock()
        defer { sink.unlock(lock) }
        let previous = loadCatalog(sink, &report)
        let (catalog, added) = previous.appending(model)
        report.catalogItemsAdded = added
        let vulnerabilities = policy.flatMap { $0.vulnerabilities.isEmpty ? nil : $0.vulnerabilityEntries(for: model) }
        let documents = FeedRenderer(
            layout: FeedLayout(baseURL: options.baseURL), extras: extras, vulnerabilities: vulnerabilities
        ).render(model, catalog: catalog, added: added)
        let total = documents.count
        let summary = try await sink.write(documents, locked: true) { done in
            progress?(.writing(done: done, total: total))
        }
        report.filesWritten = summary.written
        report.filesUnchanged = summary.unchanged
        report.filesRemoved = summary.removed
        report.bytesWritten = summary.bytesWritten
        return report
    }

    /// What retention leaves out of the feed (for `shelf prune`): the package files, with their
    /// paths relative to the input folder, and the policy file used. Reads every package; writes
    /// nothing.
    public func retentionPlan() async throws -> (
        files: [(path: String, relative: String, archive: PackageArchive)], policy: String?
    ) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: options.input, isDirectory: &isDir), isDir.boolValue else {
            throw BuildError.inputMissing(options.input)
        }
        guard let path = options.resolvedPolicyPath else { return ([], nil) }
        let policy: FeedPolicy
        do throws(PolicyError) {
            policy = try FeedPolicy.load(path: path)
        } catch {
            throw BuildError.policy(error)
        }
        let scanner = PackageScanner(root: options.input, excluding: [options.output])
        let scan = scanner.scan()
        let archives = await readAll(scan.packages, progress: nil).compactMap { try? $0.get() }
        let model = FeedModel(packages: archives, relativePath: scanner.relative)
        let outcome = policy.apply(to: model, relativePath: scanner.relative)
        return (outcome.pruned.map { ($0.path, scanner.relative($0.path), $0) }, path)
    }

    /// The catalog history the previous build left: its state file, or, if that is missing or
    /// damaged, what the catalog on disk records.
    private func loadCatalog(_ sink: LocalFolderSink, _ report: inout Report) -> CatalogState {
        if let data = sink.read(CatalogState.path) {
            do {
                let state = try CatalogState.decode(data)
                // The state is written after the catalog; if a build stopped in between, the
                // catalog on disk (which followers may have read) is ahead: trust the catalog.
                let head = Self.catalogHead(sink)
                if head == nil || head == state.items.last?.commitId { return state }
                report.warnings.append(
                    Diagnostic(
                        severity: .note, file: nil,
                        message: "\(CatalogState.path) is behind the catalog (an earlier build stopped early); "
                            + "reading the history from the catalog"))
            } catch {
                report.warnings.append(
                    Diagnostic(
                        severity: .warning, file: nil,
                        message: "\(error); reading the history from the catalog in the output folder instead"))
            }
        }
        do {
            if let rebuilt = try CatalogState.reconstruct(read: sink.read) { return rebuilt }
        } catch {
            report.warnings.append(
                Diagnostic(
                    severity: .warning, file: nil,
                    message: "the catalog in the output folder cannot be read (\(error)); it starts again from this "
                        + "build, so catalog followers must reset their cursor"))
        }
        return CatalogState()
    }

    /// The `commitId` of `catalog/index.json` in the output folder (nil when there is none or it
    /// is empty).
    static func catalogHead(_ sink: LocalFolderSink) -> String? {
        guard let data = sink.read(CatalogLayout.index),
            let index = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return index["commitId"] as? String
    }

    /// Reads every package, on all cores, in input order.
    private func readAll(
        _ paths: [String], progress: (@Sendable (Progress) -> Void)?
    ) async -> [Result<PackageArchive, PackageArchiveError>] {
        var results = [Result<PackageArchive, PackageArchiveError>?](repeating: nil, count: paths.count)
        await withTaskGroup(of: (Int, Result<PackageArchive, PackageArchiveError>).self) { group in
            var next = 0
            var done = 0
            func add() {
                let i = next
                next += 1
                group.addTask {
                    do throws(PackageArchiveError) {
                        return (i, .success(try PackageArchive.read(path: paths[i])))
                    } catch {
                        return (i, .failure(error))
                    }
                }
            }
            while next < paths.count && next < options.concurrency { add() }
            while let (i, result) = await group.next() {
                results[i] = result
                done += 1
                progress?(.reading(done: done, total: paths.count))
                if next < paths.count { add() }
            }
        }
        return results.map { $0! }
    }
}

/// A renderer that lives outside this module (the package site), given the whole model.
public protocol FeedDocumentRenderer: Sendable {
    func render(_ model: FeedModel, layout: FeedLayout) -> [FeedDocument]
    /// `PackageDetailsUriTemplate/5.1.0`, relative to the base URL, if this renderer writes
    /// package pages.
    var packageDetailsTemplate: String? { get }
}

/// All renderers together: the whole feed as documents.
public struct FeedRenderer: Sendable {
    public let layout: FeedLayout
    public let extras: [any FeedDocumentRenderer]

    /// Advisories for `VulnerabilityInfo/6.7.0`; nil: the feed offers no vulnerability data.
    public let vulnerabilities: [VulnerabilityEntry]?

    public init(
        layout: FeedLayout, extras: [any FeedDocumentRenderer] = [], vulnerabilities: [VulnerabilityEntry]? = nil
    ) {
        self.layout = layout
        self.extras = extras
        self.vulnerabilities = vulnerabilities
    }

    /// `catalog` is the catalog history after this build (see `CatalogState.appending`), whose
    /// last `added` items are this build's.
    public func render(_ model: FeedModel, catalog: CatalogState, added: Int) -> [FeedDocument] {
        let flat = FlatContainerRenderer()
        let semver1 = RegistrationRenderer(layout: layout, hive: .semVer1)
        let semver2 = RegistrationRenderer(layout: layout, hive: .semVer2)
        var docs: [FeedDocument] = []
        for r in model.registrations {
            docs += flat.render(r)
            docs += semver1.render(r)
            docs += semver2.render(r)
        }
        docs += SearchRenderer(layout: layout).render(model)
        docs += CatalogRenderer(layout: layout).render(state: catalog, added: added, model: model)
        if let vulnerabilities {
            let newest =
                model.registrations.flatMap { $0.versions.map(\.archive.packedAt) }.max()
                ?? Date(timeIntervalSince1970: 0)
            docs += VulnerabilityInfoRenderer(layout: layout).render(
                vulnerabilities, updated: CatalogTime.string(CatalogTime.ticks(newest)))
        }
        for extra in extras { docs += extra.render(model, layout: layout) }
        let template = extras.lazy.compactMap(\.packageDetailsTemplate).first
        docs.append(
            ServiceIndexRenderer(
                layout: layout, packageDetailsTemplate: template, vulnerabilityInfo: vulnerabilities != nil
            ).render())
        return docs
    }
}
