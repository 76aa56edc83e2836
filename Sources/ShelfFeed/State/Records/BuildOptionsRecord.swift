import Foundation

/// How a feed is built (`StateRecord.buildOptions`), kept with it so that `shelf push` renders
/// what `shelf build` with the same options would: the base URL, the extra renderers (the site,
/// a host's configuration), stored gzip, what a prefix violation does, and the policy file's
/// name (its copy, and the advisory files it imports, are `StateRecord.policy` records).
public struct BuildOptionsRecord: Codable, Sendable, Equatable {
    public var format = 1
    public var baseURL: String
    /// The extra renderers' type names (`SiteRenderer`, `HostConfigRenderer`).
    public var renderers: [String]
    public var host: String?
    public var gzipRegistrations: Bool
    public var warnOnPrefixViolation: Bool
    /// The policy file's name under `.shelf/policy/`; nil when the feed has no policy.
    public var policy: String?

    public init(
        baseURL: String, renderers: [String], host: String?, gzipRegistrations: Bool, warnOnPrefixViolation: Bool,
        policy: String?
    ) {
        self.baseURL = baseURL
        self.renderers = renderers
        self.host = host
        self.gzipRegistrations = gzipRegistrations
        self.warnOnPrefixViolation = warnOnPrefixViolation
        self.policy = policy
    }

    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data()
    }

    public static func decode(_ data: Data) -> BuildOptionsRecord? {
        guard let record = try? JSONDecoder().decode(BuildOptionsRecord.self, from: data), record.format == 1 else {
            return nil
        }
        return record
    }
}
