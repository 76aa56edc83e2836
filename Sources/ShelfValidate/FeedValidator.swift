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
        public var severity: Severity
        public var location: String
        public var message: String
        public var description: String { "\(severity.rawValue): \(location): \(message)" }
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

    public init(target: String, baseURL: String? = nil, concurrency: Int = 8) {
        self.target = target
        self.baseURL = baseURL
        self.concurrency = concurrency
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

    /// The folder a URL maps to (folder mode), found once from the resource URLs.
    final class Mapping: @unchecked Sendable {
        var base: String = ""
        /// Over HTTP with `--base-url`: the server the feed is fetched from, in place of `base`.
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
            var request = URLRequest(url: u)
            request.setValue("gzip", forHTTPHeaderField: "Accept-Encoding")
            if headOnly { request.httpMethod = "HEAD" }
            do {
                let (data, response) = try await URLSession.shared.data(for: request)
                let http = response as? HTTPURLResponse
                let code = http?.statusCode ?? 0
                if code == 404 { throw FetchError.missing }
                // Some servers refuse HEAD where they allow GET (an object store whose policy
                // grants only GetObject to anonymous readers): ask for the first byte instead.
                if headOnly && [403, 405, 501].contains(code) {
                    request.httpMethod = "GET"
                    request.setValue("bytes=0-0", forHTTPHeaderField: "Range")
                    let (_, retry) = try await URLSession.shared.data(for: request)
                    let retryCode = (retry as? HTTPURLResponse)?.statusCode ?? 0
                    if retryCode == 404 { throw FetchError.missing }
                    guard (200..<300).contains(retryCode) else { throw FetchError.status(retryCode) }
                    return Fetched(bytes: Data(), contentEncoding: nil)
                }
                guard (200..<300).contains(code) else { throw FetchError.status(code) }
                return Fetched(bytes: data, contentEncoding: http?.value(forHTTPHeaderField: "Content-Encoding"))
            } catch let e as FetchError {
                throw e
            } catch {
                throw .other(error.localizedDescription)
            }
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
        let mapping = Mapping()
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
            guard FileManager.default.fileExists(atPath: target + "/index.json") else {
                await collector.add(
                    Problem(severity: .error, location: target, message: "no index.json in this folder"))
                return await collector.report
            }
            let data = FileManager.default.contents(atPath: target + "/index.json") ?? Data()
            guard let base = baseURL ?? Self.inferBase(serviceIndex: data, folder: target) else {
                await collector.add(
                    Problem(
                        severity: .error, location: target,
                        message: "the folder has no flat container folder where index.json's PackageBaseAddress "
                            + "points; give --base-url if the feed is laid out differently"))
                return await collector.report
            }
            mapping.base = base.hasSuffix("/") || base.isEmpty ? base : base + "/"
            indexURL = mapping.base + "index.json"
        }
        guard let index = await json(indexURL, "service index", mapping, collector) as? [String: Any],
            let resources = index["resources"] as? [[String: Any]]
        else {
            await collector.add(Problem(severity: .error, location: indexURL, message: "no readable service index"))
            return await collector.report
        }
        var types: [String: String] = [:]
        for r in resources {
            if let t = r["@type"] as? String, let id = r["@id"] as? String, types[t] == nil { types[t] = id }
        }
        guard var flat = types["PackageBaseAddress/3.0.0"] else {
            await collector.add(
                Problem(severity: .error, location: "index.json", message: "no PackageBaseAddress/3.0.0"))
            return await collector.report
        }
        if !flat.hasSuffix("/") { flat += "/" }
        // The hive a SemVer 1.0.0 client reads, and the one that may hold SemVer 2.0.0 versions.
        let semver1 = ["RegistrationsBaseUrl", "RegistrationsBaseUrl/3.0.0-rc", "RegistrationsBaseUrl/3.0.0-beta"]
            .compactMap { types[$0] }.first
        let semver2 = ["RegistrationsBaseUrl/3.6.0", "RegistrationsBaseUrl/Versioned"].compactMap { types[$0] }.first
        if semver1 == nil && semver2 == nil {
            await collector.add(
                Problem(
                    severity: .warning, location: "index.json",
                    message: "no RegistrationsBaseUrl: clients get no metadata"))
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
                await collector.add(
                    Problem(severity: .error, location: flat, message: "the flat container folder is missing"))
                return await collector.report
            }
            ids = flatIds.union(folders(semver1) ?? []).union(folders(semver2) ?? []).sorted()
        }
        await collector.count(ids: ids.count)

        let flatURL = flat
        let allIds = ids
        await withTaskGroup(of: Void.self) { group in
            // At most `concurrency` ids at once: past the first ones, each new one waits for one to finish.
            for (n, id) in allIds.enumerated() {
                if n >= concurrency { _ = await group.next() }
                group.addTask {
                    await self.checkId(id, flat: flatURL, semver1: semver1, semver2: semver2, mapping, collector)
                }
            }
        }
        var report = await collector.report
        report.problems.sort { ($0.location, $0.message) < ($1.location, $1.message) }
        return report
    }

    /// Fetches and parses a JSON document, reporting what is wrong with it.
    func json(_ url: String, _ what: String, _ mapping: Mapping, _ collector: Collector, mayBeMissing: Bool = false)
        async -> Any?
    {
        let fetched: Fetched
        do {
            fetched = try await fetch(url, mapping: mapping)
        } catch .missing where mayBeMissing {
            return nil
        } catch {
            await collector.add(Problem(severity: .error, location: url, message: "\(what) cannot be read (\(error))"))
            return nil
        }
        await collector.count(documents: 1)
        if fetched.bytes.starts(with: [0x1F, 0x8B]) {
            if isHTTP {
                await collector.add(
                    Problem(
                        severity: .error, location: url,
                        message: "\(what) is gzip bytes served without Content-Encoding: gzip; the NuGet client cannot "
                            + "read it: set Content-Encoding: gzip for it on the server"))
            } else {
                await collector.add(
                    Problem(
                        severity: .warning, location: url,
                        message: "\(what) is stored gzip-compressed: it works only when served with Content-Encoding: "
                            + "gzip, never as a local folder (validate the URL to check the server)"))
            }
            return nil
        }
        guard let value = try? JSONSerialization.jsonObject(with: fetched.bytes) else {
            await collector.add(Problem(severity: .error, location: url, message: "\(what) is not valid JSON"))
            return nil
        }
        return value
    }

    func remoteIds(_ types: [String: String], _ mapping: Mapping, _ collector: Collector) async -> [String] {
        if let auto = types["SearchAutocompleteService"] ?? types["SearchAutocompleteService/3.5.0"],
            let doc = await json(
                auto + "?take=1000&prerelease=true&semVerLevel=2.0.0", "autocomplete", mapping, collector)
                as? [String: Any], let data = doc["data"] as? [String]
        {
            return Array(Set(data.map { $0.lowercased() })).sorted()
        }
        if let search = types["SearchQueryService"] ?? types["SearchQueryService/3.5.0"],
            let doc = await json(search + "?take=1000&prerelease=true&semVerLevel=2.0.0", "search", mapping, collector)
                as? [String: Any], let data = doc["data"] as? [[String: Any]]
        {
            return Array(Set(data.compactMap { ($0["id"] as? String)?.lowercased() })).sorted()
        }
        await collector.add(
            Problem(
                severity: .warning, location: "index.json",
                message: "no search or autocomplete to list the ids from; only the service index was checked"))
        return []
    }

    func checkId(
        _ id: String, flat: String, semver1: String?, semver2: String?, _ mapping: Mapping, _ collector: Collector
    ) async {
        let where_ = "id \(id)"
        if id != id.lowercased() {
            await collector.add(
                Problem(severity: .error, location: where_, message: "flat container folder is not lowercase"))
        }
        guard
            let index = await json(flat + id + "/index.json", "flat container index", mapping, collector)
                as? [String: Any]
        else { return }
        let versions = (index["versions"] as? [String]) ?? []
        if versions.isEmpty {
            await collector.add(
                Problem(severity: .error, location: where_, message: "flat container index lists no versions"))
        }
        await collector.count(versions: versions.count)
        var semver2Versions = Set<String>()
        for v in versions {
            let at = "\(id) \(v)"
            guard let parsed = NuGetVersion(v), parsed.normalizedString.lowercased() == v else {
                await collector.add(
                    Problem(
                        severity: .error, location: at, message: "flat container version is not normalized lowercase"))
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
                await collector.add(
                    Problem(severity: .error, location: at, message: "package cannot be read (\(error))"))
            }
            do {
                let hash = try await fetch(folder + "\(id).\(v).nupkg.sha512", mapping: mapping)
                let text = String(decoding: hash.bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if let digest, text != digest {
                    await collector.add(
                        Problem(
                            severity: .error, location: at,
                            message: ".nupkg.sha512 does not match the package's SHA-512"))
                }
            } catch FetchError.missing {
                if !isHTTP {
                    await collector.add(
                        Problem(
                            severity: .error, location: at,
                            message: "no .nupkg.sha512: a local-folder client does not see this version"))
                }
            } catch {
                await collector.add(
                    Problem(severity: .error, location: at, message: ".nupkg.sha512 cannot be read (\(error))"))
            }
            do {
                let nuspec = try await fetch(folder + "\(id).nuspec", mapping: mapping)
                let parsed = try Nuspec(data: nuspec.bytes)
                if parsed.id.lowercased() != id || parsed.version.normalizedString.lowercased() != v {
                    await collector.add(
                        Problem(
                            severity: .error, location: at,
                            message:
                                "the nuspec names \(parsed.id) \(parsed.version.normalizedString), not this version"))
                }
                if parsed.isSemVer2 { semver2Versions.insert(v) }
            } catch let e as FetchError {
                await collector.add(Problem(severity: .error, location: at, message: "nuspec cannot be read (\(e))"))
            } catch {
                await collector.add(Problem(severity: .error, location: at, message: "nuspec is invalid (\(error))"))
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
                Problem(
                    severity: .warning, location: id,
                    message: "the feed serves SemVer 2.0.0 versions in its only registration hive, which SemVer "
                        + "1.0.0 clients also read"))
        }
        for (hive, wanted, name) in hives {
            guard let hive else { continue }
            // An id with only SemVer 2.0.0 versions has no document in the SemVer 1.0.0 hive.
            let listed = await registrationVersions(hive, id, name, mapping, collector, mayBeMissing: wanted.isEmpty)
            guard let listed else { continue }
            for v in listed.subtracting(all).sorted() {
                await collector.add(
                    Problem(
                        severity: .error, location: "\(id) \(v)",
                        message: "in the \(name) but not in the flat container"))
            }
            for v in wanted.subtracting(listed).sorted() {
                await collector.add(
                    Problem(
                        severity: .error, location: "\(id) \(v)",
                        message: "in the flat container but not in the \(name)"))
            }
            if hive == semver1 && !oneHive {
                for v in listed.intersection(semver2Versions).sorted() {
                    await collector.add(
                        Problem(
                            severity: .error, location: "\(id) \(v)",
                            message:
                                "a SemVer 2.0.0 version in the SemVer 1.0.0 registration hive; older clients fail on it"
                        ))
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
            let index = await json(
                base + id + "/index.json", "\(name) index", mapping, collector, mayBeMissing: mayBeMissing)
                as? [String: Any]
        else { return nil }
        var out = Set<String>()
        for page in (index["items"] as? [[String: Any]]) ?? [] {
            var items = page["items"] as? [[String: Any]]
            if items == nil, let url = page["@id"] as? String {
                items =
                    (await json(url, "\(name) page", mapping, collector) as? [String: Any])?["items"]
                    as? [[String: Any]]
            }
            for leaf in items ?? [] {
                guard let entry = leaf["catalogEntry"] as? [String: Any], let version = entry["version"] as? String,
                    let parsed = NuGetVersion(version)
                else {
                    await collector.add(
                        Problem(severity: .error, location: "\(id)", message: "\(name) item without a version"))
                    continue
                }
                let v = parsed.normalizedString.lowercased()
                out.insert(v)
                if let content = leaf["packageContent"] as? String {
                    do {
                        _ = try await fetch(content, mapping: mapping, headOnly: true)
                    } catch {
                        await collector.add(
                            Problem(
                                severity: .error, location: "\(id) \(v)",
                                message: "\(name) packageContent \(content): \(error)"))
                    }
                }
                if let leafURL = leaf["@id"] as? String, leafURL.hasPrefix("http") {
                    do {
                        _ = try await fetch(leafURL, mapping: mapping, headOnly: true)
                    } catch {
                        await collector.add(
                            Problem(
                                severity: .error, location: "\(id) \(v)", message: "\(name) leaf \(leafURL): \(error)"))
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
        guard let doc = try? JSONSerialization.jsonObject(with: serviceIndex) as? [String: Any],
            let resources = doc["resources"] as? [[String: Any]],
            let flat = resources.first(where: { ($0["@type"] as? String) == "PackageBaseAddress/3.0.0" })?["@id"]
                as? String, let url = URL(string: flat), let host = url.host
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
