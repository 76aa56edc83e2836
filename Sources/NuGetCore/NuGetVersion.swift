/// A NuGet package version, parsed and compared exactly as NuGet's client does.
///
/// Written by hand because no Swift library implements NuGet's rules, which differ from SemVer:
/// up to four numeric parts (`1`, `1.0`, `1.0.0.0`), leading zeros in numeric parts (`01.2`),
/// case-insensitive release labels, and a `ToNormalizedString` form used in every feed path.
///
/// Mirrors NuGet.Client `src/NuGet.Core/NuGet.Versioning/NuGetVersionFactory.cs` (`TryParse`),
/// `SemanticVersionFactory.cs` (`ParseSections`, `IsValidPart`), `VersionFormatter.cs` (`N`, `F`)
/// and `VersionComparer.cs` (`VersionComparison.Default`).
public struct NuGetVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let patch: Int
    public let revision: Int
    /// Prerelease labels, as written (case kept); empty for a release version.
    public let releaseLabels: [String]
    /// Build metadata after `+`, as written; empty when absent.
    public let metadata: String
    /// The string the version was parsed from, trimmed (nuget.org's "verbatim version").
    public let originalString: String

    public init(
        major: Int, minor: Int, patch: Int, revision: Int = 0, releaseLabels: [String] = [], metadata: String = ""
    ) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.revision = revision
        self.releaseLabels = releaseLabels
        self.metadata = metadata
        var s = "\(major).\(minor).\(patch)"
        if revision > 0 { s += ".\(revision)" }
        if !releaseLabels.isEmpty { s += "-" + releaseLabels.joined(separator: ".") }
        self.originalString = metadata.isEmpty ? s : s + "+" + metadata
    }

    /// Rebuilds a version from parts that were parsed before (the read cache).
    init(cachedNumbers numbers: [Int], releaseLabels: [String], metadata: String, originalString: String) {
        self.init(numbers: numbers, releaseLabels: releaseLabels, metadata: metadata, originalString: originalString)
    }

    private init(
        numbers: [Int], releaseLabels: [String], metadata: String, originalString: String
    ) {
        major = numbers[0]
        minor = numbers.count > 1 ? numbers[1] : 0
        patch = numbers.count > 2 ? numbers[2] : 0
        revision = numbers.count > 3 ? numbers[3] : 0
        self.releaseLabels = releaseLabels
        self.metadata = metadata
        self.originalString = originalString
    }

    /// `NuGetVersion.TryParse`: the lenient parse the client applies to nuspec versions.
    ///
    /// The string is trimmed; it splits at the first `-` or `+` into the numeric part, the release
    /// labels (up to the next `+`) and the metadata. The numeric part is `System.Version`'s form:
    /// one to four non-negative 32-bit integers (one part is allowed because NuGet appends `.0`).
    /// Labels are non-empty runs of `[0-9A-Za-z-]`; a numeric label may not have a leading zero.
    /// Metadata parts follow the same character rule, leading zeros allowed.
    public init?(_ text: String) {
        let value = text.trimmingWhitespace(newlines: true)
        guard !value.isEmpty else { return nil }
        let chars = Array(value.unicodeScalars)
        var numericEnd = chars.count
        var labelsText: String?
        var metadataText: String?
        if let firstSep = chars.firstIndex(where: { $0 == "-" || $0 == "+" }) {
            numericEnd = firstSep
            let rest = chars[(firstSep + 1)...]
            if chars[firstSep] == "+" {
                metadataText = String(String.UnicodeScalarView(rest))
            } else if let plus = rest.firstIndex(of: "+") {
                labelsText = String(String.UnicodeScalarView(chars[(firstSep + 1)..<plus]))
                metadataText = String(String.UnicodeScalarView(chars[(plus + 1)...]))
            } else {
                labelsText = String(String.UnicodeScalarView(rest))
            }
        }
        let numericText = String(String.UnicodeScalarView(chars[..<numericEnd]))
        let parts = numericText.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var numbers: [Int] = []
        for part in parts {
            guard let n = Self.parseNonNegativeInt32(part) else { return nil }
            numbers.append(n)
        }
        var labels: [String] = []
        if let labelsText {
            labels = labelsText.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard labels.allSatisfy({ Self.isValidPart($0, allowLeadingZeros: false) }) else { return nil }
        }
        if let metadataText {
            let metaParts = metadataText.split(separator: ".", omittingEmptySubsequences: false)
            guard metaParts.allSatisfy({ Self.isValidPart(Substring($0), allowLeadingZeros: true) }) else {
                return nil
            }
        }
        self.init(
            numbers: numbers, releaseLabels: labels, metadata: metadataText ?? "",
            originalString: value.replacingOccurrences(of: " ", with: ""))
    }

    /// `System.Version` component: ASCII digits only, at most `Int32.max`.
    private static func parseNonNegativeInt32(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var value = 0
        for byte in s.utf8 {
            value = value * 10 + Int(byte - 0x30)
            if value > Int(Int32.max) { return nil }
        }
        return value
    }

    /// `SemanticVersionFactory.IsValidPart`.
    static func isValidPart<S: StringProtocol>(_ s: S, allowLeadingZeros: Bool) -> Bool {
        guard !s.isEmpty else { return false }
        let bytes = Array(s.utf8)
        if !allowLeadingZeros, bytes.count > 1, bytes[0] == 0x30, bytes.allSatisfy(isDigit) {
            return false
        }
        return bytes.allSatisfy { isDigit($0) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D }
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    public var isPrerelease: Bool { !releaseLabels.isEmpty }
    public var hasMetadata: Bool { !metadata.isEmpty }

    /// `SemanticVersion.IsSemVer2`: a dotted release label or build metadata.
    public var isSemVer2: Bool { releaseLabels.count > 1 || hasMetadata }

    /// `ToNormalizedString()`: three parts, a fourth only when non-zero, labels as written,
    /// no metadata. This (lowercased) is the version in every flat-container and registration path.
    public var normalizedString: String {
        var s = "\(major).\(minor).\(patch)"
        if revision > 0 { s += ".\(revision)" }
        if !releaseLabels.isEmpty { s += "-" + releaseLabels.joined(separator: ".") }
        return s
    }

    /// `ToFullString()`: the normalized string plus `+metadata`. nuget.org writes it as
    /// `catalogEntry.version`.
    public var fullString: String {
        hasMetadata ? normalizedString + "+" + metadata : normalizedString
    }

    /// The path segment form: lowercase normalized string.
    public var pathSegment: String { normalizedString.lowercased() }

    public var description: String { fullString }

    // MARK: Comparison (VersionComparer, VersionComparison.Default)

    /// Equality ignores metadata and label case, as `VersionComparer.Default` does.
    public static func == (lhs: NuGetVersion, rhs: NuGetVersion) -> Bool {
        compare(lhs, rhs) == 0
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(pathSegment)
    }

    public static func < (lhs: NuGetVersion, rhs: NuGetVersion) -> Bool {
        compare(lhs, rhs) < 0
    }

    /// `VersionComparer.Compare` with `VersionComparison.Default`: numbers first; a release sorts
    /// after any prerelease of the same numbers; labels compare part by part, numerically when both
    /// are numeric, a numeric part before an alphanumeric one, otherwise case-insensitive ordinal;
    /// a label list that is a prefix of another sorts first. Metadata is ignored.
    public static func compare(_ a: NuGetVersion, _ b: NuGetVersion) -> Int {
        for (x, y) in [(a.major, b.major), (a.minor, b.minor), (a.patch, b.patch), (a.revision, b.revision)]
        where x != y {
            return x < y ? -1 : 1
        }
        switch (a.releaseLabels.isEmpty, b.releaseLabels.isEmpty) {
        case (true, true): return 0
        case (true, false): return 1
        case (false, true): return -1
        case (false, false): return compareLabels(a.releaseLabels, b.releaseLabels)
        }
    }

    static func compareLabels(_ a: [String], _ b: [String]) -> Int {
        for i in 0..<max(a.count, b.count) {
            guard i < a.count else { return -1 }
            guard i < b.count else { return 1 }
            let c = compareLabel(a[i], b[i])
            if c != 0 { return c }
        }
        return 0
    }

    private static func compareLabel(_ x: String, _ y: String) -> Int {
        // int.TryParse: a label that fits in Int32 (sign allowed) compares as a number.
        let xn = Int32(x)
        let yn = Int32(y)
        switch (xn, yn) {
        case let (xv?, yv?): return xv == yv ? 0 : (xv < yv ? -1 : 1)
        case (.some, nil): return -1
        case (nil, .some): return 1
        case (nil, nil):
            // StringComparer.OrdinalIgnoreCase: compare upper-cased UTF-16 code units.
            let xu = Array(x.uppercased().utf16)
            let yu = Array(y.uppercased().utf16)
            return xu == yu ? 0 : (xu.lexicographicallyPrecedes(yu) ? -1 : 1)
        }
    }
}
