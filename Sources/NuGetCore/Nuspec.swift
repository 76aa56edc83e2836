import Foundation

/// The metadata of a package, as its `.nuspec` declares it.
///
/// Field names follow the nuspec reference (learn.microsoft.com `nuget/reference/nuspec`) and
/// NuGet.Client `src/NuGet.Core/NuGet.Packaging/NuspecReader.cs`. Text fields are trimmed; absent
/// fields are nil or empty.
public struct Nuspec: Sendable, Hashable {
    // The fields live in one shared, copy-on-write box (`SharedFields`): copying one costs a retain.
    struct Fields: Sendable, Hashable {
        var id: String
        var versionText: String
        var version: NuGetVersion
        var title: String? = nil
        var authors: String? = nil
        var owners: String? = nil
        var description: String? = nil
        var summary: String? = nil
        var releaseNotes: String? = nil
        var copyright: String? = nil
        var language: String? = nil
        var tags: [String] = []
        var projectUrl: String? = nil
        var iconUrl: String? = nil
        var icon: String? = nil
        var readme: String? = nil
        var licenseUrl: String? = nil
        var license: License? = nil
        var requireLicenseAcceptance: Bool = false
        var developmentDependency: Bool = false
        var serviceable: Bool = false
        var minClientVersion: String? = nil
        var packageTypes: [PackageType] = []
        var repository: Repository? = nil
        var dependencyGroups: [DependencyGroup] = []
        var frameworkAssemblies: [FrameworkAssembly] = []
        var declared: DeclaredFlags = []
    }

    private var storage: SharedFields<Fields>

    public init(
        id: String,
        versionText: String,
        version: NuGetVersion,
        title: String?,
        authors: String?,
        owners: String?,
        description: String?,
        summary: String?,
        releaseNotes: String?,
        copyright: String?,
        language: String?,
        tags: [String],
        projectUrl: String?,
        iconUrl: String?,
        icon: String?,
        readme: String?,
        licenseUrl: String?,
        license: License?,
        requireLicenseAcceptance: Bool,
        developmentDependency: Bool,
        serviceable: Bool,
        minClientVersion: String?,
        packageTypes: [PackageType],
        repository: Repository?,
        dependencyGroups: [DependencyGroup],
        frameworkAssemblies: [FrameworkAssembly]
    ) {
        storage = SharedFields(
            Fields(
                id: id, versionText: versionText, version: version, title: title, authors: authors, owners: owners,
                description: description, summary: summary, releaseNotes: releaseNotes, copyright: copyright,
                language: language, tags: tags, projectUrl: projectUrl, iconUrl: iconUrl, icon: icon, readme: readme,
                licenseUrl: licenseUrl, license: license, requireLicenseAcceptance: requireLicenseAcceptance,
                developmentDependency: developmentDependency, serviceable: serviceable,
                minClientVersion: minClientVersion, packageTypes: packageTypes, repository: repository,
                dependencyGroups: dependencyGroups, frameworkAssemblies: frameworkAssemblies))
    }

