import Foundation
import NuGetCore
import ShelfFeed

/// What the push endpoint changes, one change at a time: packages stored in the packages folder,
/// and `shelf.server.json` beside them (the owners of ids first pushed here, the versions
/// unlisted here), which every build reads with the policy.
actor Ledger {
    let settings: PushSettings
    let feedRoot: String

    init(settings: PushSettings, feedRoot: String) {
        self.settings = settings
        self.feedRoot = feedRoot
    }

    /// A package stored by a push.
    struct Stored: Sendable {
        var id: String
        var lowerId: String
        var lowerVersion: String
        var fileName: String
        /// Its path in the packages folder.
        var path: String
        /// Written before the package and removed once the client is answered: a push the
        /// server stored but never answered (it was stopped) is taken again when its bytes come
        /// again, so the client's retry succeeds.
        var marker: String
        /// This push made the key's owner the id's owner.
        var addedOwner: String?
    }

    enum StoreResult: Sendable {
        case stored(Stored)
        case refused(Int, String)
    }

    enum ListingResult: Sendable {
        case changed, unchanged
        case refused(Int, String)
    }

    var serverFilePath: String { settings.packages + "/" + FeedPolicy.serverFileName }

    /// Removes what a stopped server left of uploads.
    nonisolated static func removeStaleUploads(_ packages: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: packages)) ?? []
        where name.hasPrefix(".shelf-upload-") {
            unlink(packages + "/" + name)
        }
    }

    /// The versions the feed serves of an id (its flat container index).
    nonisolated func versions(of lowerId: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: feedRoot + "/" + FeedLayout.flatIndex(lowerId)),
            let versions = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["versions"] as? [String]
        else { return [] }
        return versions
    }

    /// Whether the feed serves a stored package: its version in the id's index (written after
    /// the package, so a build that stopped between the two does not count).
    nonisolated func served(_ s: Stored) -> Bool {
        versions(of: s.lowerId).contains(s.lowerVersion)
            && FileManager.default.fileExists(atPath: feedRoot + "/" + FeedLayout.nupkg(s.lowerId, s.lowerVersion))
    }

    nonisolated func answered(_ s: Stored) { unlink(s.marker) }

    /// The policy builds apply (the policy file and `shelf.server.json`).
    func policy() throws(PolicyError) -> (file: FeedPolicy?, all: FeedPolicy?) {
        let path =
            settings.policyPath
            ?? {
                let p = settings.packages + "/" + FeedPolicy.fileName
                return FileManager.default.fileExists(atPath: p) ? p : nil
            }()
        let file = try path.map { p throws(PolicyError) in try FeedPolicy.load(path: p) }
        guard FileManager.default.fileExists(atPath: serverFilePath) else { return (file, file) }
        let server = try FeedPolicy.loadServerFile(path: serverFilePath)
        return (file, file?.adding(server: server) ?? server)
    }

    static func owners(of id: String, _ policy: FeedPolicy?) -> [String] {
        var out: [String] = []
        for rule in policy?.owners ?? [] where rule.pattern.matches(id) {
            for o in rule.owners where !out.contains(where: { same($0, o) }) { out.append(o) }
        }
        return out
    }

    /// The most specific reservation of a prefix the id is in (as the build picks it).
    static func reservation(of id: String, _ policy: FeedPolicy?) -> FeedPolicy.PrefixReservation? {
        (policy?.reservedPrefixes ?? []).filter { $0.pattern.matches(id) }.max {
            $0.pattern.text.count < $1.pattern.text.count
        }
    }

    /// Names (owners, ids) compared as NuGet compares ids: `lowercased()`, exactly. Not
    /// `caseInsensitiveCompare`, which folds `ſ` to `s` and `ß` to `ss`: another id must never
    /// pass for one.
    static func same(_ a: String, _ b: String) -> Bool { a.lowercased() == b.lowercased() }

    /// Packages stored and not yet served or taken back (`lowerId/lowerVersion`): a second push
    /// of the same version (another file name: `Dup.Lib 1.0.0`, `dup.lib 1.0.0.0`) before the
    /// build is refused too.
    private var pending: Set<String> = []

    /// Stores a pushed package under its name (moving `temp` there), if this key's owner may push
    /// it.
    func store(_ temp: String, archive: PackageArchive, key: ApiKey) -> StoreResult {
        let id = archive.nuspec.id
        let version = archive.nuspec.version.normalizedString
        let lowerId = id.lowercased()
        let lowerVersion = version.lowercased()
        let fileName = "\(id).\(version).nupkg"
        var stored = Stored(
            id: id, lowerId: lowerId, lowerVersion: lowerVersion, fileName: fileName,
            path: settings.packages + "/" + fileName,
            marker: settings.packages + "/.shelf-pushed-\(lowerId).\(lowerVersion)",
            addedOwner: nil)
        let existing = versions(of: lowerId)
        // The version is there when the feed serves it, a push of it is on its way (another file
        // name: `Dup.Lib 1.0.0`, `dup.lib 1.0.0.0`), or a file has its name already.
        let inFolder = FileManager.default.fileExists(atPath: stored.path)
        if existing.contains(lowerVersion) || inFolder || pending.contains(lowerId + "/" + lowerVersion) {
            if (try? String(contentsOfFile: stored.marker, encoding: .utf8)) == archive.sha512 {
                return .stored(stored)
            }
            return .refused(
                409,
                "\(id) \(version) is already in the feed; a version is pushed once (push a new version, or unlist this one)"
            )
        }
        let policy: FeedFile
        switch feedPolicy() {
        case .success(let p): policy = p
        case .failure(let error): return .refused(500, "the feed's policy cannot be read: \(error)")
        }
        let owners = Self.owners(of: id, policy.all)
        let ownerListed = owners.contains { Self.same($0, key.owner) }
        let isNew = existing.isEmpty && !pending.contains { $0.hasPrefix(lowerId + "/") }
        if isNew && !key.allows(.push) {
            return .refused(
                403, "the API key \(key.id) pushes new versions of existing ids only, and \(id) is a new id")
        }
        if isNew && !ownerListed {
            // nuget.org: a new id in a reserved prefix is its owner's to push.
            if let reserved = Self.reservation(of: id, policy.all), !Self.same(key.owner, reserved.owner) {
                return .refused(
                    403,
                    "\(id) is in the ID prefix \(reserved.pattern) reserved for \(reserved.owner); only a key of "
                        + "\(reserved.owner) pushes it")
            }
            if !owners.isEmpty {
                return .refused(
                    403, "\(id) belongs to \(owners.joined(separator: ", ")); a key of one of its owners pushes it")
            }
        } else if !ownerListed {
            return .refused(
                403,
                owners.isEmpty
                    ? "\(id) has no owner on this feed; add its owners to \(FeedPolicy.fileName) (owners) to push to it"
                    : "\(id) belongs to \(owners.joined(separator: ", ")); a key of one of its owners pushes new versions"
            )
        }
        // The owner first (a stop between the two leaves a claimed id, never an unowned package),
        // then the retry marker, then the package under its name in one step.
        if !ownerListed {
            do {
                try changeServerFile { $0.addOwner(key.owner, of: id) }
            } catch {
                return .refused(500, "cannot record the owner of \(id) (\(error))")
            }
            stored.addedOwner = key.owner
        }
        _ = FileManager.default.createFile(atPath: stored.marker, contents: Data(archive.sha512.utf8))
        // A rename, not a hard link and an unlink: a build reading the package must never see
        // it change (a link count going down changes its identity, and a build refuses a file
        // that changes while it is read). Only this actor puts packages in the folder, and the
        // name was checked above.
        guard rename(temp, stored.path) == 0 else {
            let why = errno
            takeBack(stored, packageToo: false)
            return .refused(500, "cannot store \(fileName) (\(POSIX.message(why)))")
        }
        pending.insert(lowerId + "/" + lowerVersion)
        return .stored(stored)
    }

    /// The build served a stored package, or took it back: it is not pending any more.
    func settled(_ s: Stored) { pending.remove(s.lowerId + "/" + s.lowerVersion) }

    /// Undoes a push the build did not take. The owner it recorded goes too, unless the id is
    /// served or has another version on its way (a push of the same owner that succeeded).
    func takeBack(_ s: Stored, packageToo: Bool = true) {
        if packageToo { unlink(s.path) }
        unlink(s.marker)
        pending.remove(s.lowerId + "/" + s.lowerVersion)
        if let owner = s.addedOwner, versions(of: s.lowerId).isEmpty,
            !pending.contains(where: { $0.hasPrefix(s.lowerId + "/") })
        {
            _ = try? changeServerFile { $0.removeOwner(owner, of: s.id) }
        }
    }

    /// Unlists (or relists) a version the feed serves, for one of its owners.
    func setListed(id: String, version: NuGetVersion, listed: Bool, owner: String) -> ListingResult {
        let lowerId = id.lowercased()
        let normalized = version.normalizedString
        guard versions(of: lowerId).contains(normalized.lowercased()) else {
            return .refused(404, "\(id) \(normalized) is not in the feed")
        }
        let policy: FeedFile
        switch feedPolicy() {
        case .success(let p): policy = p
        case .failure(let error): return .refused(500, "the feed's policy cannot be read: \(error)")
        }
        let owners = Self.owners(of: id, policy.all)
        guard owners.contains(where: { Self.same($0, owner) }) else {
            return .refused(
                403,
                owners.isEmpty
                    ? "\(id) has no owner on this feed; add its owners to \(FeedPolicy.fileName) (owners)"
                    : "\(id) belongs to \(owners.joined(separator: ", ")); a key of one of its owners unlists it")
        }
        let byPolicyFile = (policy.file?.unlisted ?? []).contains {
            $0.pattern.matches(id) && $0.versions.satisfies(version)
        }
        if listed && byPolicyFile {
            return .refused(
                409, "\(id) \(normalized) is unlisted by \(FeedPolicy.fileName); relist it there")
        }
        do {
            let changed = try changeServerFile { file in
                listed ? file.relist(id, normalized) : file.unlist(id, normalized)
            }
            return changed ? .changed : .unchanged
        } catch {
            return .refused(500, "cannot record the change (\(error))")
        }
    }

    struct FeedFile {
        var file: FeedPolicy?
        var all: FeedPolicy?
    }

    /// The policy file alone, and with `shelf.server.json`.
    func feedPolicy() -> Result<FeedFile, PolicyError> {
        do throws(PolicyError) {
            let (file, all) = try policy()
            return .success(FeedFile(file: file, all: all))
        } catch {
            return .failure(error)
        }
    }

    /// Reads `shelf.server.json`, changes it, and writes it whole (a temporary name, then a
    /// rename) when it changed.
    @discardableResult
    func changeServerFile(_ body: (inout ServerFile) -> Bool) throws -> Bool {
        var file = try ServerFile.read(serverFilePath)
        guard body(&file) else { return false }
        let temp = settings.packages + "/.shelf-server.json.tmp"
        try file.encoded().write(to: URL(fileURLWithPath: temp))
        // Only what every build can read goes in: a file the policy parser refuses would stop
        // every build from then on.
        do {
            _ = try FeedPolicy.loadServerFile(path: temp)
        } catch {
            unlink(temp)
            throw error
        }
        guard rename(temp, serverFilePath) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: serverFilePath])
        }
        return true
    }
}

