/// A NuGet version range as written in a nuspec `<dependency version="...">`, with the normalized
/// string NuGet writes into registration (`dependencies[].range`).
///
/// Mirrors NuGet.Client `src/NuGet.Core/NuGet.Versioning/VersionRangeFactory.cs` (`TryParse`) and
/// `VersionRangeFormatter.cs` (format `N`, used by `ToNormalizedString`).
public struct VersionRange: Sendable, Hashable, CustomStringConvertible {
    public let minVersion: NuGetVersion?
    public let isMinInclusive: Bool
    public let maxVersion: NuGetVersion?
    public let isMaxInclusive: Bool
    /// The floating part (`1.0.*`, `*`) when the range floats; the lower bound is then the float's
    /// lowest version. Nuspec dependencies are parsed with floating allowed (`VersionRange.Parse`).
    public let floatText: String?

    /// `VersionRange.All`: any version, normalized `(, )`.
    public static let all = VersionRange(
        minVersion: nil, isMinInclusive: false, maxVersion: nil, isMaxInclusive: false, floatText: nil)

    public init(
        minVersion: NuGetVersion?, isMinInclusive: Bool, maxVersion: NuGetVersion?, isMaxInclusive: Bool,
        floatText: String? = nil
    ) {
        self.minVersion = minVersion
        self.isMinInclusive = minVersion == nil ? false : isMinInclusive
        self.maxVersion = maxVersion
        self.isMaxInclusive = maxVersion == nil ? false : isMaxInclusive
        self.floatText = floatText
    }

    /// `VersionRangeFactory.TryParse(value, allowFloating)`.
    ///
    /// - `1.0` means `[1.0.0, )`; `[1.0]` means exactly 1.0.0; `(1.0,)`, `(,1.0]`, `[1.0,2.0)`.
    /// - A bracketed range is at least three characters, has at most one comma, and is not all
    ///   empty (`(,)`); parts are trimmed, so `(, )` is `VersionRange.All`.
    /// - A single bracketed version must be `[x]`; a maximum below the minimum, or equal to it
    ///   without both ends inclusive, is rejected.
    /// - With `allowFloating`, the minimum may float (`1.0.*`, `1.0.0-beta*`, `*`); the maximum never.
    public init?(_ text: String, allowFloating: Bool = true) {
        let value = text.trimmingWhitespace(newlines: true)
        guard !value.isEmpty else { return nil }
        if allowFloating, value == "*" {
            self.init(
                minVersion: NuGetVersion(major: 0, minor: 0, patch: 0), isMinInclusive: true, maxVersion: nil,
                isMaxInclusive: false, floatText: "*")
            return
        }
        var isMinInclusive = true
        var isMaxInclusive = false
        let minText: String
        var maxText: String?
        let first = value.first!
        if first == "[" || first == "(" {
            guard value.count >= 3 else { return nil }
            let last = value.last!
            guard last == "]" || last == ")" else { return nil }
            isMinInclusive = first == "["
            isMaxInclusive = last == "]"
            let inner = value.dropFirst().dropLast()
            let parts = inner.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard parts.count <= 2, !parts.allSatisfy(\.isEmpty) else { return nil }
            minText = parts[0]
            maxText = parts.count == 2 ? parts[1] : parts[0]
            if parts.count == 1, !(isMinInclusive && isMaxInclusive) { return nil }
        } else {
            minText = value
        }
        var minVersion: NuGetVersion?
        var floatText: String?
        let trimmedMin = minText.trimmingWhitespace()
        if !trimmedMin.isEmpty {
            if allowFloating, trimmedMin.contains("*") {
                guard let floor = Self.floatFloor(trimmedMin) else { return nil }
                minVersion = floor
                floatText = trimmedMin
            } else {
                guard let v = NuGetVersion(trimmedMin) else { return nil }
                minVersion = v
            }
        }
        var maxVersion: NuGetVersion?
        if let maxText {
            let trimmedMax = maxText.trimmingWhitespace()
            if !trimmedMax.isEmpty {
                guard let v = NuGetVersion(trimmedMax) else { return nil }
                maxVersion = v
            }
        }
        if let lo = minVersion, let hi = maxVersion {
            if hi < lo { return nil }
            if hi == lo, !(isMinInclusive && isMaxInclusive) { return nil }
        }
        self.init(
            minVersion: minVersion, isMinInclusive: isMinInclusive, maxVersion: maxVersion,
            isMaxInclusive: isMaxInclusive, floatText: floatText)
    }

    /// `FloatRange.TryParse`'s lowest version: `1.*` → 1.0.0, `1.2.*` → 1.2.0, `1.0.0-beta*` →
    /// 1.0.0-beta, `1.0.0-*` → 1.0.0-0 (the lowest prerelease). Only a trailing `*` floats.
    static func floatFloor(_ s: String) -> NuGetVersion? {
        guard s.hasSuffix("*"), s.firstIndex(of: "*") == s.index(before: s.endIndex) else { return nil }
        let stem = String(s.dropLast())
        if let dash = stem.firstIndex(of: "-") {
            // prerelease float: the label prefix, or "0" for a bare `-*`
            let label = stem[stem.index(after: dash)...]
            let text = label.isEmpty ? stem + "0" : (label.hasSuffix(".") ? stem + "0" : stem)
            return NuGetVersion(text)
        }
        if stem.isEmpty { return NuGetVersion(major: 0, minor: 0, patch: 0) }
        guard stem.hasSuffix(".") else { return nil }
        return NuGetVersion(stem + "0")
    }

    public var isFloating: Bool { floatText != nil }

    /// True when either bound is a SemVer 2.0.0 version (nuget.org then treats the package that
    /// depends on it as SemVer 2.0.0).
    public var isSemVer2: Bool {
        (minVersion?.isSemVer2 ?? false) || (maxVersion?.isSemVer2 ?? false)
    }

    /// `ToNormalizedString()` (format `N`): `[1.0.0, )`, `[1.0.0, 2.0.0)`, `[1.0.0]`, `(, )`.
    /// A floating lower bound is written as its lowest version, so every client and checker that
    /// parses ranges without floats reads it (the float only matters to the restore of a project).
    public var normalizedString: String {
        if let lo = minVersion, let hi = maxVersion, lo == hi, isMinInclusive, isMaxInclusive {
            return "[\(lo.normalizedString)]"
        }
        return (isMinInclusive ? "[" : "(") + (minVersion?.normalizedString ?? "") + ", "
            + (maxVersion?.normalizedString ?? "") + (isMaxInclusive ? "]" : ")")
    }

    public var description: String { normalizedString }

    public func satisfies(_ version: NuGetVersion) -> Bool {
        if let lo = minVersion {
            let c = NuGetVersion.compare(version, lo)
            if c < 0 || (c == 0 && !isMinInclusive) { return false }
        }
        if let hi = maxVersion {
            let c = NuGetVersion.compare(version, hi)
            if c > 0 || (c == 0 && !isMaxInclusive) { return false }
        }
        return true
    }
}