    public var id: String {
        get { storage.fields.id }
        set { storage.fields.id = newValue }
    }
    /// The version exactly as written (`1.0.01`); `version` is its parsed form.
    public var versionText: String {
        get { storage.fields.versionText }
        set { storage.fields.versionText = newValue }
    }
    public var version: NuGetVersion {
        get { storage.fields.version }
        set { storage.fields.version = newValue }
    }
    public var title: String? {
        get { storage.fields.title }
        set { storage.fields.title = newValue }
    }
    public var authors: String? {
        get { storage.fields.authors }
        set { storage.fields.authors = newValue }
    }
    public var owners: String? {
        get { storage.fields.owners }
        set { storage.fields.owners = newValue }
    }
    public var description: String? {
        get { storage.fields.description }
        set { storage.fields.description = newValue }
    }
    public var summary: String? {
        get { storage.fields.summary }
        set { storage.fields.summary = newValue }
    }
    public var releaseNotes: String? {
        get { storage.fields.releaseNotes }
        set { storage.fields.releaseNotes = newValue }
    }
    public var copyright: String? {
        get { storage.fields.copyright }
        set { storage.fields.copyright = newValue }
    }
    public var language: String? {
        get { storage.fields.language }
        set { storage.fields.language = newValue }
    }
    public var tags: [String] {
        get { storage.fields.tags }
        set { storage.fields.tags = newValue }
    }
    public var projectUrl: String? {
        get { storage.fields.projectUrl }
        set { storage.fields.projectUrl = newValue }
    }
    public var iconUrl: String? {
        get { storage.fields.iconUrl }
        set { storage.fields.iconUrl = newValue }
    }
    /// Path of the embedded icon inside the package (`<icon>`).
    public var icon: String? {
        get { storage.fields.icon }
        set { storage.fields.icon = newValue }
    }
    /// Path of the embedded readme inside the package (`<readme>`).
    public var readme: String? {
        get { storage.fields.readme }
        set { storage.fields.readme = newValue }
    }
    public var licenseUrl: String? {
        get { storage.fields.licenseUrl }
        set { storage.fields.licenseUrl = newValue }
    }
    public var license: License? {
        get { storage.fields.license }
        set { storage.fields.license = newValue }
    }
    public var requireLicenseAcceptance: Bool {
        get { storage.fields.requireLicenseAcceptance }
        set { storage.fields.requireLicenseAcceptance = newValue }
    }
    public var developmentDependency: Bool {
        get { storage.fields.developmentDependency }
        set { storage.fields.developmentDependency = newValue }
    }
    public var serviceable: Bool {
        get { storage.fields.serviceable }
        set { storage.fields.serviceable = newValue }
    }
    public var minClientVersion: String? {
        get { storage.fields.minClientVersion }
        set { storage.fields.minClientVersion = newValue }
    }
    public var packageTypes: [PackageType] {
        get { storage.fields.packageTypes }
        set { storage.fields.packageTypes = newValue }
    }

    /// A symbol package's nuspec (the `SymbolsPackage` package type), not a package's.
    public var isSymbolsPackage: Bool {
        packageTypes.contains { $0.name.lowercased() == "symbolspackage" }
    }
    public var repository: Repository? {
        get { storage.fields.repository }
        set { storage.fields.repository = newValue }
    }
    public var dependencyGroups: [DependencyGroup] {
        get { storage.fields.dependencyGroups }
        set { storage.fields.dependencyGroups = newValue }
    }
    public var frameworkAssemblies: [FrameworkAssembly] {
        get { storage.fields.frameworkAssemblies }
        set { storage.fields.frameworkAssemblies = newValue }
    }
    /// Which of the yes/no elements the nuspec has at all: nuget.org's catalog writes
    /// `requireLicenseAcceptance`, `developmentDependency` and `serviceable` only then.
    public var declared: DeclaredFlags {
        get { storage.fields.declared }
        set { storage.fields.declared = newValue }
    }

