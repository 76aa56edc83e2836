/// A target framework, parsed from a nuspec `targetFramework` attribute in either of NuGet's
/// forms (`.NETFramework4.5`, `.NETFramework,Version=v4.5`, `net45`, `netstandard2.0`,
/// `net8.0-windows7.0`, `portable-net45+win8`, `.NETPortable0.0-Profile259`), with the short
/// folder name NuGet writes (`NuGetFramework.GetShortFolderName()`).
///
/// Mirrors NuGet.Client `src/NuGet.Core/NuGet.Frameworks/` (`NuGetFrameworkFactory.Parse`,
/// `DefaultFrameworkMappings`, `FrameworkNameProvider.GetShortFolderName` and `GetVersionString`).
/// Written by hand because no Swift library carries NuGet's framework tables. A short name is
/// what NuGet parses back to the same framework: one digit per version part when every part is
/// below 10 (`net451`), dotted otherwise and for the frameworks NuGet always writes dotted
/// (`netstandard2.0`, `netcoreapp3.1`, `net5.0`, `uap10.0`).
public struct NuGetFramework: Sendable, Hashable, CustomStringConvertible {
    /// The canonical identifier (`.NETFramework`, `.NETStandard`, `.NETCoreApp`, ...), or
    /// `Any` / `Unsupported`.
    public var identifier: String
    public var version: [Int]
    /// A profile (`Client`, `Profile259`, `net45+win8` for portable) or empty.
    public var profile: String
    /// The platform of a .NET 5+ framework (`windows`) and its version (`7.0`), or empty.
    public var platform: String
    public var platformVersion: [Int]

    public static let any = NuGetFramework(
        identifier: "Any", version: [], profile: "", platform: "", platformVersion: [])
    public static let unsupported = NuGetFramework(
        identifier: "Unsupported", version: [], profile: "", platform: "", platformVersion: [])

    /// `FrameworkConstants.FrameworkIdentifiers` and their short names (`DefaultFrameworkMappings.IdentifierShortNames`).
    static let identifiers: [(long: String, short: String)] = [
        (".NETFramework", "net"), (".NETStandard", "netstandard"), (".NETCoreApp", "netcoreapp"),
        (".NETCore", "netcore"), (".NETPortable", "portable"), (".NETMicroFramework", "netmf"),
        ("Silverlight", "sl"), ("WindowsPhone", "wp"), ("WindowsPhoneApp", "wpa"), ("Windows", "win"),
        ("MonoAndroid", "monoandroid"), ("MonoTouch", "monotouch"), ("MonoMac", "monomac"),
        ("Xamarin.iOS", "xamarinios"), ("Xamarin.Mac", "xamarinmac"), ("Xamarin.PlayStation3", "xamarinpsthree"),
        ("Xamarin.PlayStation4", "xamarinpsfour"), ("Xamarin.PlayStationVita", "xamarinpsvita"),
        ("Xamarin.WatchOS", "xamarinwatchos"), ("Xamarin.TVOS", "xamarintvos"),
        ("Xamarin.Xbox360", "xamarinxboxthreesixty"), ("Xamarin.XboxOne", "xamarinxboxone"),
        ("UAP", "uap"), ("Tizen", "tizen"), (".NETStandardApp", "netstandardapp"), ("DNX", "dnx"),
        ("DNXCore", "dnxcore"), ("ASP.NET", "aspnet"), ("ASP.NETCore", "aspnetcore"), (".NETPlatform", "dotnet"),
        ("native", "native"),
    ]

    /// Identifier synonyms NuGet accepts (`DefaultFrameworkMappings.IdentifierSynonyms`), lowercase.
    static let synonyms: [String: String] = [
        "netframework": ".NETFramework", ".net": ".NETFramework", "netplatform": ".NETPlatform",
        "netcore": ".NETCore", "winrt": ".NETCore", "netmicro": ".NETMicroFramework", "silverlight": "Silverlight",
        "windowsphone": "WindowsPhone", "windowsphoneapp": "WindowsPhoneApp", "windows": "Windows",
        "netstandard": ".NETStandard", "netcoreapp": ".NETCoreApp", "uap": "UAP", "universalwindowsplatform": "UAP",
        "monoandroid": "MonoAndroid", "monotouch": "MonoTouch", "monomac": "MonoMac",
    ]

