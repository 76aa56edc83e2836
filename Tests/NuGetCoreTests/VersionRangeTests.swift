import Testing

@testable import NuGetCore

/// Cases from NuGet.Client `test/NuGet.Core.Tests/NuGet.Versioning.Test/VersionRangeTests.cs`
/// and the nuspec `version` attributes in the public corpus; expected strings are
/// `VersionRange.ToNormalizedString()`.
struct VersionRangeTests {
    @Test(
        "normalized string",
        arguments: [
            ("1.0", "[1.0.0, )"),
            ("1.0.0", "[1.0.0, )"),
            ("[1.0]", "[1.0.0]"),
            ("[1.0.0]", "[1.0.0]"),
            ("[1.0,2.0)", "[1.0.0, 2.0.0)"),
            ("[1.0, 2.0]", "[1.0.0, 2.0.0]"),
            ("(1.0,2.0)", "(1.0.0, 2.0.0)"),
            ("(,1.0]", "(, 1.0.0]"),
            ("(,1.0)", "(, 1.0.0)"),
            ("(1.0,)", "(1.0.0, )"),
            ("[1.0,)", "[1.0.0, )"),
            ("(, )", "(, )"),
            ("[1.0.0-beta.1, 2.0.0)", "[1.0.0-beta.1, 2.0.0)"),
            ("  [1.0 , 2.0 )  ", "[1.0.0, 2.0.0)"),
            ("1.0.0.0", "[1.0.0, )"),
            ("[4.0.20505.0]", "[4.0.20505]"),
            ("1.0.0+meta", "[1.0.0, )"),
            ("1.0.*", "[1.0.0, )"),
            ("*", "[0.0.0, )"),
            ("[1.0.0, 1.0.0]", "[1.0.0]"),
        ])
    func normalized(input: String, expected: String) throws {
        let r = try #require(VersionRange(input), "\(input) should parse")
        #expect(r.normalizedString == expected)
    }

    @Test(
        "invalid ranges",
        arguments: [
            "", "[1.0", "(1.0)", "[1.0)", "(1.0]", "[2.0,1.0]", "[,]", "(,)", "[1.0,2.0,3.0]", "a",
            "[a,b]", "(1.0.0, 1.0.0)", "[1.0.0, 1.0.0)", "1.0.0-", "[1.0.*, 2.0]x",
        ])
    func invalid(input: String) {
        #expect(VersionRange(input) == nil, "\(input) should not parse")
    }

    @Test("a floating maximum is not allowed")
    func floatingMax() {
        #expect(VersionRange("[1.0, 2.*)") == nil)
        #expect(VersionRange("1.0.*", allowFloating: false) == nil)
    }

    @Test(
        "SemVer 2.0.0 ranges",
        arguments: [("[1.0.0-beta.1, )", true), ("[1.0.0, 2.0.0-rc.1)", true), ("1.0.0-beta", false), ("(, )", false)])
    func semVer2(input: String, expected: Bool) throws {
        #expect(try #require(VersionRange(input)).isSemVer2 == expected)
    }

    @Test("satisfies")
    func satisfies() throws {
        let r = try #require(VersionRange("[1.0,2.0)"))
        #expect(r.satisfies(NuGetVersion("1.0")!))
        #expect(r.satisfies(NuGetVersion("1.9.9")!))
        #expect(!r.satisfies(NuGetVersion("2.0")!))
        #expect(!r.satisfies(NuGetVersion("1.0.0-beta")!))
        #expect(VersionRange.all.satisfies(NuGetVersion("0.0.1-a")!))
    }
}