    /// The yes/no elements a nuspec may have.
    public struct DeclaredFlags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let requireLicenseAcceptance = DeclaredFlags(rawValue: 1)
        public static let developmentDependency = DeclaredFlags(rawValue: 2)
        public static let serviceable = DeclaredFlags(rawValue: 4)
        /// A `<dependencies>` element, even an empty one (nuget.org's catalog then writes a group).
        public static let dependencies = DeclaredFlags(rawValue: 8)
        /// `<icon>` or `<readme>` with a `type` other than `file` (`type=""` too): nuget.org's
        /// catalog writes no `iconFile` or `readmeFile` for it (`nuspec.xslt`), though NuGet reads
        /// the element whatever its type.
        public static let iconOfOtherType = DeclaredFlags(rawValue: 16)
        public static let readmeOfOtherType = DeclaredFlags(rawValue: 32)
    }

    /// `<license type="expression|file" version="...">`.
    public struct License: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable { case expression, file }
        public var kind: Kind
        public var text: String
        public var version: String?
    }

    /// `<packageType name="..." version="..."/>`.
    public struct PackageType: Sendable, Hashable {
        public var name: String
        public var version: String?
    }

    /// `<repository type url branch commit/>`.
    public struct Repository: Sendable, Hashable {
        public var type: String?
        public var url: String?
        public var branch: String?
        public var commit: String?
    }

    /// One `<group targetFramework="...">`, or the flat `<dependency>` list as one group with no
    /// framework.
    public struct DependencyGroup: Sendable, Hashable {
        /// The attribute as written (`.NETStandard2.0`, `net45`), nil when absent.
        public var targetFramework: String?
        public var dependencies: [Dependency]
    }

    /// `<dependency id version include exclude/>`.
    public struct Dependency: Sendable, Hashable {
        public var id: String
        /// The `version` attribute as written; nil when absent or empty.
        public var versionText: String?
        /// The parsed range; `VersionRange.all` when no version is given.
        public var range: VersionRange
        public var include: String?
        public var exclude: String?
    }

    /// `<frameworkAssembly assemblyName targetFramework/>`.
    public struct FrameworkAssembly: Sendable, Hashable {
        public var assemblyName: String
        public var targetFramework: String?
    }

    /// True when the package is SemVer 2.0.0 for feed purposes: its own version is, or a
    /// dependency range names a SemVer 2.0.0 version (nuget.org's rule; see
    /// `../shared/protocol/README.md`).
    public var isSemVer2: Bool {
        version.isSemVer2 || dependencyGroups.contains { $0.dependencies.contains { $0.range.isSemVer2 } }
    }
}

/// Why a nuspec cannot be read. Each message says what is wrong and what to do.
public enum NuspecError: Error, Sendable, Equatable, CustomStringConvertible {
    case doctype
    case malformed(line: Int, reason: String)
    case noMetadata
    case missingId
    case invalidId(String)
    case reservedId(String)
    case missingVersion
    case invalidVersion(String)
    case dependencyWithoutId(group: String?)
    case invalidDependencyRange(id: String, range: String)

    public var description: String {
        switch self {
        case .doctype:
            return "the nuspec has a DOCTYPE or entity declaration, which NuGet refuses; repack it without one"
        case .malformed(let line, let reason):
            return "the nuspec is not well-formed XML (line \(line): \(reason)); fix the nuspec and repack"
        case .noMetadata:
            return "the nuspec has no <metadata> element; repack with a valid nuspec"
        case .missingId:
            return "the nuspec has no <id>; set one and repack"
        case .reservedId(let id):
            return "the package id '\(id)' is a reserved device name on Windows, so its folder cannot exist on a "
                + "Windows server or share; rename the package and repack"
        case .invalidId(let id):
            return
                "the package id '\(ZipAudit.printable(id))' is not valid NuGet (letters, digits, _ in runs separated by . or -, "
                + "at most \(PackageId.maxLength) characters); rename it and repack"
        case .missingVersion:
            return "the nuspec has no <version>; set one and repack"
        case .invalidVersion(let v):
            return
                "the version '\(ZipAudit.printable(v))' is not a valid NuGet version (like 1.2.3 or 1.2.3-beta.1); fix it and repack"
        case .dependencyWithoutId(let group):
            return "a <dependency> \(group.map { "in group '\($0)' " } ?? "")has no id, which makes the NuGet "
                + "client fail on this package; fix the nuspec and repack"
        case .invalidDependencyRange(let id, let range):
            return
                "the dependency on '\(ZipAudit.printable(id))' has version '\(ZipAudit.printable(range))', which is not a valid NuGet version range; "
                + "fix it and repack"
        }
    }
}

