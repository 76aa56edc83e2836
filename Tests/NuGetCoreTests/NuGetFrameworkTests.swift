import Testing

@testable import NuGetCore

/// Short folder names as NuGet writes them (`NuGetFramework.Parse(s).GetShortFolderName()`); cases
/// follow NuGet.Client `test/NuGet.Core.Tests/NuGet.Frameworks.Test/NuGetFrameworkParseTests.cs`
/// and the `targetFramework` attributes found in the public corpus.
struct NuGetFrameworkTests {
    @Test(
        "short folder names",
        arguments: [
            (".NETFramework4.5", "net45"), (".NETFramework4.7.2", "net472"), (".NETFramework4.0", "net40"),
            (".NETFramework3.5", "net35"), (".NETFramework2.0", "net20"), (".NETFramework4.5.1", "net451"),
            (".NETFramework,Version=v4.5", "net45"), (".NETFramework,Version=v4.0,Profile=Client", "net40-client"),
            (".NETFramework4.0-Client", "net40-client"), ("net40-client", "net40-client"), ("net45", "net45"),
            ("NET45", "net45"), ("net4", "net40"), ("net", "net"), (".NETStandard2.0", "netstandard2.0"),
            (".NETStandard1.3", "netstandard1.3"), ("netstandard2.1", "netstandard2.1"),
            ("netstandard20", "netstandard2.0"),
            (".NETCoreApp3.1", "netcoreapp3.1"), ("netcoreapp2.1", "netcoreapp2.1"), (".NETCoreApp5.0", "net5.0"),
            ("net5.0", "net5.0"), ("net8.0", "net8.0"), ("net10.0", "net10.0"),
            ("net8.0-windows7.0", "net8.0-windows7.0"),
            ("net6.0-android", "net6.0-android"), ("net5.0-windows", "net5.0-windows"),
            (".NETPortable0.0-Profile259", "portable-net45+win8+wp8+wpa81"),
            (".NETPortable4.5-Profile7", "portable45-net45+win8"),
            (".NETPortable4.5-Profile111", "portable45-net45+win8+wpa81"),
            ("portable-net45+win8+wpa81", "portable-net45+win8+wpa81"), ("portable-win8+net45", "portable-net45+win8"),
            ("portable-net40+sl5+win8+wp8", "portable-net40+sl5+win8+wp8"),
            ("portable-net45+win8+monoandroid+monotouch", "portable-net45+win8"),
            ("portable-net45+netcore45+wpa81", "portable-net45+win8+wpa81"),
            ("net45-full", "net45"), ("net40-full", "net40"),
            ("Silverlight4.0", "sl4"), ("sl5", "sl5"), ("WindowsPhone8.0", "wp8"), ("wp71", "wp71"),
            ("WindowsPhoneApp8.1", "wpa81"),
            ("Windows8.0", "win8"), ("win81", "win81"), (".NETCore4.5", "netcore45"), ("netcore50", "netcore50"),
            ("MonoAndroid1.0", "monoandroid10"), ("MonoAndroid7.1", "monoandroid71"), ("monoandroid", "monoandroid"),
            ("MonoTouch1.0", "monotouch10"), ("Xamarin.iOS1.0", "xamarinios10"), ("xamarinios", "xamarinios"),
            ("Xamarin.Mac2.0", "xamarinmac20"), ("UAP10.0", "uap10.0"), ("uap10.0.16299", "uap10.0.16299"),
            ("dnxcore50", "dnxcore50"), ("native", "native"), ("any", "any"), ("agnostic", "any"),
            ("unsupported", "unsupported"), ("foo45", "unsupported"), ("", "any"), (".NETMicroFramework4.2", "netmf42"),
        ])
    func shortFolderName(input: String, expected: String) {
        #expect(NuGetFramework.parse(input).shortFolderName == expected, "\(input)")
    }

    @Test(
        "a short name parses back to the same framework",
        arguments: ["net45", "netstandard2.0", "net8.0-windows7.0", "portable-net45+win8", "monoandroid10", "sl4"])
    func roundTrip(name: String) {
        let f = NuGetFramework.parse(name)
        #expect(NuGetFramework.parse(f.shortFolderName) == f)
    }
}
