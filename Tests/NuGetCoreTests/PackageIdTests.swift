import Testing

@testable import NuGetCore

/// Cases from NuGet.Client `test/NuGet.Core.Tests/NuGet.Packaging.Test/PackageIdValidatorTest.cs`.
struct PackageIdTests {
    @Test(
        "valid ids",
        arguments: [
            "Newtonsoft.Json", "a", "A1", "My-Package", "my_package", "_", "Microsoft.AspNet.Web.Optimization",
            "Contoso.Utility.UsefulStuff", "1", "a.b-c_d", "Ünïcödé", String(repeating: "a", count: 100),
        ])
    func valid(id: String) {
        #expect(PackageId.isValid(id), "\(id) should be valid")
    }

    @Test(
        "invalid ids",
        arguments: [
            "", ".a", "a.", "-a", "a-", "a..b", "a.-b", "a b", "a/b", "a\\b", "..", "a+b", "a@b", "a:b",
            String(repeating: "a", count: 101), "a\u{0}b",
        ])
    func invalid(id: String) {
        #expect(!PackageId.isValid(id), "\(id) should be invalid")
    }
}