extension Nuspec {
    /// Upper bound on a nuspec's size; real ones are a few KB, the largest seen well under 1 MB.
    public static let maxSize = 4 * 1024 * 1024

    /// Parses nuspec bytes. Any namespace (none, 2010/07 … 2013/05, or another) is accepted:
    /// elements are matched by local name, as NuGet does. A DOCTYPE is refused, as NuGet's
    /// `XmlReader` (DtdProcessing.Prohibit) refuses it, so no entity is ever expanded or fetched.
    public init(data: Data) throws(NuspecError) {
        let root: XMLElementNode
        do {
            root = try XMLElementNode.parse(data)
        } catch is XMLDoctypeError {
            throw .doctype
        } catch let error as XMLTreeError {
            throw .malformed(line: error.line, reason: error.reason)
        } catch {
            throw .malformed(line: 0, reason: "\(error)")
        }
        guard root.name == "package", let md = root.child("metadata") else { throw .noMetadata }

        func text(_ name: String) -> String? {
            guard let s = md.child(name)?.text.trimmingWhitespace(newlines: true), !s.isEmpty else {
                return nil
            }
            return s
        }
        func flag(_ name: String) -> Bool {
            text(name).map { $0.lowercased() == "true" } ?? false
        }

        guard let id = text("id") else { throw .missingId }
        guard PackageId.isValid(id) else { throw .invalidId(id) }
        guard !PackageId.isReservedDeviceName(id) else { throw .reservedId(id) }
        guard let versionText = text("version") else { throw .missingVersion }
        guard let version = NuGetVersion(versionText) else { throw .invalidVersion(versionText) }

        storage = SharedFields(Fields(id: id, versionText: versionText, version: version))
        title = text("title")
        authors = text("authors")
        owners = text("owners")
        description = text("description")
        summary = text("summary")
        releaseNotes = text("releaseNotes")
        copyright = text("copyright")
        language = text("language")
        // One of each tag, in order: nuget.org's catalog keeps one of identical values (it is a
        // graph), and its registration and search take the catalog's tags.
        var seenTags = Set<String>()
        tags = Self.splitTags(text("tags") ?? "").filter { seenTags.insert($0).inserted }
        projectUrl = text("projectUrl")
        iconUrl = text("iconUrl")
        icon = text("icon")
        readme = text("readme")
        licenseUrl = text("licenseUrl")
        if let el = md.child("license") {
            let value = el.text.trimmingWhitespace(newlines: true)
            let kind = License.Kind(rawValue: (el.attributes["type"] ?? "").lowercased())
            if let kind, !value.isEmpty {
                license = License(kind: kind, text: value, version: el.attributes["version"])
            } else {
                license = nil
            }
        } else {
            license = nil
        }
        requireLicenseAcceptance = flag("requireLicenseAcceptance")
        developmentDependency = flag("developmentDependency")
        serviceable = flag("serviceable")
        var declared: DeclaredFlags = []
        for (name, flag) in [
            ("requireLicenseAcceptance", DeclaredFlags.requireLicenseAcceptance),
            ("developmentDependency", .developmentDependency), ("serviceable", .serviceable),
            ("dependencies", .dependencies),
        ] where md.child(name) != nil {
            declared.insert(flag)
        }
        for (name, flag) in [("icon", DeclaredFlags.iconOfOtherType), ("readme", .readmeOfOtherType)] {
            if let type = md.child(name)?.attributes["type"], type != "file" { declared.insert(flag) }
        }
        self.declared = declared
        minClientVersion = md.attributes["minClientVersion"].flatMap { $0.isEmpty ? nil : $0 }
        packageTypes = Self.packageTypes(md)
        repository = md.child("repository").map {
            Repository(
                type: $0.attributes["type"], url: $0.attributes["url"], branch: $0.attributes["branch"],
                commit: $0.attributes["commit"])
        }
        dependencyGroups = try Self.dependencyGroups(md.child("dependencies"))
        frameworkAssemblies =
            md.child("frameworkAssemblies")?.children(named: "frameworkAssembly").compactMap { el in
                guard let name = el.attributes["assemblyName"], !name.isEmpty else { return nil }
                return FrameworkAssembly(assemblyName: name, targetFramework: el.attributes["targetFramework"])
            } ?? []
    }