    /// `DefaultPortableFrameworkMappings.ProfileFrameworks`: the frameworks of each portable profile.
    static let portableProfiles: [Int: String] = [
        2: "net4+sl4+win8+wp7", 3: "net4+sl4", 4: "net45+sl4+win8+wp7", 5: "net4+win8", 6: "net403+win8",
        7: "net45+win8", 14: "net4+sl5", 18: "net403+sl4", 19: "net403+sl5", 23: "net45+sl4", 24: "net45+sl5",
        31: "win81+wp81", 32: "win81+wpa81", 36: "net4+sl4+win8+wp8", 37: "net4+sl5+win8", 41: "net403+sl4+win8",
        42: "net403+sl5+win8", 44: "net451+win81", 46: "net45+sl4+win8", 47: "net45+sl5+win8", 49: "net45+wp8",
        78: "net45+win8+wp8", 84: "wp81+wpa81", 88: "net4+sl4+win8+wp75", 92: "net4+win8+wpa81",
        95: "net403+sl4+win8+wp7", 96: "net403+sl4+win8+wp75", 102: "net403+win8+wpa81", 104: "net45+sl4+win8+wp75",
        111: "net45+win8+wpa81", 136: "net4+sl5+win8+wp8", 143: "net403+sl4+win8+wp8", 147: "net403+sl5+win8+wp8",
        151: "net451+win81+wpa81", 154: "net45+sl4+win8+wp8", 157: "win81+wp81+wpa81", 158: "net45+sl5+win8+wp8",
        225: "net4+sl5+win8+wpa81", 240: "net403+sl5+win8+wpa81", 255: "net45+sl5+win8+wpa81",
        259: "net45+win8+wp8+wpa81", 328: "net4+sl5+win8+wp8+wpa81", 336: "net403+sl5+win8+wp8+wpa81",
        344: "net45+sl5+win8+wp8+wpa81",
    ]

    /// Identifiers NuGet always writes with a dotted version (`FrameworkNameProvider`, decimal versions).
    static let dottedShortNames: Set<String> = ["netstandard", "netcoreapp", "netstandardapp", "dotnet", "uap"]
    /// Identifiers whose short version keeps at least two digits (`net40`, `monoandroid10`).
    static let twoDigitShortNames: Set<String> = [
        "net", "netcore", "monoandroid", "monotouch", "monomac", "xamarinios", "xamarinmac", "xamarinwatchos",
        "xamarintvos", "dnxcore", "dnx", "aspnet", "aspnetcore", "netmf",
    ]

    public var description: String { shortFolderName }

    /// `NuGetFramework.Parse`: the long form when the string starts with `.` or holds `,` or a
    /// known long identifier; otherwise the short folder form. Anything unknown is `unsupported`.
    public static func parse(_ text: String) -> NuGetFramework {
        let s = text.trimmingWhitespace()
        if s.isEmpty { return .any }
        switch s.lowercased() {
        case "any", "agnostic": return .any
        case "unsupported": return .unsupported
        case "native":
            return NuGetFramework(
                identifier: "native", version: [0, 0], profile: "", platform: "", platformVersion: [])
        default: break
        }
        if s.contains(",") { return parseFrameworkName(s) }
        return parseFolder(s) ?? .unsupported
    }

