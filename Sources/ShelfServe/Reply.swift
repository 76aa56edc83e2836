import Foundation

/// Response headers in order, looked up without regard to case.
struct Headers: Sendable {
    private(set) var fields: [(String, String)]

    init(_ fields: [(String, String)] = []) { self.fields = fields }

    func value(_ name: String) -> String? {
        fields.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append((name, value))
    }

    mutating func remove(_ name: String) {
        fields.removeAll { $0.0.caseInsensitiveCompare(name) == .orderedSame }
    }
}

/// A response before it goes on the wire: what the feed and the push endpoint answer, without
/// the HTTP server's types.
struct Reply: Sendable {
    var status: Int
    /// The status line's text, when it says more than the code's usual one: the NuGet client
    /// shows it to the user ("409 (this version is already in the feed)").
    var reason: String?
    var headers: Headers
    var body: Data
    /// A HEAD answer: the headers of a GET (its Content-Length among them), no body.
    var isHead: Bool
    /// Close the connection once this is sent, without reading the rest of the request body
    /// (a body over the limit, a client too slow).
    var closeConnection: Bool
    /// With `closeConnection`: how long what the client already sent is still read (and
    /// dropped) before the connection closes, so that a client that sent its whole body reads
    /// this answer instead of a reset connection. 0: the input side is shut at once.
    var linger: Double = 0
    /// A file sent as the body, read a piece at a time (its path and size), instead of `body`.
    var file: (path: String, size: Int64)?

    /// Files larger than this are streamed.
    static let streamAbove = 256 * 1024

    init(
        status: Int, reason: String? = nil, headers: Headers = Headers(), body: Data = Data(), isHead: Bool = false,
        closeConnection: Bool = false
    ) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.isHead = isHead
        self.closeConnection = closeConnection
    }

    /// A plain-text answer; `reason` also goes in the status line (one line, printable ASCII).
    static func text(_ status: Int, _ message: String, closeConnection: Bool = false, linger: Double = 0) -> Reply {
        var h = FeedServer.corsHeaders
        h.set("Content-Type", "text/plain; charset=utf-8")
        if closeConnection { h.set("Connection", "close") }
        var r = Reply(
            status: status, reason: statusLine(message), headers: h, body: Data((message + "\n").utf8),
            closeConnection: closeConnection)
        r.linger = linger
        return r
    }

    /// A message fit for a status line: printable ASCII on one line, at most 400 characters.
    static func statusLine(_ message: String) -> String {
        let printable = String(
            message.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : " " })
        return String(printable.prefix(400))
    }
}
