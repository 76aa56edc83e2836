import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A small immutable element tree read with Foundation's `XMLParser`: names are local names
/// (namespace prefixes and URIs dropped, as NuGet matches nuspec elements by local name),
/// attributes by local name, and the concatenated text of each element.
struct XMLElementNode: Sendable, Hashable {
    var name: String
    var attributes: [String: String]
    var text: String
    var children: [XMLElementNode]

    func child(_ name: String) -> XMLElementNode? {
        children.first { $0.name == name }
    }

    func children(named name: String) -> [XMLElementNode] {
        children.filter { $0.name == name }
    }

    /// Parses a whole document. External entities are never resolved.
    static func parse(_ data: Data) throws -> XMLElementNode {
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        let builder = TreeBuilder()
        parser.delegate = builder
        let ok = parser.parse()
        if let error = builder.error { throw error }
        guard ok, let root = builder.root else {
            let reason = parser.parserError.map { ($0 as NSError).localizedDescription } ?? "unreadable document"
            throw XMLTreeError(line: parser.lineNumber, reason: reason)
        }
        return root
    }
}

struct XMLTreeError: Error, Sendable {
    var line: Int
    var reason: String
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    /// Deeper nesting than any nuspec needs is refused rather than followed.
    static let maxDepth = 64

    var stack: [XMLElementNode] = []
    var root: XMLElementNode?
    var error: XMLTreeError?

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
        qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
    ) {
        guard stack.count < Self.maxDepth else {
            error = XMLTreeError(line: parser.lineNumber, reason: "elements nested deeper than \(Self.maxDepth)")
            parser.abortParsing()
            return
        }
        var attrs: [String: String] = [:]
        for (key, value) in attributeDict {
            let local = key.split(separator: ":").last.map(String.init) ?? key
            if key.hasPrefix("xmlns") { continue }
            attrs[local] = value
        }
        stack.append(XMLElementNode(name: localName(elementName), attributes: attrs, text: "", children: []))
    }

    func parser(
        _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?
    ) {
        guard let node = stack.popLast() else { return }
        if stack.isEmpty {
            root = node
        } else {
            stack[stack.count - 1].children.append(node)
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self)
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        if error == nil {
            error = XMLTreeError(line: parser.lineNumber, reason: (parseError as NSError).localizedDescription)
        }
    }

    private func localName(_ name: String) -> String {
        name.split(separator: ":").last.map(String.init) ?? name
    }
}
