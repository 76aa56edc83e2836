import Crypto
import Foundation
import NuGetCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Checks any NuGet V3 feed the way a client reads it, from a folder or over HTTP: the service
/// index, every id's flat container index, package, `.sha512` and nuspec, both registration
/// hives (pages and leaves), that SemVer 2.0.0 versions appear only in the hive that may hold
/// them, that every link resolves, that compressed documents are served with
/// `Content-Encoding: gzip`, and (for a folder) that the local-folder layout is complete.
public struct FeedValidator: Sendable {
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        public enum Severity: String, Sendable { case error, warning }

        /// What is wrong, for a test or a tool to match.
        public enum Kind: String, Sendable, Hashable {
            case noServiceIndex, noPackageBaseAddress, noRegistration, unknownLayout, flatContainerMissing
            case documentUnreadable, notJSON, gzipWithoutEncoding, storedGzip
            case folderNotLowercase, noVersions, versionNotNormalized
            case packageUnreadable, hashMismatch, hashMissing, hashUnreadable
            case nuspecUnreadable, nuspecInvalid, nuspecMismatch
            case onlyInRegistration, onlyInFlatContainer, semVer2InSemVer1Hive, semVer2InOnlyHive
            case itemWithoutVersion, brokenPackageContent, brokenLeaf, noIdList
            case symbolMissing, symbolMismatch
        }

        public var severity: Severity
        public var kind: Kind
        public var location: String
        public var message: String
        public var description: String { "\(severity.rawValue): \(location): \(message)" }

        static func error(_ kind: Kind, _ location: String, _ message: String) -> Problem {
            Problem(severity: .error, kind: kind, location: location, message: message)
        }

