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
