import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import ShelfTestSupport
import Testing

/// Paths and processes the end-to-end tests share.
enum Repo {
    /// The repository root (this file is Tests/ShelfEndToEndTests/Support.swift).
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let sampleFeed = root.appendingPathComponent("SampleFeed").path
    /// Real published packages kept with the repository, chosen for their quirks (and broken
    /// files of each kind refused), gathered by `scripts/gather-fixtures.py`.
    static let fixtures = root.appendingPathComponent("Tests/Fixtures/packages").path
    static let fixturesManifest = root.appendingPathComponent("Tests/Fixtures/MANIFEST.tsv").path

    /// `../shared` beside the repository: the public corpus and the independent checkers. Our
    /// checkouts and CI have it; a clone of Shelf alone does not, and the tests that need it say
    /// in one line that they were skipped.
    static let shared = root.deletingLastPathComponent().appendingPathComponent("shared")
    static let corpus = shared.appendingPathComponent("corpus/public/packages").path
    static let corpusManifest = shared.appendingPathComponent("corpus/public/MANIFEST.tsv").path
    static let feedcheck = shared.appendingPathComponent("tools/feedcheck.py").path
    /// The official NuGet client's harness (`nugetcheck`), built by its `build.sh` (`.ci/run` does).
    static let realClient = shared.appendingPathComponent("tools/realclient").path

    /// The `shelf` binary built beside the test bundle.
    static let shelf: String = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("shelf").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return root.appendingPathComponent(".build/debug/shelf").path
    }()
}

final class DataBox: @unchecked Sendable { var data = Data() }

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion and collects its output.
@discardableResult
func run(
    _ executable: String, _ arguments: [String], cwd: String? = nil, environment: [String: String]? = nil
) throws -> ProcessResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let environment { p.environment = environment }
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    // Read both pipes while the process runs so that neither fills up.
    let errBox = DataBox()
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        errBox.data = err.fileHandleForReading.readDataToEndOfFile()
        done.signal()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    p.waitUntilExit()
    let errData = errBox.data
    return ProcessResult(
        status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// Starts `shelf`, sends it SIGKILL after `delay` seconds, and says whether it was still running
/// then (the kill tests count how many kills land mid-run).
func killShelf(_ arguments: [String], environment: [String: String]? = nil, after delay: Double) throws -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Repo.shelf)
    p.arguments = arguments
    if let environment { p.environment = environment }
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    usleep(useconds_t(delay * 1_000_000))
    let wasRunning = p.isRunning
    kill(p.processIdentifier, SIGKILL)
    p.waitUntilExit()
    return wasRunning
}

/// Processes started at the same moment, one per argument list (eight pushes at once, say),
/// then waited for: each one's exit status and standard output (a short one, such as curl's
/// status code; standard error is dropped).
final class StartedTogether {
    private let processes: [(Process, Pipe)]

    init(_ executable: String, _ argumentLists: [[String]], environment: [String: String]? = nil) throws {
        processes = try argumentLists.map { arguments in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments
            if let environment { p.environment = environment }
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            return (p, out)
        }
    }

    func wait() -> [(status: Int32, stdout: String)] {
        processes.map { p, out in
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: data, as: UTF8.self))
        }
    }
}

func shelf(_ arguments: [String]) throws -> ProcessResult {
    try run(Repo.shelf, arguments)
}

func python(_ arguments: [String]) throws -> ProcessResult {
    // Bounded: a check that hangs fails the test instead of stalling the suite.
    try run("/usr/bin/timeout", ["300", "python3"] + arguments)
}