        static func warning(_ kind: Kind, _ location: String, _ message: String) -> Problem {
            Problem(severity: .warning, kind: kind, location: location, message: message)
        }
    }

    public struct Report: Sendable {
        public var problems: [Problem] = []
        public var ids = 0
        public var versions = 0
        public var packagesHashed = 0
        public var documents = 0
        public var errors: Int { problems.filter { $0.severity == .error }.count }
        public var warnings: Int { problems.filter { $0.severity == .warning }.count }
    }

    /// Where the feed is: a folder holding `index.json`, or the URL of a service index.
    public let target: String
    /// For a folder: the URL its documents name (found from the folder when nil).
    public let baseURL: String?
    public let concurrency: Int
    /// How HTTP requests are sent (URLSession; a test's own).
    let transport: any HTTPTransport

    public init(target: String, baseURL: String? = nil, concurrency: Int = 8) {
        self.init(target: target, baseURL: baseURL, concurrency: concurrency, transport: URLSessionTransport())
    }

    init(target: String, baseURL: String?, concurrency: Int, transport: any HTTPTransport) {
        self.target = target
        self.baseURL = baseURL
        self.concurrency = concurrency
        self.transport = transport
    }

    var isHTTP: Bool { target.hasPrefix("http://") || target.hasPrefix("https://") }

    // MARK: Fetching

    struct Fetched: Sendable {
        var bytes: Data
        var contentEncoding: String?
    }

    enum FetchError: Error, CustomStringConvertible {
        case missing
        case status(Int)
        case other(String)
        var description: String {
            switch self {
            case .missing: return "not found"
            case .status(let code): return "HTTP \(code)"
            case .other(let why): return why
            }
        }
    }

    /// Where URLs lead: the folder a URL maps to (folder mode), and over HTTP with `--base-url`
    /// the server the feed is fetched from in place of the base it names.
    struct Mapping: Sendable {
        var base: String = ""
        var server: String?
    }

    /// Reads a document; with `headOnly`, only checks that it is there (HEAD over HTTP, no read
    /// from a folder), for link checks of files already hashed elsewhere.
    func fetch(_ url: String, mapping: Mapping, headOnly: Bool = false) async throws(FetchError) -> Fetched {
        if isHTTP {
            var url = url
            if let server = mapping.server, url.hasPrefix(mapping.base) {
                url = server + url.dropFirst(mapping.base.count)
            }
            guard let u = URL(string: url) else { throw .other("not a valid URL") }
            let response = try await send(headOnly ? "HEAD" : "GET", u)
            if response.status == 404 { throw .missing }
            // Some servers refuse HEAD where they allow GET (an object store whose policy
            // grants only GetObject to anonymous readers): ask for the first byte instead.
            if headOnly && [403, 405, 501].contains(response.status) {
                let retry = try await send("GET", u, range: "bytes=0-0")
                if retry.status == 404 { throw .missing }
                guard (200..<300).contains(retry.status) else { throw .status(retry.status) }
                return Fetched(bytes: Data(), contentEncoding: nil)
            }
            guard (200..<300).contains(response.status) else { throw .status(response.status) }
            return Fetched(bytes: response.body, contentEncoding: response.contentEncoding)
        }
        guard url.hasPrefix(mapping.base) else { throw .other("outside the feed's base URL \(mapping.base)") }
        var relative = String(url.dropFirst(mapping.base.count))
        relative = relative.removingPercentEncoding ?? relative
        if let q = relative.firstIndex(of: "?") { relative = String(relative[..<q]) }
        guard !relative.split(separator: "/").contains("..") else { throw .other("climbs out of the folder") }
        let path = target + "/" + relative
        if headOnly {
            guard access(path, R_OK) == 0 else { throw .missing }
            return Fetched(bytes: Data(), contentEncoding: nil)
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw .missing }
        return Fetched(bytes: data, contentEncoding: nil)
    }

    private func send(_ method: String, _ url: URL, range: String? = nil) async throws(FetchError) -> HTTPResponse {
        do {
            return try await transport.send(method: method, url: url, range: range)
        } catch {
            throw .other(error.localizedDescription)
        }
    }

    // MARK: Checking

    /// Collects problems from concurrent checks.
    actor Collector {
        var report = Report()
        func add(_ p: Problem) { report.problems.append(p) }
        func count(ids: Int = 0, versions: Int = 0, hashed: Int = 0, documents: Int = 0) {
            report.ids += ids
            report.versions += versions
            report.packagesHashed += hashed
            report.documents += documents
        }
    }

    public func run() async -> Report {
        let collector = Collector()
        var mapping = Mapping()
        let indexURL: String
        if isHTTP {
            indexURL = target
            if let baseURL {
                // The feed names another base URL (a staging copy, a test server): fetch from here.
                mapping.base = baseURL.hasSuffix("/") ? baseURL : baseURL + "/"
                mapping.server = String(
                    target[..<(target.range(of: "/", options: .backwards)?.upperBound ?? target.endIndex)])
            }
        } else {
            guard let data = FileManager.default.contents(atPath: target + "/index.json") else {
                await collector.add(.error(.noServiceIndex, target, "no index.json in this folder"))
                return await collector.report
            }
            guard let base = baseURL ?? Self.inferBase(serviceIndex: data, folder: target) else {
                await collector.add(
                    .error(
                        .unknownLayout, target,
                        "the folder has no flat container folder where index.json's PackageBaseAddress "
                            + "points; give --base-url if the feed is laid out differently"))
                return await collector.report
            }
            mapping.base = base.hasSuffix("/") || base.isEmpty ? base : base + "/"
            indexURL = mapping.base + "index.json"
        }
        guard
            let index = await document(
                indexURL, "service index", as: FeedDocuments.ServiceIndex.self, mapping, collector)
        else {
            await collector.add(.error(.noServiceIndex, indexURL, "no readable service index"))
            return await collector.report
        }
        let types = index.byType
        guard var flat = types["PackageBaseAddress/3.0.0"] else {
            await collector.add(.error(.noPackageBaseAddress, "index.json", "no PackageBaseAddress/3.0.0"))
            return await collector.report
        }
        if !flat.hasSuffix("/") { flat += "/" }
        // The hive a SemVer 1.0.0 client reads, and the one that may hold SemVer 2.0.0 versions.
        let semver1 = ["RegistrationsBaseUrl", "RegistrationsBaseUrl/3.0.0-rc", "RegistrationsBaseUrl/3.0.0-beta"]
            .compactMap { types[$0] }.first
        let semver2 = ["RegistrationsBaseUrl/3.6.0", "RegistrationsBaseUrl/Versioned"].compactMap { types[$0] }.first
        if semver1 == nil && semver2 == nil {
            await collector.add(
                .warning(.noRegistration, "index.json", "no RegistrationsBaseUrl: clients get no metadata"))
        }

        // Which ids: the flat container folder, or (over HTTP) autocomplete or search.
        var ids: [String] = []
        if isHTTP {
            ids = await remoteIds(types, mapping, collector)
        } else {
            // Every id folder of the flat container and of the registration hives: an id that
            // has a registration but no flat container folder is a broken link, not a blind spot.
            func folders(_ url: String?) -> Set<String>? {
                guard let url, let rel = Self.relativePath(url, base: mapping.base) else { return nil }
                let folder = target + "/" + rel
                guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return nil }
                return Set(
                    names.filter {
                        var isDir: ObjCBool = false
                        return !$0.hasPrefix(".")
                            && FileManager.default.fileExists(atPath: folder + "/" + $0, isDirectory: &isDir)
                            && isDir.boolValue
                    })
            }
            guard let flatIds = folders(flat) else {
                await collector.add(.error(.flatContainerMissing, flat, "the flat container folder is missing"))
                return await collector.report
            }
            ids = flatIds.union(folders(semver1) ?? []).union(folders(semver2) ?? []).sorted()
        }
        await collector.count(ids: ids.count)

        let flatURL = flat
        let allIds = ids
        let fixedMapping = mapping
        await withTaskGroup(of: Void.self) { group in
            // At most `concurrency` ids at once: past the first ones, each new one waits for one to finish.
            for (n, id) in allIds.enumerated() {
                if n >= concurrency { _ = await group.next() }
                group.addTask {
                    await self.checkId(id, flat: flatURL, semver1: semver1, semver2: semver2, fixedMapping, collector)
                }
            }
        }
        if !isHTTP, let rel = Self.relativePath(flatURL, base: mapping.base) {
            await checkSymbols(flat: target + "/" + rel, ids: allIds, collector)
        }
        var report = await collector.report
        report.problems.sort { ($0.location, $0.message) < ($1.location, $1.message) }
        return report
    }

    /// A symbol package fetched over HTTP: each of its PDBs at `symbols/{key}` beside the
    /// service index, with its bytes.
    func checkRemoteSymbols(_ bytes: Data, at: String, mapping: Mapping, _ collector: Collector) async {
        let scratch = NSTemporaryDirectory() + "/shelf-validate-\(UUID().uuidString).snupkg"
        defer { unlink(scratch) }
        guard FileManager.default.createFile(atPath: scratch, contents: bytes) else {
            await collector.add(.error(.symbolMismatch, at, "its .snupkg cannot be read"))
            return
        }
        let store =
            String(target[..<(target.range(of: "/", options: .backwards)?.upperBound ?? target.endIndex)])
            + "symbols/"
        await checkSymbolPackage(scratch, at: at, collector) { key in
            try? await self.fetch(store + key, mapping: mapping).bytes
        }
    }

    /// Each PDB of the symbol package at `path` is in the store (`served` gives a key's bytes)
    /// with its bytes.
    func checkSymbolPackage(
        _ path: String, at: String, _ collector: Collector, served: (String) async -> Data?
    ) async {
        guard let symbols = try? PackageArchive.read(path: path) else {
            await collector.add(.error(.symbolMismatch, at, "its .snupkg cannot be read"))
            return
        }
        for entry in symbols.entries where entry.fullName.lowercased().hasSuffix(".pdb") {
            guard
                let pdb = try? PackageArchive.extractEntry(
                    entry.fullName, fromPackageAt: path, limit: SymbolPackage.maxEntry),
                let pdbId = PortablePdb.id([UInt8](pdb))
            else {
                await collector.add(.error(.symbolMismatch, at, "\(entry.fullName) is not a portable PDB"))
                continue
            }
            let key = SymbolKey.portablePdb(fileName: SymbolKey.fileName(ofEntry: entry.fullName), id: pdbId)
            guard let bytes = await served(key) else {
                await collector.add(.error(.symbolMissing, at, "symbols/\(key) (\(entry.fullName)) is missing"))
                continue
            }
            if bytes != pdb {
                await collector.add(
                    .error(.symbolMismatch, at, "symbols/\(key) is not \(entry.fullName) of its .snupkg"))
            }
        }
    }

    /// The symbol store of a folder: every PDB of every `.snupkg` in the flat container is at
    /// `symbols/{key}` with its bytes, and every file there is a portable PDB under its own key.
    /// (Over HTTP the store cannot be listed: each version's `.snupkg` is checked instead.)
    func checkSymbols(flat: String, ids: [String], _ collector: Collector) async {
        let store = target + "/symbols"
        for id in ids {
            let idFolder = flat + "/" + id
            for version in (try? FileManager.default.contentsOfDirectory(atPath: idFolder)) ?? [] {
                let snupkg = "\(idFolder)/\(version)/\(id).\(version).snupkg"
                guard FileManager.default.fileExists(atPath: snupkg) else { continue }
                await checkSymbolPackage(snupkg, at: "\(id) \(version)", collector) { key in
                    FileManager.default.contents(atPath: store + "/" + key)
                }
            }
        }
        // Every file of the store under its own key.
        guard let walker = FileManager.default.enumerator(atPath: store) else { return }
        while let rel = walker.nextObject() as? String {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: store + "/" + rel, isDirectory: &isDir), !isDir.boolValue
            else { continue }
            let parts = rel.split(separator: "/").map(String.init)
            guard parts.count == 3, let data = FileManager.default.contents(atPath: store + "/" + rel),
                let pdbId = PortablePdb.id([UInt8](data)),
                SymbolKey.portablePdb(fileName: parts[2], id: pdbId) == rel
            else {
                await collector.add(.error(.symbolMismatch, "symbols/" + rel, "not a portable PDB under its own key"))
                continue
            }
        }
    }

    /// Fetches and decodes a document, reporting what is wrong with it.
    func document<T: Decodable>(
        _ url: String, _ what: String, as type: T.Type, _ mapping: Mapping, _ collector: Collector,
        mayBeMissing: Bool = false
    ) async -> T? {
        let fetched: Fetched
        do {
            fetched = try await fetch(url, mapping: mapping)
        } catch .missing where mayBeMissing {
            return nil
        } catch {
            await collector.add(.error(.documentUnreadable, url, "\(what) cannot be read (\(error))"))
            return nil
        }
        await collector.count(documents: 1)
        if fetched.bytes.starts(with: [0x1F, 0x8B]) {
            if isHTTP {
                await collector.add(
                    .error(
                        .gzipWithoutEncoding, url,
                        "\(what) is gzip bytes served without Content-Encoding: gzip; the NuGet client cannot "
                            + "read it: set Content-Encoding: gzip for it on the server"))
            } else {
                await collector.add(
                    .warning(
                        .storedGzip, url,
                        "\(what) is stored gzip-compressed: it works only when served with Content-Encoding: "
                            + "gzip, never as a local folder (validate the URL to check the server)"))
            }
            return nil
        }
        guard let value = try? JSONDecoder().decode(T.self, from: fetched.bytes) else {
            await collector.add(.error(.notJSON, url, "\(what) is not valid JSON"))
            return nil
        }
        return value
    }

    func remoteIds(_ types: [String: String], _ mapping: Mapping, _ collector: Collector) async -> [String] {
        let query = "?take=1000&prerelease=true&semVerLevel=2.0.0"
        if let auto = types["SearchAutocompleteService"] ?? types["SearchAutocompleteService/3.5.0"],
            let doc = await document(
                auto + query, "autocomplete", as: FeedDocuments.Autocomplete.self, mapping, collector)
        {
            return Array(Set(doc.data.map { $0.lowercased() })).sorted()
        }
        if let search = types["SearchQueryService"] ?? types["SearchQueryService/3.5.0"],
            let doc = await document(search + query, "search", as: FeedDocuments.Search.self, mapping, collector)
        {
            return Array(Set(doc.data.compactMap { $0.id?.lowercased() })).sorted()
        }
        await collector.add(
            .warning(
                .noIdList, "index.json",
                "no search or autocomplete to list the ids from; only the service index was checked"))
        return []
    }

    func checkId(
        _ id: String, flat: String, semver1: String?, semver2: String?, _ mapping: Mapping, _ collector: Collector
    ) async {
        let where_ = "id \(id)"
        if id != id.lowercased() {
            await collector.add(.error(.folderNotLowercase, where_, "flat container folder is not lowercase"))
        }
        guard
            let index = await document(
                flat + id + "/index.json", "flat container index", as: FeedDocuments.FlatContainerIndex.self, mapping,
                collector)
        else { return }
        let versions = index.versions
        if versions.isEmpty {
            await collector.add(.error(.noVersions, where_, "flat container index lists no versions"))
        }
        await collector.count(versions: versions.count)
        var semver2Versions = Set<String>()
        for v in versions {
            let at = "\(id) \(v)"
            guard let parsed = NuGetVersion(v), parsed.normalizedString.lowercased() == v else {
                await collector.add(
                    .error(.versionNotNormalized, at, "flat container version is not normalized lowercase"))
                continue
            }
            let folder = flat + id + "/" + v + "/"
            // The package, and its hash.
            var digest: String?
            do {
                let package = try await fetch(folder + "\(id).\(v).nupkg", mapping: mapping)
                digest = Data(SHA512.hash(data: package.bytes)).base64EncodedString()
                await collector.count(hashed: 1)
            } catch {
                await collector.add(.error(.packageUnreadable, at, "package cannot be read (\(error))"))
            }
            do {
                let hash = try await fetch(folder + "\(id).\(v).nupkg.sha512", mapping: mapping)
                let text = String(decoding: hash.bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if let digest, text != digest {
                    await collector.add(.error(.hashMismatch, at, ".nupkg.sha512 does not match the package's SHA-512"))
                }
            } catch .missing {
                if !isHTTP {
                    await collector.add(
                        .error(.hashMissing, at, "no .nupkg.sha512: a local-folder client does not see this version"))
                }
            } catch {
                await collector.add(.error(.hashUnreadable, at, ".nupkg.sha512 cannot be read (\(error))"))
            }
            // Over HTTP, a version's symbol package, if it has one: its PDBs in the store.
            // (A folder's store is checked whole, after the ids: `checkSymbols`.)
            if isHTTP, let symbols = try? await fetch(folder + "\(id).\(v).snupkg", mapping: mapping) {
                await checkRemoteSymbols(symbols.bytes, at: at, mapping: mapping, collector)
            }
            do {
                let nuspec = try await fetch(folder + "\(id).nuspec", mapping: mapping)
                do {
                    let parsed = try Nuspec(data: nuspec.bytes)
                    if parsed.id.lowercased() != id || parsed.version.normalizedString.lowercased() != v {
                        await collector.add(
                            .error(
                                .nuspecMismatch, at,
                                "the nuspec names \(parsed.id) \(parsed.version.normalizedString), not this version"))
                    }
                    if parsed.isSemVer2 { semver2Versions.insert(v) }
                } catch {
                    await collector.add(.error(.nuspecInvalid, at, "nuspec is invalid (\(error))"))
                }
            } catch {
                await collector.add(.error(.nuspecUnreadable, at, "nuspec cannot be read (\(error))"))
            }
        }

        // Registration hives: the SemVer 2.0.0 one lists every version, the other all but SemVer 2.0.0 ones.
        let all = Set(versions)
        // One hive for both (BaGet, Sleet): checked once, and SemVer 2.0.0 there is only a warning.
        let oneHive = semver1 != nil && semver1 == semver2
        let hives: [(String?, Set<String>, String)] = [
            (semver2, all, "SemVer 2.0.0 registration"),
            (oneHive ? nil : semver1, all.subtracting(semver2Versions), "registration"),
        ]
        if oneHive, !semver2Versions.isEmpty {
            await collector.add(
                .warning(
                    .semVer2InOnlyHive, id,
                    "the feed serves SemVer 2.0.0 versions in its only registration hive, which SemVer "
                        + "1.0.0 clients also read"))
        }
        for (hive, wanted, name) in hives {
            guard let hive else { continue }
            // An id with only SemVer 2.0.0 versions has no document in the SemVer 1.0.0 hive.
            let listed = await registrationVersions(hive, id, name, mapping, collector, mayBeMissing: wanted.isEmpty)
            guard let listed else { continue }
            for v in listed.subtracting(all).sorted() {
                await collector.add(
                    .error(.onlyInRegistration, "\(id) \(v)", "in the \(name) but not in the flat container"))
            }
            for v in wanted.subtracting(listed).sorted() {
                await collector.add(
                    .error(.onlyInFlatContainer, "\(id) \(v)", "in the flat container but not in the \(name)"))
            }
            if hive == semver1 && !oneHive {
                for v in listed.intersection(semver2Versions).sorted() {
                    await collector.add(
                        .error(
                            .semVer2InSemVer1Hive, "\(id) \(v)",
                            "a SemVer 2.0.0 version in the SemVer 1.0.0 registration hive; older clients fail on it"))
                }
            }
        }
    }

    /// Every version an id's registration lists (pages fetched when not inlined), checking each
    /// leaf link and `packageContent` link. Nil when the index cannot be read.
    func registrationVersions(
        _ hive: String, _ id: String, _ name: String, _ mapping: Mapping, _ collector: Collector, mayBeMissing: Bool
    ) async -> Set<String>? {
        let base = hive.hasSuffix("/") ? hive : hive + "/"
        guard
            let index = await document(
                base + id + "/index.json", "\(name) index", as: FeedDocuments.RegistrationIndex.self, mapping,
                collector, mayBeMissing: mayBeMissing)
        else { return nil }
        var out = Set<String>()
        for page in index.items {
            var items = page.items
            if items == nil, let url = page.id {
                items =
                    await document(
                        url, "\(name) page", as: FeedDocuments.RegistrationIndex.Page.self, mapping, collector)?
                    .items
            }
            for leaf in items ?? [] {
                guard let version = leaf.version, let parsed = NuGetVersion(version) else {
                    await collector.add(.error(.itemWithoutVersion, "\(id)", "\(name) item without a version"))
                    continue
                }
                let v = parsed.normalizedString.lowercased()
                out.insert(v)
                if let content = leaf.packageContent {
                    do {
                        _ = try await fetch(content, mapping: mapping, headOnly: true)
                    } catch {
                        await collector.add(
                            .error(.brokenPackageContent, "\(id) \(v)", "\(name) packageContent \(content): \(error)"))
                    }
                }
                if let leafURL = leaf.id, leafURL.hasPrefix("http") {
                    do {
                        _ = try await fetch(leafURL, mapping: mapping, headOnly: true)
                    } catch {
                        await collector.add(.error(.brokenLeaf, "\(id) \(v)", "\(name) leaf \(leafURL): \(error)"))
                    }
                }
            }
        }
        return out
    }

    // MARK: Folder mapping

    /// The base URL a folder's documents use: the shortest tail of the flat container's URL path
    /// that exists as a folder there tells where the folder sits in the URL space.
    static func inferBase(serviceIndex: Data, folder: String) -> String? {
        guard let index = try? JSONDecoder().decode(FeedDocuments.ServiceIndex.self, from: serviceIndex),
            let flat = index.byType["PackageBaseAddress/3.0.0"], let url = URL(string: flat), let host = url.host
        else { return nil }
        let segments = url.path.split(separator: "/").map(String.init)
        for start in stride(from: segments.count - 1, through: 0, by: -1) {
            let tail = segments[start...].joined(separator: "/")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder + "/" + tail, isDirectory: &isDir), isDir.boolValue {
                let prefix = segments[..<start].joined(separator: "/")
                let port = url.port.map { ":\($0)" } ?? ""
                return "\(url.scheme ?? "https")://\(host)\(port)/" + (prefix.isEmpty ? "" : prefix + "/")
            }
        }
        return nil
    }

    static func relativePath(_ url: String, base: String) -> String? {
        guard url.hasPrefix(base) else { return nil }
        var rel = String(url.dropFirst(base.count))
        while rel.hasSuffix("/") { rel.removeLast() }
        return rel
    }
}

/// A response, as far as the validator looks at it.
struct HTTPResponse: Sendable {
    var status: Int
    var contentEncoding: String?
    var body: Data
}

/// How the validator sends a request over HTTP.
protocol HTTPTransport: Sendable {
    /// `range`: a `Range` header (`bytes=0-0`). Asks for gzip: a feed may serve documents
    /// compressed, as clients accept them.
    func send(method: String, url: URL, range: String?) async throws -> HTTPResponse
}

/// URLSession, as the validator uses it on a real feed.
struct URLSessionTransport: HTTPTransport {
    func send(method: String, url: URL, range: String?) async throws -> HTTPResponse {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue("gzip", forHTTPHeaderField: "Accept-Encoding")
        if let range { request.setValue(range, forHTTPHeaderField: "Range") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        return HTTPResponse(
            status: http?.statusCode ?? 0, contentEncoding: http?.value(forHTTPHeaderField: "Content-Encoding"),
            body: data)
    }
}
