import Foundation
import NuGetCore

/// Renders the flat container (`PackageBaseAddress/3.0.0`): per id `index.json` with the
/// lowercase normalized versions in NuGet order, and per version the `.nupkg`, the `.nuspec`, the
/// `.nupkg.sha512` and the embedded icon, readme and license file; with a checked symbol
/// package, the `.snupkg` and its PDBs under `symbols/` by their SSQP keys.
///
/// The same tree is a NuGet V3 local-folder source (`LocalFolderUtility`, FeedType FileSystemV3),
/// which needs the `.nuspec` and `.nupkg.sha512` beside every `.nupkg`.
public struct FlatContainerRenderer: Sendable {
    public init() {}

    public func render(_ registration: PackageRegistration) -> [FeedDocument] {
        let lid = registration.lowerId
        var docs: [FeedDocument] = []
        for v in registration.versions {
            let lv = v.lowerVersion
            let a = v.archive
            docs.append(
                FeedDocument(
                    path: FeedLayout.nupkg(lid, lv),
                    content: .file(path: a.path, size: a.size, sha512: a.sha512, identity: a.readIdentity),
                    contentType: "application/octet-stream", phase: .content))
            docs.append(
                FeedDocument(
                    path: FeedLayout.nuspec(lid, lv),
                    content: .packageEntry(package: a.path, entry: a.nuspecEntry, size: Int64(Nuspec.maxSize)),
                    contentType: "application/xml", phase: .content))
            docs.append(
                FeedDocument(
                    path: FeedLayout.sha512(lid, lv), content: .bytes(Data(a.sha512.utf8)),
                    // After the .nupkg and .nuspec: a local-folder reader sees the version only
                    // once its .sha512 exists, so it never sees a half-copied one.
                    contentType: "text/plain", phase: .leaves))
            func embedded(_ file: PackageArchive.EmbeddedFile?, at path: (String) -> String, type: (String) -> String) {
                guard let file else { return }
                docs.append(
                    FeedDocument(
                        path: path(file.fileExtension),
                        content: .packageEntry(package: a.path, entry: file.entry, size: file.size),
                        contentType: type(file.fileExtension), phase: .content))
            }
            embedded(a.icon, at: { FeedLayout.icon(lid, lv, $0) }, type: Self.contentType(forExtension:))
            embedded(a.readme, at: { _ in FeedLayout.readme(lid, lv) }, type: { _ in "text/markdown; charset=utf-8" })
            embedded(a.licenseFile, at: { FeedLayout.license(lid, lv, $0) }, type: Self.contentType(forExtension:))
            // The symbol package beside the package, and each of its PDBs in the symbol store.
            if let s = v.symbols {
                docs.append(
                    FeedDocument(
                        path: FeedLayout.snupkg(lid, lv),
                        content: .file(path: s.path, size: s.size, sha512: s.sha512, identity: nil),
                        contentType: "application/octet-stream", phase: .content))
                for f in s.files {
                    docs.append(
                        FeedDocument(
                            path: FeedLayout.symbolFile(f.key),
                            content: .packageEntry(package: s.path, entry: f.entry, size: f.size),
                            contentType: "application/octet-stream", phase: .content))
                }
            }
        }
        let versions = JSON.array(registration.versions.map { .string($0.lowerVersion) })
        docs.append(.json(FeedLayout.flatIndex(lid), .object([.init("versions", versions)]), phase: .indexes))
        return docs
    }

    static func contentType(forExtension ext: String) -> String {
        switch ext {
        case ".png": return "image/png"
        case ".jpg", ".jpeg": return "image/jpeg"
        case ".gif": return "image/gif"
        case ".svg": return "image/svg+xml"
        case ".ico": return "image/x-icon"
        case ".webp": return "image/webp"
        case ".md": return "text/markdown; charset=utf-8"
        case ".txt", "": return "text/plain; charset=utf-8"
        default: return "application/octet-stream"
        }
    }
}
