import Foundation
import NuGetCore

/// Renders the flat container (`PackageBaseAddress/3.0.0`): per id `index.json` with the
/// lowercase normalized versions in NuGet order, and per version the `.nupkg`, the `.nuspec`, the
/// `.nupkg.sha512` and the embedded icon, readme and license file.
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
                    path: FeedLayout.nupkg(lid, lv), content: .file(path: a.path, size: a.size, sha512: a.sha512),
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
            if let icon = a.icon {
                docs.append(
                    FeedDocument(
                        path: FeedLayout.icon(lid, lv, icon.fileExtension),
                        content: .packageEntry(package: a.path, entry: icon.entry, size: icon.size),
                        contentType: Self.contentType(forExtension: icon.fileExtension), phase: .content))
            }
            if let readme = a.readme {
                docs.append(
                    FeedDocument(
                        path: FeedLayout.readme(lid, lv),
                        content: .packageEntry(package: a.path, entry: readme.entry, size: readme.size),
                        contentType: "text/markdown; charset=utf-8", phase: .content))
            }
            if let license = a.licenseFile {
                docs.append(
                    FeedDocument(
                        path: FeedLayout.license(lid, lv, license.fileExtension),
                        content: .packageEntry(package: a.path, entry: license.entry, size: license.size),
                        contentType: Self.contentType(forExtension: license.fileExtension.isEmpty ? ".txt" : license.fileExtension),
                        phase: .content))
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
