import Crypto
import Foundation
import NuGetCore
import ShelfFeed

/// The manifest object: what Shelf has put under the prefix, and the lease of the publish that
/// is changing it.
struct Manifest: Codable, Sendable {
    struct Entry: Codable, Equatable, Sendable {
        var md5: String
        /// The ETag S3 returned for the upload ("" while an upload is planned but not confirmed).
        var etag: String
        /// Content-Type, Cache-Control and Content-Encoding, so that a change of policy re-uploads.
        var meta: String
    }
    struct Lock: Codable, Sendable {
        var owner: String
        /// Server time (ISO 8601), from the `Date` of S3's responses: no two clocks compared.
        var since: String
        var until: String
    }
    var format = 1
    var lock: Lock?
    var objects: [String: Entry]
}

/// Takes, renews and hands back the lease, always by a conditional write of the manifest.
struct Lease: Sendable {
    let publisher: Publisher

    struct State: Sendable {
        var manifest: Manifest?
        var etag: String?
        var serverTime: Date
        var renewedAt = Date()
        var owner = ""
    }

    var key: String { publisher.manifestKey }
    var client: S3Client { publisher.client }
    var destination: S3Destination { publisher.destination }

    func read() async throws -> State {
        let response = try await client.send("GET", key: key)
        let now = response.date ?? Date()
        switch response.status {
        case 200:
            guard let manifest = try? JSONDecoder().decode(Manifest.self, from: response.body) else {
                throw PublishError.manifestUnreadable(object: "\(destination)\(Publisher.manifestName)")
            }
            return State(manifest: manifest, etag: S3Client.unquote(response.etag ?? ""), serverTime: now)
        case 404:
            return State(manifest: nil, etag: nil, serverTime: now)
        default:
            throw PublishError.manifestReadFailed(
                object: "\(destination)\(Publisher.manifestName)", message: response.errorMessage)
        }
    }

    func acquire(_ state: State, owner: String, objects: [String: Manifest.Entry]) async throws -> State {
        if let lock = state.manifest?.lock, lock.owner != owner, !publisher.options.breakLock,
            let until = HTTPDate.parseISO(lock.until), state.serverTime < until
        {
            throw PublishError.leaseHeld(destination: "\(destination)", since: lock.since, until: lock.until)
        }
        var state = state
        state.owner = owner
        return try await write(state, lock: true, objects: objects, taking: true)
    }

    func renewIfDue(_ state: State) async throws -> State {
        guard Date().timeIntervalSince(state.renewedAt) > publisher.options.lease / 5 else { return state }
        return try await write(state, lock: true, objects: state.manifest?.objects ?? [:], taking: false)
    }

    func release(_ state: State, objects: [String: Manifest.Entry]) async throws {
        _ = try await write(state, lock: false, objects: objects, taking: false)
    }

    /// One conditional write: `If-None-Match: *` when there is no manifest yet, else `If-Match`
    /// with the ETag last read or written. Losing means another publisher wrote it in between.
    private func write(_ state: State, lock: Bool, objects: [String: Manifest.Entry], taking: Bool) async throws
        -> State
    {
        var manifest = Manifest(objects: objects)
        if lock {
            let since =
                taking
                ? HTTPDate.iso(state.serverTime) : (state.manifest?.lock?.since ?? HTTPDate.iso(state.serverTime))
            let now =
                taking
                ? state.serverTime : state.serverTime.addingTimeInterval(Date().timeIntervalSince(state.renewedAt))
            manifest.lock = Manifest.Lock(
                owner: state.owner, since: since, until: HTTPDate.iso(now.addingTimeInterval(publisher.options.lease)))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = try encoder.encode(manifest)
        var headers: [(String, String)] = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
        if let etag = state.etag {
            headers.append(("If-Match", "\"\(etag)\""))
        } else {
            headers.append(("If-None-Match", "*"))
        }
        let response = try await client.send("PUT", key: key, headers: headers, body: body)
        switch response.status {
        case 200:
            return State(
                manifest: manifest, etag: S3Client.unquote(response.etag ?? ""), serverTime: response.date ?? Date(),
                renewedAt: Date(), owner: state.owner)
        case 412, 409:
            // A retried request whose first attempt landed finds its own write: that is success.
            let check = try await client.send("GET", key: key)
            if check.status == 200, S3Client.unquote(check.etag ?? "") == Hex.string(Insecure.MD5.hash(data: body)) {
                return State(
                    manifest: manifest, etag: S3Client.unquote(check.etag ?? ""), serverTime: check.date ?? Date(),
                    renewedAt: Date(), owner: state.owner)
            }
            throw taking
                ? PublishError.leaseLost(destination: "\(destination)")
                : PublishError.leaseTaken(destination: "\(destination)")
        case 501 where response.errorCode == "NotImplemented":
            throw PublishError.conditionalWritesUnsupported(endpoint: client.endpoint.absoluteString)
        default:
            throw PublishError.manifestWriteFailed(
                object: "\(destination)\(Publisher.manifestName)", message: response.errorMessage)
        }
    }
}
