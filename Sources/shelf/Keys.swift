import ArgumentParser
import Foundation
import ShelfFeed
import ShelfServe

/// `shelf keys`: the API keys `shelf serve --push` takes.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke the API keys `shelf serve --push` takes.",
        discussion: """
            A key acts for one owner, with scopes (push: new ids and new versions; push-versions: new \
            versions of ids its owner owns; unlist: unlist and relist), for the package ids its glob \
            patterns match, until it expires, as nuget.org's scoped keys do. The key is printed once; \
            the feed keeps only a salted hash of it, in \(StateRecord.apiKeys.path) (never served, never \
            published). A running server sees new and revoked keys at once.
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a key; it is printed once.")

        @Argument(help: "The feed's folder (what `shelf serve` serves).")
        var dir: String

        @Option(name: .long, help: "Who the key acts for (a person or an organisation).")
        var owner: String

        @Option(name: .long, help: "push, push-versions or unlist (repeat for several; default: push).")
        var scope: [String] = []

        @Option(name: .long, help: "Package ids the key covers, as a glob (Contoso.*; repeat for several; default: *).")
        var glob: [String] = []

        @Option(name: .long, help: "How long the key lasts: 1d to 365d (default: 365d).")
        var expires: String = "365d"

        @Option(name: .long, help: "What the key is for (shown by `shelf keys list`).")
        var description: String?

        func run() throws {
            let owner = self.owner.trimmingCharacters(in: .whitespaces)
            guard !owner.isEmpty, owner.count <= 100, !owner.contains(where: \.isNewline) else {
                throw ValidationError("--owner must be a name of 1 to 100 characters on one line")
            }
            var scopes: [ApiKey.Scope] = []
            for s in scope.isEmpty ? ["push"] : scope {
                guard let parsed = ApiKey.Scope(rawValue: s) else {
                    throw ValidationError("--scope must be push, push-versions or unlist, not \(s)")
                }
                if !scopes.contains(parsed) { scopes.append(parsed) }
            }
            let globs = glob.isEmpty ? ["*"] : glob
            for g in globs where IdPattern(g) == nil {
                throw ValidationError("--glob \(g) is not an id pattern (an id, or one with * in it)")
            }
            guard expires.hasSuffix("d"), let days = Int(expires.dropLast()), (1...365).contains(days) else {
                throw ValidationError("--expires must be 1d to 365d, not \(expires)")
            }
            let store = KeyStore(feedRoot: URL(fileURLWithPath: dir).standardizedFileURL.path)
            guard FileManager.default.fileExists(atPath: dir + "/index.json") else {
                printError("error: \(dir) holds no feed (no index.json); build it first")
                throw ExitCode(66)
            }
            do {
                let (record, key) = try store.create(
                    owner: owner, scopes: scopes, globs: globs,
                    expires: Date().addingTimeInterval(Double(days) * 86_400),
                    description: description)
                print(key)
                printError(
                    "key \(record.id) for \(owner): \(scopes.map(\.rawValue).joined(separator: ", ")) on "
                        + "\(globs.joined(separator: ", ")), until \(ISO8601DateFormatter().string(from: record.expires)). "
                        + "It is shown this once; Shelf keeps only its hash.")
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys (never the keys themselves).")

        @Argument(help: "The feed's folder.")
        var dir: String

        @Flag(name: .long, help: "As JSON.")
        var json = false

        func run() throws {
            let keys: [ApiKey]
            do {
                keys = try KeyStore(feedRoot: URL(fileURLWithPath: dir).standardizedFileURL.path).load()
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
            let f = ISO8601DateFormatter()
            let now = Date()
            if json {
                let rows: [[String: Any]] = keys.map { k in
                    var row: [String: Any] = [
                        "id": k.id, "owner": k.owner, "scopes": k.scopes.map(\.rawValue), "globs": k.globs,
                        "created": f.string(from: k.created), "expires": f.string(from: k.expires),
                        "status": Self.status(k, now: now),
                    ]
                    if let d = k.description { row["description"] = d }
                    return row
                }
                let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            if keys.isEmpty {
                print("no keys; `shelf keys create \(dir) --owner NAME` makes one")
                return
            }
            for k in keys {
                print(
                    "\(k.id)  \(k.owner)  \(k.scopes.map(\.rawValue).joined(separator: ","))  "
                        + "\(k.globs.joined(separator: ","))  until \(f.string(from: k.expires))  \(Self.status(k, now: now))"
                        + (k.description.map { "  \($0)" } ?? ""))
            }
        }

        static func status(_ k: ApiKey, now: Date) -> String {
            if k.revoked != nil { return "revoked" }
            return k.expires <= now ? "expired" : "active"
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by its id (from `shelf keys list`).")

        @Argument(help: "The feed's folder.")
        var dir: String

        @Argument(help: "The key's id.")
        var id: String

        func run() throws {
            do {
                try KeyStore(feedRoot: URL(fileURLWithPath: dir).standardizedFileURL.path).revoke(id)
                printError("key \(id) revoked")
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        }
    }
}
