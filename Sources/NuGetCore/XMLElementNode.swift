import CShelfLibXML2
import Foundation

/// A small immutable element tree read with libxml2: names are local names
/// (namespace prefixes and URIs dropped, as NuGet matches nuspec elements by local name),
/// attributes by local name, and the concatenated text of each element.
public struct XMLElementNode: Sendable, Hashable {
    public var name: String
    public var attributes: [String: String]
    public var text: String
    public var children: [XMLElementNode]

    public func child(_ name: String) -> XMLElementNode? {
        children.first { $0.name == name }
    }

    public func children(named name: String) -> [XMLElementNode] {
        children.filter { $0.name == name }
    }

    /// Deeper nesting than any nuspec needs is refused rather than followed.
    static let maxDepth = 64

    /// libxml2 is initialised once, before any thread parses.
    private static let initialised: Bool = {
        xmlInitParser()
        return true
    }()

    /// Parses a whole document with libxml2 (no network, no entity substitution, no DTD
    /// loading, libxml2's own size limits) and copies it into an immutable tree.
    public static func parse(_ data: Data) throws -> XMLElementNode {
        _ = initialised
        guard let context = xmlNewParserCtxt() else { throw XMLTreeError(line: 0, reason: "out of memory") }
        defer { xmlFreeParserCtxt(context) }
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        let document = data.withUnsafeBytes { buffer -> xmlDocPtr? in
            guard let base = buffer.baseAddress, buffer.count <= Int(Int32.max) else { return nil }
            return xmlCtxtReadMemory(
                context, base.assumingMemoryBound(to: CChar.self), Int32(buffer.count), nil, nil, options)
        }
        guard let document else {
            // A DOCTYPE seen before the parse failed (an entity loop, say) is the reason to give.
            if context.pointee.intSubName != nil || context.pointee.extSubURI != nil { throw XMLDoctypeError() }
            if let error = xmlCtxtGetLastError(context) {
                let message = error.pointee.message.map { String(cString: $0) } ?? "unreadable document"
                throw XMLTreeError(
                    line: Int(error.pointee.line),
                    reason: message.trimmingWhitespace(newlines: true))
            }
            throw XMLTreeError(line: 0, reason: data.isEmpty ? "the document is empty" : "unreadable document")
        }
        defer { xmlFreeDoc(document) }
        // A DOCTYPE (internal or external subset) is refused, as NuGet's XmlReader refuses it
        // (DtdProcessing.Prohibit), whatever the encoding; a "<!DOCTYPE" inside CDATA is text.
        if document.pointee.intSubset != nil || document.pointee.extSubset != nil { throw XMLDoctypeError() }
        guard let root = xmlDocGetRootElement(document) else {
            throw XMLTreeError(line: 0, reason: "the document has no root element")
        }
        return try node(root, depth: 1)
    }

    private static func string(_ p: UnsafePointer<xmlChar>?) -> String {
        guard let p else { return "" }
        return String(cString: p)
    }

    private static func node(_ element: xmlNodePtr, depth: Int) throws -> XMLElementNode {
        guard depth <= maxDepth else {
            throw XMLTreeError(line: Int(xmlGetLineNo(element)), reason: "elements nested deeper than \(maxDepth)")
        }
        var attributes: [String: String] = [:]
        var attribute = element.pointee.properties
        while let a = attribute {
            var value = ""
            var child = a.pointee.children
            while let c = child {
                value += string(c.pointee.content)
                child = c.pointee.next
            }
            attributes[string(a.pointee.name)] = value
            attribute = a.pointee.next
        }
        var text = ""
        var children: [XMLElementNode] = []
        var child = element.pointee.children
        while let c = child {
            switch c.pointee.type {
            case XML_ELEMENT_NODE: children.append(try node(c, depth: depth + 1))
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE: text += string(c.pointee.content)
            default: break
            }
            child = c.pointee.next
        }
        return XMLElementNode(
            name: string(element.pointee.name), attributes: attributes, text: text, children: children)
    }
}

struct XMLDoctypeError: Error, Sendable {}

struct XMLTreeError: Error, Sendable {
    var line: Int
    var reason: String
}
