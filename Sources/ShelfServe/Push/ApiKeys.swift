import Crypto
import Foundation
import NuGetCore
import ShelfFeed

/// An API key as nuget.org issues them: it acts for one owner, with scopes, for the package ids
/// its glob patterns match, until it expires. Only a salted hash of its secret is kept.
public struct ApiKey: Codable, Sendable, Equatable {
    /// What a key may do (nuget.org: "push new packages and package versions", "push only new
    /// package versions", "unlist/relist").
    public enum Scope: String, Codable, Sendable, CaseIterable {
        case push
        case pushVersions = "push-versions"
        case unlist
    }

    /// Its public name: in the key itself, in `shelf keys list` and in the audit log.
    public var id: String
    public var owner: String
    public var scopes: [Scope]
    public var globs: [String]
    public var created: Date
    public var expires: Date
    public var description: String?
    public var revoked: Date?
    /// Base64 of the salt and of HMAC-SHA256(salt, secret).
    var salt: String
    var hash: String

    /// Whether it may act on `id` (a glob matches it).
    public func covers(_ id: String) -> Bool {
        globs.contains { IdPattern($0)?.matches(id) ?? false }
    }

    public func allows(_ scope: Scope) -> Bool {
        // Pushing new packages includes pushing new versions (nuget.org's scopes).
        scopes.contains(scope) || (scope == .pushVersions && scopes.contains(.push))
    }
}

/// The keys of a feed (`.shelf/keys.json`, private: never served, never published). A key reads
/// `shelf-<id>-<secret>`: the id finds the record, the secret is checked against its hash in
/// constant time.
public struct KeyStore: Sendable {
    public let path: String

    public init(feedRoot: String) {
        path = (feedRoot as NSString).appendingPathComponent(StateRecord.apiKeys.path)
    }

    struct File: Codable {
        var format = 1
        var keys: [ApiKey] = []
    }

    public enum KeyError: Error, Sendable, Equatable, CustomStringConvertible {
        case unreadable(String, String)
        case cannotWrite(String, String)
        case noSuchKey(String)

        public var description: String {
            switch self {
            case .unreadable(let p, let why): return "\(p) cannot be read (\(why)); check it, or move it away"
            case .cannotWrite(let p, let why): return "cannot write \(p) (\(why))"
            case .noSuchKey(let id): return "no key \(id); `shelf keys list` shows the keys"
            }
        }
    }

    public func load() throws(KeyError) -> [ApiKey] {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw .unreadable(path, "permission denied") }
            return []
        }
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        do {
            return try d.decode(File.self, from: data).keys
        } catch {
            throw .unreadable(path, "\(error)")
        }
    }

    func save(_ keys: [ApiKey]) throws(KeyError) {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let data = try e.encode(File(keys: keys))
            // Written whole under a temporary name, readable by this user only.
            let temp = path + ".tmp-\(getpid())"
            guard FileManager.default.createFile(atPath: temp, contents: data, attributes: [.posixPermissions: 0o600])
            else { throw KeyError.cannotWrite(path, "cannot create \(temp)") }
            guard rename(temp, path) == 0 else {
                unlink(temp)
                throw KeyError.cannotWrite(path, POSIX.message(errno))
            }
        } catch let error as KeyError {
            throw error
        } catch {
            throw .cannotWrite(path, "\(error)")
        }
    }

    /// Changes the keys under the feed's lock of the key file (two `shelf keys` at once do not
    /// lose each other's keys).
    func change<T>(_ body: (inout [ApiKey]) throws(KeyError) -> T) throws(KeyError) -> T {
        let lockPath = path + ".lock"
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(lockPath, O_CREAT | O_RDWR, 0o600)
        guard fd >= 0 else { throw .cannotWrite(lockPath, POSIX.message(errno)) }
        defer { close(fd) }
        flock(fd, LOCK_EX)
        defer { flock(fd, LOCK_UN) }
        var keys = try load()
        let out = try body(&keys)
        try save(keys)
        return out
    }

    /// Makes a key; returns its record and the key itself (shown once, never stored).
    public func create(
        owner: String, scopes: [ApiKey.Scope], globs: [String], expires: Date, description: String?, now: Date = Date()
    ) throws(KeyError) -> (ApiKey, String) {
        let id = Self.random(6).map { String(format: "%02x", $0) }.joined()
        let secret = Self.base64url(Self.random(32))
        let salt = Self.random(16)
        let record = ApiKey(
            id: id, owner: owner, scopes: scopes, globs: globs, created: now, expires: expires,
            description: description, revoked: nil, salt: Data(salt).base64EncodedString(),
            hash: Data(Self.mac(secret: secret, salt: salt)).base64EncodedString())
        try change { keys throws(KeyError) in keys.append(record) }
        return (record, "shelf-\(id)-\(secret)")
    }

    public func revoke(_ id: String, now: Date = Date()) throws(KeyError) {
        try change { keys throws(KeyError) in
            guard let i = keys.firstIndex(where: { $0.id == id }) else { throw .noSuchKey(id) }
            if keys[i].revoked == nil { keys[i].revoked = now }
        }
    }

    static func random(_ count: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func mac(secret: String, salt: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Data(secret.utf8), using: SymmetricKey(data: salt)))
    }
}

/// What checking a key found.
public enum KeyCheck: Sendable, Equatable {
    case valid(ApiKey)
    /// No key in the request.
    case missing
    /// Not a key of this feed (unknown, or the secret does not match).
    case wrong
    case expired(ApiKey)
    case revoked(ApiKey)
}

/// The keys as the server checks them, read again when the file changes (a `shelf keys create`
/// or `revoke` while the server runs takes effect at once).
public final class KeyRing: @unchecked Sendable {
    let store: KeyStore
    private let lock = NSLock()
    private var stamp: FileIdentity?
    private var keys: [String: ApiKey] = [:]
    /// Hashed against when the id is unknown, so that an unknown id costs what a known one does.
    private let decoy = (salt: KeyStore.random(16), hash: KeyStore.random(32))

    public init(store: KeyStore) { self.store = store }

    func current() -> [String: ApiKey] {
        lock.lock()
        defer { lock.unlock() }
        let now = FileIdentity.of(store.path)
        if now != stamp || stamp == nil {
            if let list = try? store.load() {
                keys = Dictionary(list.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
                stamp = now
            }
        }
        return keys
    }

    public func check(_ presented: String?, now: Date = Date()) -> KeyCheck {
        guard let presented, !presented.isEmpty else { return .missing }
        let parts = presented.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
        let id = parts.count == 3 && parts[0] == "shelf" ? String(parts[1]) : ""
        let secret = parts.count == 3 ? String(parts[2]) : presented
        let key = current()[id]
        let salt = key.flatMap { Data(base64Encoded: $0.salt) }.map { [UInt8]($0) } ?? decoy.salt
        let expected = key.flatMap { Data(base64Encoded: $0.hash) }.map { [UInt8]($0) } ?? decoy.hash
        // HMAC's own check compares in constant time.
        let matches = HMAC<SHA256>.isValidAuthenticationCode(
            expected, authenticating: Data(secret.utf8), using: SymmetricKey(data: salt))
        guard let key, matches else { return .wrong }
        if key.revoked != nil { return .revoked(key) }
        if key.expires <= now { return .expired(key) }
        return .valid(key)
    }
}
