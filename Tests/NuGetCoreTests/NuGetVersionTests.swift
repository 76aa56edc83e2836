import Testing

@testable import NuGetCore

/// Cases from NuGet.Client `test/NuGet.Core.Tests/NuGet.Versioning.Test/` (NuGetVersionParseTest.cs,
/// SemanticVersionParseTest.cs, VersionComparerTests.cs) and the nuspec forms seen in the public corpus.
struct NuGetVersionTests {
    @Test(
        "normalized string",
        arguments: [
            ("1", "1.0.0"),
            ("1.0", "1.0.0"),
            ("1.0.0", "1.0.0"),
            ("1.0.0.0", "1.0.0"),
            ("1.0.0.1", "1.0.0.1"),
            ("01.02.03", "1.2.3"),
            ("1.0.01", "1.0.1"),
            ("4.0.20505.0", "4.0.20505"),
            ("3.4.1.9004", "3.4.1.9004"),
            ("1.0.0-Beta", "1.0.0-Beta"),
            ("1.0.0-beta.1+abc", "1.0.0-beta.1"),
            ("1.0.1+ace8cda", "1.0.1"),
            ("1.2.3.4-rc.1", "1.2.3.4-rc.1"),
            ("1.0.0-a-mp-1", "1.0.0-a-mp-1"),
            ("1.0.0-1a", "1.0.0-1a"),
            ("  2.1  ", "2.1.0"),
            ("1.0.0+meta-data.01", "1.0.0"),
            ("2147483647.0.0", "2147483647.0.0"),
            ("1.0.0-alpha001", "1.0.0-alpha001"),
            ("1.0.0.0-bugfix", "1.0.0-bugfix"),
        ])
    func normalized(input: String, expected: String) throws {
        let v = try #require(NuGetVersion(input), "\(input) should parse")
        #expect(v.normalizedString == expected)
    }

    @Test(
        "invalid versions",
        arguments: [
            "", " ", "a", "a.b", "1.2.3.4.5", "1.0.0-", "1.0.0+", "1.0.0-beta..1", "1.0.0-beta+",
            "1.0.0-be ta", "1.0.0-beta_1", "1..0", ".1", "1.", "-1.0", "1.0.0-01", "1.0.0-beta.01",
            "2147483648.0.0", "1.0.0+meta..data", "1.0.0-Ü", "1.0.0+meta+more", "1.*", "v1.0",
        ])
    func invalid(input: String) {
        #expect(NuGetVersion(input) == nil, "\(input) should not parse")
    }

    @Test(
        "full string keeps metadata",
        arguments: [("1.0.0-beta.1+abc", "1.0.0-beta.1+abc"), ("1.0.0.0+build", "1.0.0+build"), ("1.0", "1.0.0")])
    func fullString(input: String, expected: String) throws {
        #expect(try #require(NuGetVersion(input)).fullString == expected)
    }

    @Test(
        "SemVer 2.0.0 detection",
        arguments: [
            ("1.0.0-beta.1", true), ("1.0.0+meta", true), ("1.0.0-beta", false), ("1.0.0", false),
            ("1.0.0-rc.1+build.7", true), ("1.0.0-a-b-c", false),
        ])
    func semVer2(input: String, expected: Bool) throws {
        #expect(try #require(NuGetVersion(input)).isSemVer2 == expected)
    }

    @Test(
        "ordering",
        arguments: [
            ("1.0.0-alpha", "1.0.0"),
            ("1.0.0-alpha", "1.0.0-alpha.1"),
            ("1.0.0-alpha.1", "1.0.0-alpha.beta"),
            ("1.0.0-alpha.beta", "1.0.0-beta"),
            ("1.0.0-beta", "1.0.0-beta.2"),
            ("1.0.0-beta.2", "1.0.0-beta.11"),
            ("1.0.0-beta.11", "1.0.0-rc.1"),
            ("1.0.0-rc.1", "1.0.0"),
            ("1.0.0", "1.0.0.1"),
            ("1.0.0.1", "1.0.1"),
            ("1.9.0", "1.10.0"),
            ("1.0.0-1", "1.0.0-a"),
            ("1.0.0-2", "1.0.0-10"),
            ("1.0.0-alpha", "1.0.0-Beta"),
            ("0.9.9", "1.0.0-alpha"),
            ("2.0.0-beta", "2.0.0-rc.1"),
            ("1.0.0-a", "1.0.0-a-b"),
            ("1.0.0-A", "1.0.0-b"),
        ])
    func ordering(lower: String, higher: String) throws {
        let a = try #require(NuGetVersion(lower))
        let b = try #require(NuGetVersion(higher))
        #expect(a < b, "\(lower) < \(higher)")
        #expect(!(b < a))
        #expect(a != b)
    }

    @Test(
        "equality ignores metadata and label case",
        arguments: [
            ("1.0.0-BETA", "1.0.0-beta"), ("1.0", "1.0.0.0"), ("1.0.0+a", "1.0.0+b"), ("01.2", "1.2.0"),
        ])
    func equality(a: String, b: String) throws {
        let x = try #require(NuGetVersion(a))
        let y = try #require(NuGetVersion(b))
        #expect(x == y)
        #expect(x.hashValue == y.hashValue)
    }
}