/// `shelf.server.json`: `{"owners": {"Id": ["owner"]}, "unlisted": {"Id": ["[1.0.0]"]}}`, in
/// the policy file's format (ids as first pushed, sorted keys).
struct ServerFile {
    var owners: [String: [String]] = [:]
    var unlisted: [String: [String]] = [:]

    /// The file as it is; one that is not of this shape (someone edited it by hand) is an error,
    /// never read as empty (the next change would write over what it holds).
    static func read(_ path: String) throws -> ServerFile {
        guard let data = FileManager.default.contents(atPath: path) else { return ServerFile() }
        let corrupt = CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path])
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw corrupt }
        /// A member of names to lists of strings (a single string is a list of one, as the
        /// policy file takes it).
        func lists(_ name: String) throws -> [String: [String]] {
            guard let member = object[name] else { return [:] }
            guard let dict = member as? [String: Any] else { throw corrupt }
            var out: [String: [String]] = [:]
            for (k, v) in dict {
                if let one = v as? String {
                    out[k] = [one]
                } else if let many = v as? [String] {
                    out[k] = many
                } else {
                    throw corrupt
                }
            }
            return out
        }
        guard Set(object.keys).isSubset(of: ["owners", "unlisted", "$schema"]) else { throw corrupt }
        return ServerFile(owners: try lists("owners"), unlisted: try lists("unlisted"))
    }

    func encoded() throws -> Data {
        var object: [String: Any] = [:]
        if !owners.isEmpty { object["owners"] = owners }
        if !unlisted.isEmpty { object["unlisted"] = unlisted }
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// The entry of an id: the same id as NuGet compares them (`lowercased()`), never a look-alike.
    private static func key(_ id: String, in dict: [String: [String]]) -> String {
        dict.keys.first { $0.lowercased() == id.lowercased() } ?? id
    }

    mutating func addOwner(_ owner: String, of id: String) -> Bool {
        let k = Self.key(id, in: owners)
        guard !(owners[k] ?? []).contains(where: { Ledger.same($0, owner) }) else { return false }
        owners[k, default: []].append(owner)
        return true
    }

    mutating func removeOwner(_ owner: String, of id: String) -> Bool {
        let k = Self.key(id, in: owners)
        guard var list = owners[k] else { return false }
        list.removeAll { Ledger.same($0, owner) }
        owners[k] = list.isEmpty ? nil : list
        return true
    }

    mutating func unlist(_ id: String, _ version: String) -> Bool {
        let k = Self.key(id, in: unlisted)
        let exact = "[\(version)]"
        guard !(unlisted[k] ?? []).contains(where: { $0.lowercased() == exact.lowercased() }) else {
            return false
        }
        unlisted[k, default: []].append(exact)
        unlisted[k]!.sort()
        return true
    }

    mutating func relist(_ id: String, _ version: String) -> Bool {
        let k = Self.key(id, in: unlisted)
        guard var list = unlisted[k] else { return false }
        let before = list.count
        list.removeAll { $0.lowercased() == "[\(version)]".lowercased() }
        unlisted[k] = list.isEmpty ? nil : list
        return list.count != before
    }
}