    /// `.NETFramework,Version=v4.5,Profile=Client`.
    static func parseFrameworkName(_ s: String) -> NuGetFramework {
        let parts = s.split(separator: ",").map { $0.trimmingWhitespace() }
        guard let id = canonicalIdentifier(parts[0]) else { return .unsupported }
        var version: [Int] = [0, 0]
        var profile = ""
        for p in parts.dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { continue }
            if kv[0].lowercased() == "version" {
                var v = kv[1]
                if v.lowercased().hasPrefix("v") { v.removeFirst() }
                guard let parsed = parseDottedVersion(v) else { return .unsupported }
                version = parsed
            } else if kv[0].lowercased() == "profile" {
                profile = kv[1]
            }
        }
        return make(id, version, profile: profile, platform: "", platformVersion: [])
    }

    /// `ParseFolder`: an identifier of letters and dots (short `net`, long `.NETFramework`, or a
    /// synonym, any case), a version (`4.5`, or digits one per part: `451` is 4.5.1), and an
    /// optional `-profile` (`client`, `Profile259`, `net45+win8` for portable, a platform such as
    /// `windows7.0` for .NET 5+).
    static func parseFolder(_ s: String) -> NuGetFramework? {
        var main = s
        var suffix = ""
        if let dash = s.firstIndex(of: "-") {
            main = String(s[..<dash])
            suffix = String(s[s.index(after: dash)...])
        }
        let idText = String(main.prefix(while: { $0.isLetter || $0 == "." }))
        var versionText = String(main.dropFirst(idText.count))
        guard !idText.isEmpty, let id = canonicalIdentifier(idText) else { return nil }
        if versionText.lowercased().hasPrefix("v") { versionText.removeFirst() }
        var version: [Int]
        if versionText.isEmpty {
            version = [0, 0]
        } else if versionText.contains(".") {
            guard let v = parseDottedVersion(versionText) else { return nil }
            version = v
        } else {
            guard versionText.allSatisfy({ $0.isASCII && $0.isNumber }), versionText.count <= 4 else { return nil }
            version = versionText.compactMap { $0.wholeNumberValue }
        }
        if id == ".NETPortable" {
            return make(id, version, profile: suffix, platform: "", platformVersion: [])
        }
        var canonical = id
        // `net5.0` and later are .NETCoreApp, written `net`; they may carry a platform.
        if id == ".NETFramework", (version.first ?? 0) >= 5 { canonical = ".NETCoreApp" }
        if canonical == ".NETCoreApp", (version.first ?? 0) >= 5, !suffix.isEmpty {
            let platform = String(suffix.prefix(while: { $0.isLetter }))
            let pv = String(suffix.dropFirst(platform.count))
            return make(
                canonical, version, profile: "", platform: platform,
                platformVersion: pv.isEmpty ? [] : (parseDottedVersion(pv) ?? []))
        }
        return make(canonical, version, profile: suffix, platform: "", platformVersion: [])
    }

    static func make(_ id: String, _ version: [Int], profile: String, platform: String, platformVersion: [Int])
        -> NuGetFramework
    {
        NuGetFramework(
            identifier: id, version: version, profile: profile, platform: platform, platformVersion: platformVersion)
    }

    static func canonicalIdentifier(_ s: String) -> String? {
        let lower = s.lowercased()
        if let long = identifiers.first(where: { $0.long.lowercased() == lower || $0.short == lower }) {
            return long.long
        }
        return synonyms[lower]
    }

    static func parseDottedVersion(_ s: String) -> [Int]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var out: [Int] = []
        for p in parts {
            guard !p.isEmpty, p.allSatisfy(\.isNumber), let n = Int(p), n <= Int(Int32.max) else { return nil }
            out.append(n)
        }
        return out
    }

    /// `GetShortFolderName()`.
    public var shortFolderName: String {
        switch identifier {
        case "Any": return "any"
        case "Unsupported": return "unsupported"
        case "native": return "native"
        default: break
        }
        let major = version.first ?? 0
        if identifier == ".NETCoreApp", major >= 5 {
            var s = "net" + Self.dotted(version)
            if !platform.isEmpty {
                s += "-" + platform.lowercased() + (platformVersion.isEmpty ? "" : Self.dotted(platformVersion))
            }
            return s
        }
        guard let short = Self.identifiers.first(where: { $0.long == identifier })?.short else { return "unsupported" }
        if identifier == ".NETPortable" {
            var frameworks = profile
            if profile.lowercased().hasPrefix("profile"), let n = Int(profile.dropFirst(7)),
                let list = Self.portableProfiles[n]
            {
                frameworks = list
            }
            // NuGet leaves out the optional Mono/Xamarin members of a portable profile and names
            // Windows Store by its `win` equivalent (`DefaultPortableFrameworkMappings`).
            let optional: Set<String> = [
                "MonoAndroid", "MonoTouch", "MonoMac", "Xamarin.iOS", "Xamarin.Mac", "Xamarin.PlayStation3",
                "Xamarin.PlayStation4", "Xamarin.PlayStationVita", "Xamarin.WatchOS", "Xamarin.TVOS",
                "Xamarin.Xbox360", "Xamarin.XboxOne",
            ]
            let names = frameworks.split(separator: "+").map { Self.parse(String($0)) }
                .filter { !optional.contains($0.identifier) }
                .map { f -> String in
                    guard f.identifier == ".NETCore" else { return f.shortFolderName }
                    return f.version.starts(with: [4, 5, 1])
                        ? "win81" : f.version.starts(with: [4, 5]) ? "win8" : f.shortFolderName
                }
            // The portable version is written when it is not 0.0 (`.NETPortable4.5-Profile111` is
            // `portable45-net45+win8+wpa81`, as the NuGet client reads it back).
            return "portable" + Self.versionString(version, short: short) + "-"
                + names.sorted { $0.lowercased() < $1.lowercased() }.joined(separator: "+")
        }
        var s = short + Self.versionString(version, short: short)
        // `-full` is the default profile and is not written.
        if !profile.isEmpty, profile.lowercased() != "full" {
            let p = profile.lowercased()
            s += "-" + (p == "client" ? "client" : Self.profileShortName(p))
        }
        return s
    }

    /// `DefaultFrameworkMappings.ProfileShortNames`.
    static func profileShortName(_ p: String) -> String {
        switch p {
        case "windowsphone": return "wp"
        case "windowsphone71": return "wp71"
        case "compactframework": return "cf"
        default: return p
        }
    }

    static func dotted(_ v: [Int]) -> String {
        var parts = v
        while parts.count > 2 && parts.last == 0 { parts.removeLast() }
        while parts.count < 2 { parts.append(0) }
        return parts.map(String.init).joined(separator: ".")
    }

    static func versionString(_ v: [Int], short: String) -> String {
        // A framework without a version (`monoandroid`, `net`) is written without one.
        if v.allSatisfy({ $0 == 0 }) { return "" }
        if dottedShortNames.contains(short) || v.contains(where: { $0 > 9 }) { return dotted(v) }
        var parts = v
        let minimum = twoDigitShortNames.contains(short) ? 2 : 1
        while parts.count > minimum && parts.last == 0 { parts.removeLast() }
        while parts.count < minimum { parts.append(0) }
        return parts.map(String.init).joined()
    }
}
