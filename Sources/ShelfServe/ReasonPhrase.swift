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
    static func handlers() -> [any RemovableChannelHandler] { [Installer()] }

    /// Puts `ReasonPhraseHandler` below the HTTP types codec, then leaves.
    final class Installer: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = NIOAny

        func handlerAdded(context: ChannelHandlerContext) {
            let pipeline = context.pipeline.syncOperations
            if let codec = try? pipeline.context(handlerType: HTTP1ToHTTPServerCodec.self) {
                try? pipeline.addHandler(Handler(), position: .before(codec.handler))
            }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    /// Moves the reason header into the status line of HTTP/1 response heads.
    final class Handler: ChannelOutboundHandler, RemovableChannelHandler {
        typealias OutboundIn = HTTPServerResponsePart
        typealias OutboundOut = HTTPServerResponsePart

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
