import Foundation

/// A fresh temporary folder, removed by the caller with `cleanup()`.
public struct TemporaryFolder: Sendable {
    public let path: String

    public init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("shelf-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    public func sub(_ name: String) -> String { path + "/" + name }
    public func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Every regular file below a folder, relative path to bytes.
public func snapshot(_ folder: String, excluding: (String) -> Bool = { _ in false }) throws -> [String: Data] {
    var result: [String: Data] = [:]
    let base = URL(fileURLWithPath: folder).standardizedFileURL.path
    guard let e = FileManager.default.enumerator(atPath: base) else { return result }
    while let rel = e.nextObject() as? String {
        let full = base + "/" + rel
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue, !excluding(rel)
        else {
            continue
        }
        result[rel] = try Data(contentsOf: URL(fileURLWithPath: full))
    }
    return result
}

/// Whether a path is Shelf's records or the catalog: what differs between a feed built step by
/// step and one built at once from the same input (the catalog is the feed's history).
public func isHistory(_ path: String) -> Bool { path.hasPrefix(".shelf/") || path.hasPrefix("catalog/") }

/// A feed's files without its history: Shelf's records and the catalog left out, and in the
/// registration documents, what they say of the catalog (each `commitId` and `commitTimeStamp`,
/// and the time in a catalog leaf's address) masked. Two feeds of the same input are the same
/// in this view, however their histories went.
public func historyFreeSnapshot(_ folder: String, excluding: (String) -> Bool = { _ in false }) throws -> [String:
    Data]
{
    var files = try snapshot(folder) { isHistory($0) || excluding($0) }
    for (path, data) in files where path.hasPrefix("registration") && path.hasSuffix(".json") {
        files[path] = Data(withoutCatalogHistory(String(decoding: data, as: UTF8.self)).utf8)
    }
    return files
}

/// A registration document with its catalog commits and catalog leaf times masked.
public func withoutCatalogHistory(_ text: String) -> String {
    text.replacing(#/"commitId": "[^"]*"/#, with: #""commitId": "-""#)
        .replacing(#/"commitTimeStamp": "[^"]*"/#, with: #""commitTimeStamp": "-""#)
        .replacing(#/catalog/data/[0-9.]+/#, with: "catalog/data/-")
}