/// Checks a built feed as clients read it, and fails on any error:
/// - `shelf validate` on the folder (which, for a folder, also checks the local-folder layout),
///   unless it holds no service index and the feed is checked over HTTP;
/// - with `--http URL` in `extra`: `shelf validate` over HTTP at that server;
/// - with `--nupkgs DIR` in `extra`: every package the feed serves is, byte for byte, a file of DIR;
/// - when `../shared` is beside the repository: the independent checker `feedcheck.py` with the
///   same options (`extra` is its command line), which must pass too.
func checkFeed(_ feed: String, baseURL: String, extra: [String] = []) throws -> (errors: Int, output: String) {
    var errors = 0
    var output = ""
    /// The folder says which URL it is built for; a server, that it serves the feed built for `baseURL`.
    func validate(_ target: String, http: Bool) throws {
        let r = try run(Repo.shelf, ["validate", target, "--quiet"] + (http ? ["--base-url", baseURL] : []))
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let count = last.split(separator: ";").last?.split(separator: " ").first.flatMap { Int($0) }
        guard r.status == 0 || count != nil else {
            errors += 1
            output += "shelf validate \(target) failed: \(r.stderr)\n"
            return
        }
        errors += count ?? 0
        if (count ?? 0) > 0 { output += "shelf validate \(target):\n\(r.stderr.prefix(3000))\n" }
    }
    // A folder that only lists the ids of a feed checked over HTTP (a bucket's snapshot) is not a feed.
    if FileManager.default.fileExists(atPath: feed + "/index.json") || !extra.contains("--http") {
        try validate(feed, http: false)
    }
    if let i = extra.firstIndex(of: "--http"), i + 1 < extra.count {
        try validate(extra[i + 1] + "index.json", http: true)
    }
    if let i = extra.firstIndex(of: "--nupkgs"), i + 1 < extra.count {
        let inputs = Set(
            try FileManager.default.contentsOfDirectory(atPath: extra[i + 1]).filter { $0.hasSuffix(".nupkg") }
                .map { try Data(contentsOf: URL(fileURLWithPath: extra[i + 1] + "/" + $0)) })
        for path in try servedPackages(feed) {
            let data = try Data(contentsOf: URL(fileURLWithPath: feed + "/" + path))
            if !inputs.contains(data) {
                errors += 1
                output += "\(path) is not a copy of an input package\n"
            }
        }
    }
    if FileManager.default.fileExists(atPath: Repo.feedcheck) {
        let check = try feedcheck(feed, baseURL: baseURL, extra: extra)
        errors += check.errors
        if check.errors > 0 { output += "feedcheck.py:\n" + check.output }
    } else {
        Skipped.say("feedcheck.py", "\(Repo.feedcheck) is not there (../shared is beside our checkouts and CI only)")
    }
    return (errors, output)
}

/// The packages a feed serves: those its flat container indexes list (a version a build could not
/// remove is not among them).
func servedPackages(_ feed: String) throws -> [String] {
    let flat = feed + "/flatcontainer"
    var out: [String] = []
    for id in try FileManager.default.contentsOfDirectory(atPath: flat) where !id.hasPrefix(".") {
        guard let data = FileManager.default.contents(atPath: "\(flat)/\(id)/index.json"),
            let index = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let versions = index["versions"] as? [String]
        else { continue }
        out += versions.map { "flatcontainer/\(id)/\($0)/\(id).\($0).nupkg" }
    }
    return out
}

/// Runs feedcheck and returns its error count (from the last line, `N checks, E errors, W warnings`).
func feedcheck(_ feed: String, baseURL: String, extra: [String] = []) throws -> (errors: Int, output: String) {
    let r = try python([Repo.feedcheck, feed, "--base-url", baseURL] + extra)
    let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
    let parts = last.split(separator: " ")
    guard parts.count >= 4, parts[1] == "checks,", let errors = Int(parts[2]) else {
        return (Int.max, r.stdout + r.stderr)
    }
    let problems = r.stdout.split(separator: "\n").filter { $0.hasPrefix("ERROR") }.prefix(20).joined(separator: "\n")
    return (errors, problems + "\n" + last)
}

/// Checks that are skipped because what they need is not there say so once per run, in one line.
enum Skipped {
    private final class Said: @unchecked Sendable {
        let lock = NSLock()
        var names = Set<String>()
    }
    private static let said = Said()

    static func say(_ check: String, _ why: String) {
        said.lock.lock()
        defer { said.lock.unlock() }
        guard said.names.insert(check).inserted else { return }
        print("skipped: \(check): \(why)")
    }
}

/// A server on 127.0.0.1 started by a test (by default `python3 -m http.server` on a free port,
/// serving a folder), ready once its port accepts connections; stopped by `stop()`.
final class StaticServer {
    let process = Process()
    let port: Int

    convenience init(serving folder: String) throws {
        let port = try freePort()
        try self.init(
            port: port, executable: "/usr/bin/env",
            arguments: ["python3", "-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", folder])
    }

    init(port: Int, executable: String, arguments: [String], environment: [String: String]? = nil) throws {
        self.port = port
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try waitUntilListening(port: port, process: process)
    }

    var url: String { "http://127.0.0.1:\(port)/" }

    /// SIGKILL: a child started from the test process may inherit a mask that blocks SIGTERM.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

enum ServerError: Error { case noPort, didNotStart(Int) }

/// A port on 127.0.0.1 that nothing listens on now (the kernel's pick for port 0).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ServerError.noPort }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
        }
    }
    guard bound else { throw ServerError.noPort }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Polls until something accepts connections on the port (10 s at most).
func waitUntilListening(port: Int, process: Process) throws {
    for _ in 0..<200 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        close(fd)
        if ok {
            // The port answers; it is this process's only if the process still runs (another
            // suite's server may hold a port picked free a moment ago).
            Thread.sleep(forTimeInterval: 0.1)
            if process.isRunning { return }
            break
        }
        if !process.isRunning { break }
        Thread.sleep(forTimeInterval: 0.05)
    }
    kill(process.processIdentifier, SIGKILL)
    throw ServerError.didNotStart(port)
}
