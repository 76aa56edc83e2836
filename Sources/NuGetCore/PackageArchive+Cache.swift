import Foundation

/// A compact binary form of `PackageArchive`, for the feed's read cache: a rebuild takes the
/// record of every unchanged package file from it instead of opening the file again. Binary and
/// hand-written because Foundation's JSON or property-list decoders take seconds for tens of
/// thousands of records, and the cache is read on every build.
public struct CacheWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func int(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    public mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        int(Int64(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    public mutating func optional(_ s: String?) {
        bool(s != nil)
        if let s { string(s) }
    }
    /// Bytes as they are, with their length.
    public mutating func raw(_ b: [UInt8]) {
        int(Int64(b.count))
        bytes.append(contentsOf: b)
    }
    public mutating func strings(_ list: [String]) {
        int(Int64(list.count))
        for s in list { string(s) }
    }
}

/// Reads what `CacheWriter` wrote; every read is bounds-checked, so a damaged file throws.
public struct CacheReader {
    public struct Damaged: Error {
        public init() {}
    }
    let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var atEnd: Bool { offset >= bytes.count }

    public mutating func int() throws(Damaged) -> Int64 {
        guard offset + 8 <= bytes.count else { throw Damaged() }
        var v: Int64 = 0
        for i in 0..<8 { v |= Int64(bytes[offset + i]) << (8 * i) }
        offset += 8
        return v
    }
    public mutating func bool() throws(Damaged) -> Bool {
        guard offset < bytes.count else { throw Damaged() }
        offset += 1
        return bytes[offset - 1] != 0
    }
    public mutating func string() throws(Damaged) -> String {
        let n = Int(try int())
        guard n >= 0, n <= bytes.count - offset else { throw Damaged() }
        let s = String(decoding: bytes[offset..<offset + n], as: UTF8.self)
        offset += n
        return s
    }
    public mutating func raw() throws(Damaged) -> [UInt8] {
        let n = Int(try int())
        guard n >= 0, n <= bytes.count - offset else { throw Damaged() }
        offset += n
        return Array(bytes[offset - n..<offset])
    }
    /// Skips what `raw` would read, giving its range in the buffer.
    public mutating func skipRaw() throws(Damaged) -> Range<Int> {
        let n = Int(try int())
        guard n >= 0, n <= bytes.count - offset else { throw Damaged() }
        offset += n
        return offset - n..<offset
    }
    /// A count of items that follow, each at least a byte: a negative or larger one is damage.
    public mutating func count() throws(Damaged) -> Int {
        let n = try int()
        guard n >= 0, n <= Int64(bytes.count - offset) else { throw Damaged() }
        return Int(n)
    }
    /// `offset..<offset + length` when it lies within `0..<limit` (without overflowing on a
    /// damaged record's numbers); else nil.
    public static func range(offset: Int64, length: Int64, within limit: Int) -> Range<Int>? {
        guard offset >= 0, length >= 0, offset <= Int64(limit), length <= Int64(limit) - offset else { return nil }
        return Int(offset)..<Int(offset + length)
    }
    public mutating func optional() throws(Damaged) -> String? { try bool() ? try string() : nil }
    public mutating func strings() throws(Damaged) -> [String] {
        let n = Int(try int())
        guard n >= 0, n <= bytes.count else { throw Damaged() }
        var out: [String] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try string()) }
        return out
    }
}

extension PackageArchive {
    /// Appends this record (the path is stored as given; the caller makes it relative).
    public func encode(into w: inout CacheWriter, path storedPath: String) {
        w.string(storedPath)
        w.int(size)
        w.string(sha512)
        w.string(nuspecEntry)
        w.int(Int64((packedAt.timeIntervalSince1970 * 1000).rounded()))
        w.bool(isSigned)
        w.optional(signerFingerprint)
        for file in [icon, readme, licenseFile] {
            w.bool(file != nil)
            if let file {
                w.string(file.entry)
                w.int(file.size)
                w.string(file.fileExtension)
            }
        }
        w.strings(warnings)
        nuspec.encode(into: &w)
        w.int(Int64(entries.count))
        for e in entries {
            w.string(e.fullName)
            w.int(e.length)
            w.int(e.compressedLength)
            w.bool(e.splitsOnBackslash)
        }
    }

