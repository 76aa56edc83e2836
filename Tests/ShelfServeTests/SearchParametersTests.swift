import Testing

@testable import ShelfServe

/// nuget.org's reading of search parameters (NuGetGallery `SearchParametersBuilder`,
/// `ParameterUtilities`) and of `q` (`NuGetQueryParser`, `SearchTextBuilder`).
@Suite("Search parameters and query text")
struct SearchParametersTests {
    func parse(_ items: [(String, String)]) -> SearchParameters? {
        if case .success(let p) = SearchParameters.parse(items) { return p }
        return nil
    }

    @Test("Defaults, case-insensitive names, take outside 0...1000 is 20, negative skip is 0")
    func paging() {
        let d = parse([])!
        #expect(d.q == "" && d.skip == 0 && d.take == 20 && !d.prerelease && !d.semVer2 && d.packageType == nil)
        #expect(parse([("TAKE", "26"), ("Skip", "25")])!.take == 26)
        #expect(parse([("take", "5000")])!.take == 20)
        #expect(parse([("take", "-1")])!.take == 20)
        #expect(parse([("take", "0")])!.take == 0)
        #expect(parse([("skip", "-5")])!.skip == 0)
        #expect(parse([("take", "")])!.take == 20)
        #expect(parse([("take", "abc")]) == nil)
        #expect(parse([("prerelease", "maybe")]) == nil)
    }

    @Test(
        "semVerLevel: 2.0.0 or higher includes SemVer 2.0.0",
        arguments: [("2.0.0", true), ("2", true), ("3.0", true), ("1.0.0", false), ("x", false), ("", false)])
    func semVerLevel(_ value: String, _ expected: Bool) {
        #expect(parse([("semVerLevel", value)])!.semVer2 == expected)
    }

    @Test(
        "a parameter of the wrong kind is refused by case, with the message the client shows",
        arguments: [
            ("skip", "x", "a whole number"), ("take", "1.5", "a whole number"),
            ("prerelease", "maybe", "true or false"),
        ])
    func refused(name: String, value: String, expected: String) {
        guard case .failure(let error) = SearchParameters.parse([(name, value)]) else {
            Issue.record("\(name)=\(value) was accepted")
            return
        }
        #expect(error == .badParameter(name: name, value: value, expected: expected))
        #expect(error.description == "\(name) must be \(expected), not \(value)")
    }

    @Test("prerelease and packageType")
    func flags() {
        #expect(parse([("prerelease", "True")])!.prerelease)
        #expect(parse([("packageType", "DotnetTool")])!.packageType == "dotnettool")
        #expect(
            parse([("packageTypeFilter", "DotnetTool")])!.packageType == nil, "nuget.org ignores the client's filter")
    }

    @Test("Autocomplete lists versions only with id and no q")
    func versionMode() {
        #expect(parse([("id", "A")])!.versionsOf == "A")
        #expect(parse([("id", "A"), ("q", "b")])!.versionsOf == nil)
    }

    @Test(
        "Words: split at symbols, case changes and digits; whole pieces kept",
        arguments: [
            ("Newtonsoft.Json", ["newtonsoft", "json"]),
            ("JsonNet", ["jsonnet", "json", "net"]),
            ("Http3Client", ["http3client", "http", "3", "client"]),
        ])
    func words(_ text: String, _ expected: [String]) {
        #expect(Set(SearchTextQuery.words(text)) == Set(expected))
    }

    @Test("Query text: scoped fields, unknown fields and AND/OR/NOT dropped, quotes keep a phrase")
    func queryText() {
        let q = SearchTextQuery("packageid:Foo.Bar tags:\"web api\" unknown:x json AND net")
        #expect(q.scoped[.packageid] == ["foo.bar"])
        #expect(q.scoped[.tags] == ["web api"])
        #expect(q.free == ["json", "net"])
    }
}