    /// Tags as nuget.org splits them (NuGetGallery `src/Catalog/Helpers/Utils.cs` `SplitTags`,
    /// which its catalog also uses to split a framework assembly's `targetFramework`; its
    /// registration and search take the catalog's): on spaces, tabs, commas, semicolons and bars,
    /// nothing else (a line break stays inside a tag, as on nuget.org).
    public static func splitTags(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == ";" || $0 == "|" || $0 == "\t" })
            .map(String.init)
    }

    /// Every `<packageType>` of every `<packageTypes>` element, in order, as nuget.org's catalog
    /// reads them (NuGetGallery `src/Catalog/xslt/nuspec.xslt`: `normalize-space` of `name` and
    /// `version`, so surrounding white space goes and inner runs become one space; exact
    /// duplicates, which share a catalog `@id`, are one). A type without a name is left out
    /// (NuGet's `NuspecReader` refuses it, nuget.org refuses the push).
    static func packageTypes(_ metadata: XMLElementNode) -> [PackageType] {
        var out: [PackageType] = []
        var seen = Set<PackageType>()
        for node in metadata.children(named: "packageTypes") {
            for el in node.children(named: "packageType") {
                let name = normalizeSpace(el.attributes["name"] ?? "")
                guard !name.isEmpty else { continue }
                let type = PackageType(name: name, version: el.attributes["version"].map(normalizeSpace))
                if seen.insert(type).inserted { out.append(type) }
            }
        }
        return out
    }

    /// XPath's `normalize-space`: white space (space, tab, CR, LF) trimmed, inner runs made one space.
    static func normalizeSpace(_ s: String) -> String {
        s.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
            .joined(separator: " ")
    }

    /// `NuspecReader.GetDependencyGroups`: when any `<group>` exists, the flat `<dependency>`
    /// elements beside it are ignored; otherwise the flat list is one group with no framework.
    private static func dependencyGroups(_ el: XMLElementNode?) throws(NuspecError) -> [DependencyGroup] {
        guard let el else { return [] }
        let groups = el.children(named: "group")
        if !groups.isEmpty {
            var result: [DependencyGroup] = []
            for g in groups {
                let tfm = g.attributes["targetFramework"].flatMap { $0.trimmingWhitespace() }
                let deps = try dependencies(g.children(named: "dependency"), group: tfm)
                result.append(DependencyGroup(targetFramework: tfm?.isEmpty == true ? nil : tfm, dependencies: deps))
            }
            return result
        }
        let flat = el.children(named: "dependency")
        return flat.isEmpty
            ? [] : [DependencyGroup(targetFramework: nil, dependencies: try dependencies(flat, group: nil))]
    }

    private static func dependencies(_ els: [XMLElementNode], group: String?) throws(NuspecError) -> [Dependency] {
        var result: [Dependency] = []
        for d in els {
            guard let id = d.attributes["id"]?.trimmingWhitespace(), !id.isEmpty else {
                throw .dependencyWithoutId(group: group)
            }
            let versionText = d.attributes["version"].flatMap {
                $0.trimmingWhitespace().isEmpty ? nil : $0
            }
            var range = VersionRange.all
            if let versionText {
                guard let r = VersionRange(versionText) else {
                    throw .invalidDependencyRange(id: id, range: versionText)
                }
                range = r
            }
            result.append(
                Dependency(
                    id: id, versionText: versionText, range: range, include: d.attributes["include"],
                    exclude: d.attributes["exclude"]))
        }
        return result
    }

}