    /// Reads a record; `resolve` turns the stored path back into the file's path.
    public static func decode(from r: inout CacheReader, resolve: (String) -> String) throws(CacheReader.Damaged)
        -> PackageArchive
    {
        let path = resolve(try r.string())
        let size = try r.int()
        let sha512 = try r.string()
        let nuspecEntry = try r.string()
        let packedAt = Date(timeIntervalSince1970: Double(try r.int()) / 1000)
        let isSigned = try r.bool()
        let signer = try r.optional()
        var files: [EmbeddedFile?] = []
        for _ in 0..<3 {
            if try r.bool() {
                files.append(EmbeddedFile(entry: try r.string(), size: try r.int(), fileExtension: try r.string()))
            } else {
                files.append(nil)
            }
        }
        let warnings = try r.strings()
        let nuspec = try Nuspec.decode(from: &r)
        let count = try r.int()
        guard count >= 0, count < 1 << 20 else { throw CacheReader.Damaged() }
        var entries: [Entry] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            entries.append(
                Entry(
                    fullName: try r.string(), length: try r.int(), compressedLength: try r.int(),
                    splitsOnBackslash: try r.bool()))
        }
        return PackageArchive(
            path: path, size: size, sha512: sha512, nuspec: nuspec, nuspecEntry: nuspecEntry, packedAt: packedAt,
            isSigned: isSigned, signerFingerprint: signer, icon: files[0], readme: files[1], licenseFile: files[2],
            warnings: warnings, entries: entries)
    }
}

extension Nuspec {
    func encode(into w: inout CacheWriter) {
        w.string(id)
        w.string(versionText)
        version.encode(into: &w)
        for s in [title, authors, owners, description, summary, releaseNotes, copyright, language] { w.optional(s) }
        w.strings(tags)
        for s in [projectUrl, iconUrl, icon, readme, licenseUrl] { w.optional(s) }
        w.bool(license != nil)
        if let license {
            w.string(license.kind.rawValue)
            w.string(license.text)
            w.optional(license.version)
        }
        w.bool(requireLicenseAcceptance)
        w.bool(developmentDependency)
        w.bool(serviceable)
        w.optional(minClientVersion)
        w.int(Int64(packageTypes.count))
        for t in packageTypes {
            w.string(t.name)
            w.optional(t.version)
        }
        w.bool(repository != nil)
        if let repository {
            for s in [repository.type, repository.url, repository.branch, repository.commit] { w.optional(s) }
        }
        w.int(Int64(dependencyGroups.count))
        for g in dependencyGroups {
            w.optional(g.targetFramework)
            w.int(Int64(g.dependencies.count))
            for d in g.dependencies {
                w.string(d.id)
                w.optional(d.versionText)
                d.range.encode(into: &w)
                w.optional(d.include)
                w.optional(d.exclude)
            }
        }
        w.int(Int64(declared.rawValue))
        w.int(Int64(frameworkAssemblies.count))
        for f in frameworkAssemblies {
            w.string(f.assemblyName)
            w.optional(f.targetFramework)
        }
    }

