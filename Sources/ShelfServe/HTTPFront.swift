import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NuGetCore

/// How `shelf serve` listens.
public struct ListenOptions: Sendable {
    /// The address to bind (127.0.0.1 unless a proxy elsewhere forwards to it).
    public var host = "127.0.0.1"
    /// 0: any free port.
    public var port = 8080
    /// Behind a reverse proxy that serves the feed at the URL it was built for: links are served
    /// as built (not rewritten to this server's URL), and a client's address is the last one a
    /// proxy on this machine put in `X-Forwarded-For`.
    public var behindProxy = false
    /// A connection that sends nothing (no request, or a request's head arriving too slowly) for
    /// this long is closed.
    public var idleTimeout: TimeInterval = 30

    public init() {}
}

/// Each request's context: the connection it came on (for the client's address, and to stop
/// reading a body that is refused).
struct ServeContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// `shelf serve` on Hummingbird (SwiftNIO): the feed's files and search (`FeedServer`), and with
/// `--push` the PackagePublish endpoint (`PushEndpoint`).
public final class ServeFront: Sendable {
    public let feed: FeedServer
    public let push: PushEndpoint?
    public let options: ListenOptions
    private let state = Mutex()

    public init(feed: FeedServer, push: PushEndpoint?, options: ListenOptions) {
        self.feed = feed
        self.push = push
        self.options = options
    }

    /// The URL clients reach this server at (set once it listens).
    public var baseURL: String { state.withLock { $0.baseURL } }

    /// Starts listening; returns this server's base URL once the socket is bound.
    public func start() async throws -> String {
        let (ports, continuation) = AsyncStream<Int?>.makeStream()
        let app = Application(
            responder: CallbackResponder<ServeContext> { [self] request, context in
                await self.respond(request, context)
            },
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: ReasonPhrase.handlers(
                        maxBody: (self.push?.settings.maxPackageSize ?? 0) + 1_048_576),
                    idleTimeout: .seconds(Int64(max(1, options.idleTimeout))))),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: nil),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port)
                continuation.finish()
            },
            logger: {
                var l = Logger(label: "shelf-serve")
                l.logLevel = .critical
                return l
            }())
        let task = Task {
            do {
                try await app.runService(gracefulShutdownSignals: [])
            } catch {
                continuation.finish()
            }
        }
        var port: Int?
        for await p in ports {
            port = p
            break
        }
        guard let port else {
            task.cancel()
            throw ServeError.noPort
        }
        let host = options.host == "0.0.0.0" || options.host == "::" ? "127.0.0.1" : options.host
        let url = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)/"
        state.withLock {
            $0.baseURL = url
            $0.task = task
        }
        return url
    }

    public func stop() async {
        let task = state.withLock { $0.task }
        task?.cancel()
        _ = await task?.value
    }

    /// The base URL documents are served with: this server's, or as built behind a proxy.
    func servingBaseURL() -> String {
        options.behindProxy ? feed.feedBaseURL : baseURL
    }

    func respond(_ request: Request, _ context: ServeContext) async -> Response {
        let rawPath = request.uri.path
        let method = request.method.rawValue
        let reply: Reply
        if let push, PushEndpoint.handles(rawPath) {
            let client = clientAddress(request, context)
            reply = await push.respond(
                method: method, rawPath: rawPath, headers: { request.headers[HTTPField.Name($0)!] },
                body: request.body, client: client,
                cutOff: { [channel = context.channel] in channel.close(promise: nil) })
        } else {
            let base = servingBaseURL()
            let extra = push.map { [$0.serviceIndexResource(base: base)] } ?? []
            reply = feed.respond(
                method: method, rawPath: rawPath, query: FeedServer.queryItems(request.uri.query ?? ""),
                headers: { request.headers[HTTPField.Name($0)!] }, baseURL: base,
                extraResources: extra)
        }
        return Self.response(reply, channel: context.channel)
    }

    /// The client's address: the connection's, or behind a proxy on this machine the last address
    /// it forwarded.
    func clientAddress(_ request: Request, _ context: ServeContext) -> String {
        let peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
        if options.behindProxy, peer == "127.0.0.1" || peer == "::1",
            let forwarded = request.headers[.init("X-Forwarded-For")!]?.split(separator: ",").last
        {
            return forwarded.trimmingCharacters(in: .whitespaces)
        }
        return peer
    }

    static func response(_ reply: Reply, channel: any Channel) -> Response {
        var fields = HTTPFields()
        for (name, value) in reply.headers.fields {
            if let n = HTTPField.Name(name) { fields.append(HTTPField(name: n, value: value)) }
        }
        let status = HTTPResponse.Status(code: reply.status)
        if let reason = reply.reason, let name = HTTPField.Name(ReasonPhrase.header) {
            fields.append(HTTPField(name: name, value: reason))
        }
        if reply.isHead { return Response(status: status, headers: fields, body: ResponseBody()) }
        if let (path, size) = reply.file {
            return Response(
                status: status, headers: fields,
                body: ResponseBody(contentLength: Int(size)) { writer in
                    let fd = open(path, O_RDONLY)
                    guard fd >= 0 else { throw ServeError.documentMissing(path) }
                    defer { close(fd) }
                    var offset: Int64 = 0
                    var buffer = ByteBufferAllocator().buffer(capacity: 256 * 1024)
                    while offset < size {
                        buffer.clear()
                        let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 256 * 1024) { raw in
                            max(0, pread(fd, raw.baseAddress, min(raw.count, Int(size - offset)), off_t(offset)))
                        }
                        // A file that shrank while it was sent: the connection ends short.
                        guard n > 0 else { throw ServeError.documentMissing(path) }
                        offset += Int64(n)
                        try await writer.write(buffer)
                    }
                })
        }
        let buffer = ByteBuffer(bytes: reply.body)
        guard reply.closeConnection else {
            return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: buffer))
        }
        // The rest of the request body is not read to its end: once the answer is written, the
        // input side is shut (at once, or after `linger` seconds of dropping what arrives), and
        // the connection closes.
        let linger = reply.linger
        return Response(
            status: status, headers: fields,
            body: ResponseBody(contentLength: buffer.readableBytes) { writer in
                try await writer.write(buffer)
                if linger > 0 {
                    channel.eventLoop.scheduleTask(in: .milliseconds(Int64(linger * 1000))) {
                        channel.close(promise: nil)
                    }
                } else {
                    try? await channel.close(mode: .input)
                }
            })
    }
}

/// A lock around the server's mutable parts.
final class Mutex: @unchecked Sendable {
    struct State {
        var baseURL = ""
        var task: Task<Void, Never>?
    }
    private let lock = NSLock()
    private var state = State()
    func withLock<T>(_ body: (inout State) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&state)
    }
}
