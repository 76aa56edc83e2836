import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// The status line's text, as the NuGet client shows it ("403 (the API key … expired …)").
/// NIO's HTTP/1 encoder writes the standard phrase of every known code, so the reason travels in
/// a header (`reasonHeader`) to `ReasonPhraseHandler`, which sits just above the encoder and
/// puts it in the status line (and drops the header).
enum ReasonPhrase {
    static let header = "X-Shelf-Reason"

    /// The handlers to add to each connection (`HTTP1Channel.Configuration`'s additional ones).
    /// `maxBody`: a request declaring a longer body gets no `100 Continue` (it is refused).
    static func handlers(maxBody: Int64) -> [any RemovableChannelHandler] { [Installer(maxBody: maxBody)] }

    /// Puts `Handler` below the HTTP types codec, then leaves.
    final class Installer: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = NIOAny
        let maxBody: Int64

        init(maxBody: Int64) { self.maxBody = maxBody }

        func handlerAdded(context: ChannelHandlerContext) {
            let pipeline = context.pipeline.syncOperations
            if let codec = try? pipeline.context(handlerType: HTTP1ToHTTPServerCodec.self) {
                try? pipeline.addHandler(Handler(maxBody: maxBody), position: .before(codec.handler))
            }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    /// Moves the reason header into the status line of HTTP/1 response heads, and answers
    /// `Expect: 100-continue` (curl and .NET send it before a large upload, and wait for it)
    /// for a body the server may take.
    final class Handler: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias InboundOut = HTTPServerRequestPart
        typealias OutboundIn = HTTPServerResponsePart
        typealias OutboundOut = HTTPServerResponsePart
        let maxBody: Int64

        init(maxBody: Int64) { self.maxBody = maxBody }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let head) = unwrapInboundIn(data),
                head.headers.first(name: "expect")?.lowercased() == "100-continue",
                head.headers.first(name: "content-length").flatMap(Int64.init).map({ $0 <= maxBody }) ?? true
            {
                context.writeAndFlush(
                    wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
            context.fireChannelRead(data)
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            guard case .head(var head) = unwrapOutboundIn(data),
                let reason = head.headers.first(name: ReasonPhrase.header)
            else {
                context.write(data, promise: promise)
                return
            }
            head.headers.remove(name: ReasonPhrase.header)
            head.status = .custom(code: head.status.code, reasonPhrase: reason)
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        }
    }
}
