/// NuGet's package id rule: `PackageIdValidator` in NuGet.Client
/// (`src/NuGet.Core/NuGet.Packaging/PackageCreation/Utility/PackageIdValidator.cs`): at most 100
/// characters, matching `^\w+([.-]\w+)*$` — word characters in runs separated by single dots or
/// hyphens, no separator at either end.
public enum PackageId {
    /// `PackageIdValidator.MaxPackageIdLength`.
    public static let maxLength = 100

    public static func isValid(_ id: String) -> Bool {
        guard !id.isEmpty, id.count <= maxLength else { return false }
        var previousWasSeparator = true  // the first character must be a word character
        for scalar in id.unicodeScalars {
            if scalar == "." || scalar == "-" {
                if previousWasSeparator { return false }
                previousWasSeparator = true
            } else if isWordCharacter(scalar) {
                previousWasSeparator = false
            } else {
                return false
            }
        }
        return !previousWasSeparator
    }

    /// .NET's `\w`: letters (Lu, Ll, Lt, Lm, Lo), nonspacing marks (Mn), decimal digits (Nd) and
    /// connector punctuation (Pc, which includes `_`).
    static func isWordCharacter(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII {
            let v = s.value
            return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F
        }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .nonspacingMark, .decimalNumber, .connectorPunctuation:
            return true
        default:
            return false
        }
    }

    /// True for `CON`, `PRN`, `AUX`, `NUL`, `COM0`-`COM9` and `LPT0`-`LPT9` in any case: names
    /// Windows reserves for devices (learn.microsoft.com, "Naming Files, Paths, and Namespaces"),
    /// so a folder `flatcontainer/con/` could not be created on a Windows host or share. Such ids
    /// match NuGet's id rule, so the rule alone does not catch them.
    public static func isReservedDeviceName(_ id: String) -> Bool {
        let lower = id.lowercased()
        if ["con", "prn", "aux", "nul"].contains(lower) { return true }
        if lower.count == 4, lower.hasPrefix("com") || lower.hasPrefix("lpt"), let last = lower.last, last.isASCII,
            last.isNumber
        {
            return true
        }
        return false
    }

    /// The lowercase form used in every feed path (`ToLowerInvariant`).
    public static func lowercased(_ id: String) -> String { id.lowercased() }
}
