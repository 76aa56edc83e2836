import Foundation
import NuGetCore

/// Lists the regular files below folders of the output folder, with `readdir` (each entry's type
/// from the listing): what a build whose records cannot say which files earlier builds wrote
/// looks through (hundreds of thousands of files in a large feed).
enum FolderListing {
    /// The regular files below `folders` (relative to `root`), as relative paths; a folder that
    /// is not there, or is a link (it leads out of the output folder), has none.
    static func files(root: String, below folders: [String]) -> [String] {
        var out: [String] = []
        func walk(_ relative: String) {
            guard let handle = opendir(root + "/" + relative) else { return }
            defer { closedir(handle) }
            var subfolders: [String] = []
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                    String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let path = relative + "/" + name
                var type = entry.pointee.d_type
                if type == UInt8(DT_UNKNOWN) {
                    var st = stat()
                    guard lstat(root + "/" + path, &st) == 0 else { continue }
                    type =
                        st.st_mode & S_IFMT == S_IFDIR
                        ? UInt8(DT_DIR) : st.st_mode & S_IFMT == S_IFREG ? UInt8(DT_REG) : 0
                }
                if type == UInt8(DT_DIR) {
                    subfolders.append(path)
                } else if type == UInt8(DT_REG) {
                    out.append(path)
                }
            }
            for folder in subfolders { walk(folder) }
        }
        for folder in folders {
            let name = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
            var st = stat()
            guard lstat(root + "/" + name, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { continue }
            walk(name)
        }
        return out
    }
}