    static func decode(from r: inout CacheReader) throws(CacheReader.Damaged) -> Nuspec {
        let id = try r.string()
        let versionText = try r.string()
        let version = try NuGetVersion.decode(from: &r)
        var texts: [String?] = []
        for _ in 0..<8 { texts.append(try r.optional()) }
        let tags = try r.strings()
        var urls: [String?] = []
        for _ in 0..<5 { urls.append(try r.optional()) }
        var license: License?
        if try r.bool() {
            guard let kind = License.Kind(rawValue: try r.string()) else { throw CacheReader.Damaged() }
            license = License(kind: kind, text: try r.string(), version: try r.optional())
        }
        let requireLicenseAcceptance = try r.bool()
        let developmentDependency = try r.bool()
        let serviceable = try r.bool()
        let minClientVersion = try r.optional()
        var packageTypes: [PackageType] = []
        for _ in 0..<(try r.count()) {
            packageTypes.append(PackageType(name: try r.string(), version: try r.optional()))
        }
        var repository: Repository?
        if try r.bool() {
            repository = Repository(
                type: try r.optional(), url: try r.optional(), branch: try r.optional(), commit: try r.optional())
        }
        var groups: [DependencyGroup] = []
        for _ in 0..<(try r.count()) {
            let tfm = try r.optional()
            var deps: [Dependency] = []
            for _ in 0..<(try r.count()) {
                deps.append(
                    Dependency(
                        id: try r.string(), versionText: try r.optional(), range: try VersionRange.decode(from: &r),
                        include: try r.optional(), exclude: try r.optional()))
            }
            groups.append(DependencyGroup(targetFramework: tfm, dependencies: deps))
        }
        let declared = DeclaredFlags(rawValue: UInt8(truncatingIfNeeded: try r.int()))
        var assemblies: [FrameworkAssembly] = []
        for _ in 0..<(try r.count()) {
            assemblies.append(FrameworkAssembly(assemblyName: try r.string(), targetFramework: try r.optional()))
        }
        var nuspec = Nuspec(
            id: id, versionText: versionText, version: version, title: texts[0], authors: texts[1], owners: texts[2],
            description: texts[3], summary: texts[4], releaseNotes: texts[5], copyright: texts[6], language: texts[7],
            tags: tags, projectUrl: urls[0], iconUrl: urls[1], icon: urls[2], readme: urls[3], licenseUrl: urls[4],
            license: license, requireLicenseAcceptance: requireLicenseAcceptance,
            developmentDependency: developmentDependency, serviceable: serviceable, minClientVersion: minClientVersion,
            packageTypes: packageTypes, repository: repository, dependencyGroups: groups,
            frameworkAssemblies: assemblies)
        nuspec.declared = declared
        return nuspec
    }
}

extension NuGetVersion {
    /// The parsed parts, so that reading the cache does not parse versions again.
    func encode(into w: inout CacheWriter) {
        for n in [major, minor, patch, revision] { w.int(Int64(n)) }
        w.strings(releaseLabels)
        w.string(metadata)
        w.string(originalString)
    }

    static func decode(from r: inout CacheReader) throws(CacheReader.Damaged) -> NuGetVersion {
        let numbers = [Int(try r.int()), Int(try r.int()), Int(try r.int()), Int(try r.int())]
        return NuGetVersion(
            cachedNumbers: numbers, releaseLabels: try r.strings(), metadata: try r.string(),
            originalString: try r.string())
    }
}

extension VersionRange {
    func encode(into w: inout CacheWriter) {
        w.bool(minVersion != nil)
        minVersion?.encode(into: &w)
        w.bool(isMinInclusive)
        w.bool(maxVersion != nil)
        maxVersion?.encode(into: &w)
        w.bool(isMaxInclusive)
        w.optional(floatText)
    }

    static func decode(from r: inout CacheReader) throws(CacheReader.Damaged) -> VersionRange {
        let min = try r.bool() ? try NuGetVersion.decode(from: &r) : nil
        let minInclusive = try r.bool()
        let max = try r.bool() ? try NuGetVersion.decode(from: &r) : nil
        let maxInclusive = try r.bool()
        let float = try r.optional()
        return VersionRange(
            minVersion: min, isMinInclusive: minInclusive, maxVersion: max, isMaxInclusive: maxInclusive,
            floatText: float)
    }
}
