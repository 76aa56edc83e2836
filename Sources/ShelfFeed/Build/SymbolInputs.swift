import Foundation
import NuGetCore

/// Stage 1b of a build: the symbol packages (`.snupkg`) beside the packages. Each is checked
/// against the package of its id and version (`SymbolPackage.check`) when its id is put together
/// and the symbol package or the package changed since the check the record holds; an id whose
/// symbol package came, changed or went is dirty, so a change costs that package.
///
/// Legacy `.symbols.nupkg` packages (DLLs, PDBs of any kind and sources) are not served: nuget.org
/// no longer takes them, and their PDBs are often Windows PDBs no portable key describes; the
/// summary counts them.
final class SymbolInputs: @unchecked Sendable {
    /// What the record holds of one symbol package.
    struct Entry: Codable, Sendable {
        var relative: String
        /// Its identity when it was read (size, times, inode, device).
        var identity: String
        /// The version it is for (from its nuspec); empty when it cannot be read.
        var lowerId: String
        var lowerVersion: String
        /// The package it was checked against (its SHA-512), and what the check found.
        var packageSha512: String?
        var sha512: String?
        var size: Int64?
        var files: [SymbolPackage.File]?
        var problem: String?
    }

    struct Record: Codable {
        var format = 1
        var entries: [Entry]
    }

    let root: String
    private let lock = NSLock()
    private var entries: [String: Entry]
    /// The versions this build matched with a package, by relative path.
    private var matched: Set<String> = []
    /// Ids whose symbol packages came, changed or went.
    let touched: Set<String>

    init(_ scan: InputScan, root: String, previous: Data?, started: Int64 = 0) {
        self.root = root
        let before =
            previous.flatMap { try? JSONDecoder().decode(Record.self, from: $0) }.map {
                Dictionary($0.entries.map { ($0.relative, $0) }, uniquingKeysWith: { a, _ in a })
            } ?? [:]
        var now: [String: Entry] = [:]
        var touched = Set<String>()
        for (path, (relative, stamp)) in zip(scan.snupkgs, scan.snupkgIdentities) {
            let identity = stamp?.text ?? ""
            // A file changed too recently for its identity to show a rewrite is checked again.
            let racy = stamp.map { FeedBuilder.isRacy($0, started: started) } ?? true
            if let old = before[relative], !identity.isEmpty, old.identity == identity, !racy {
                now[relative] = old
                continue
            }
            var e = Entry(relative: relative, identity: identity, lowerId: "", lowerVersion: "")
            do throws(PackageArchiveError) {
                let a = try PackageArchive.read(path: path)
                e.lowerId = a.nuspec.id.lowercased()
                e.lowerVersion = a.nuspec.version.pathSegment
            } catch {
                e.problem = error.description
            }
            now[relative] = e
            if !e.lowerId.isEmpty { touched.insert(e.lowerId) }
            if let old = before[relative], !old.lowerId.isEmpty { touched.insert(old.lowerId) }
        }
        for (relative, old) in before where now[relative] == nil && !old.lowerId.isEmpty {
            touched.insert(old.lowerId)
        }
        entries = now
        self.touched = touched
    }

    /// Gives each version of a registration its symbols, checking the symbol package when it or
    /// the package changed since the record's check. Called for the ids put together, on any
    /// thread.
    func attach(_ r: inout PackageRegistration) {
        let candidates: [Entry] = lock.withLock {
            entries.values.filter { $0.lowerId == r.lowerId }.sorted { $0.relative < $1.relative }
        }
        guard !candidates.isEmpty else { return }
        for i in r.versions.indices {
            let v = r.versions[i]
            // The first by path of a version's symbol packages; a second is a problem.
            let forVersion = candidates.filter { $0.lowerVersion == v.lowerVersion }
            guard var e = forVersion.first else { continue }
            for extra in forVersion.dropFirst() {
                var other = extra
                other.problem =
                    "\(e.relative) is the symbol package of \(r.id) \(v.version.normalizedString) already; remove one"
                other.files = nil
                // Checked again once it is the only one.
                other.packageSha512 = nil
                lock.withLock {
                    entries[other.relative] = other
                    matched.insert(other.relative)
                }
            }
            if e.packageSha512 != v.archive.sha512 || (e.files == nil && e.problem == nil) {
                let path = root + "/" + e.relative
                e.packageSha512 = v.archive.sha512
                switch SymbolPackage.checked(path: path, against: v.archive) {
                case .success(let c):
                    (e.files, e.sha512, e.size, e.problem) = (c.files, c.sha512, c.size, nil)
                case .failure(let problem):
                    (e.files, e.problem) = (nil, problem.description)
                }
            }
            lock.withLock {
                entries[e.relative] = e
                matched.insert(e.relative)
            }
            if let files = e.files, let sha = e.sha512, let size = e.size {
                r.versions[i].symbols = Symbols(path: root + "/" + e.relative, size: size, sha512: sha, files: files)
            }
        }
    }

    /// After the assembly: the symbol packages that found no version to go with (of the ids put
    /// together, or of ids the feed does not have at all).
    func settle(assembled: Set<String>, present: Set<String>) {
        lock.withLock {
            for (relative, var e) in entries
            where !e.lowerId.isEmpty && !matched.contains(relative)
                && (assembled.contains(e.lowerId) || !present.contains(e.lowerId))
            {
                e.files = nil
                e.packageSha512 = nil
                e.problem = "the feed has no package \(e.lowerId) \(e.lowerVersion) to serve it with"
                entries[relative] = e
            }
        }
    }

    /// One `error:` line per symbol package that is not served (the package itself is).
    var problems: [Diagnostic] {
        lock.withLock {
            entries.values.sorted { $0.relative < $1.relative }.compactMap { e in
                e.problem.map {
                    Diagnostic(severity: .error, file: e.relative, message: "\($0); its symbols are not served")
                }
            }
        }
    }

    /// How many symbol packages are served.
    var served: Int { lock.withLock { entries.values.filter { $0.files != nil }.count } }

    /// The symbol store's files of every symbol package served.
    var servedPaths: Set<String> {
        lock.withLock {
            Set(entries.values.flatMap { ($0.files ?? []).map { FeedLayout.symbolFile($0.key) } })
        }
    }

    /// The record for the next build.
    func encoded() -> Data {
        let list = lock.withLock { entries.values.sorted { $0.relative < $1.relative } }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return (try? e.encode(Record(entries: list))) ?? Data()
    }
}
