import Foundation

/// A JSON value that remembers the line it starts on, so that a policy error can name the line
/// to fix. Foundation's parsers drop positions, hence this small reader (RFC 8259, no extensions).
public indirect enum PositionedJSON: Sendable {
    case object([(key: String, line: Int, value: PositionedJSON)], line: Int)
    case array([PositionedJSON], line: Int)
    case string(String, line: Int)
    case number(Double, line: Int)
    case bool(Bool, line: Int)
    case null(line: Int)

    public var line: Int {
        switch self {
        case .object(_, let l), .array(_, let l), .string(_, let l), .number(_, let l), .bool(_, let l), .null(let l):
            return l
        }
    }

    /// What the value is, for messages ("an array", "a string").
    public var kind: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "true or false"
        case .null: return "null"
        }
    }

    public struct SyntaxError: Error, Sendable {
        public var line: Int
        public var column: Int
        public var message: String
    }

    public static func parse(_ data: Data) throws(SyntaxError) -> PositionedJSON {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var reader = Reader(bytes: bytes)
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.index == bytes.count else { throw reader.error("unexpected text after the end of the document") }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        var lineStart = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func error(_ message: String) -> SyntaxError {
            SyntaxError(line: line, column: index - lineStart + 1, message: message)
        }

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0D: index += 1
                case 0x0A:
                    index += 1
                    line += 1
                    lineStart = index
                default: return
                }
            }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(SyntaxError) {
            guard index < bytes.count, bytes[index] == byte else { throw error("expected \(what)") }
            index += 1
        }

        mutating func value(depth: Int) throws(SyntaxError) -> PositionedJSON {
            guard depth < 64 else { throw error("the document nests too deeply") }
            guard index < bytes.count else { throw error("the document ends early") }
            let at = line
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var members: [(key: String, line: Int, value: PositionedJSON)] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members, line: at)
                }
                while true {
                    skipSpace()
                    let keyLine = line
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                        throw error("expected a quoted member name")
                    }
                    let key = try string()
                    skipSpace()
                    try expect(UInt8(ascii: ":"), "':' after the member name")
                    skipSpace()
                    members.append((key, keyLine, try value(depth: depth + 1)))
                    skipSpace()
                    guard index < bytes.count else { throw error("the object is not closed with '}'") }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    try expect(UInt8(ascii: "}"), "',' or '}' (a comma may be missing)")
                    return .object(members, line: at)
                }
            case UInt8(ascii: "["):
                index += 1
                var items: [PositionedJSON] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(items, line: at)
                }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard index < bytes.count else { throw error("the array is not closed with ']'") }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    try expect(UInt8(ascii: "]"), "',' or ']' (a comma may be missing)")
                    return .array(items, line: at)
                }
            case UInt8(ascii: "\""):
                return .string(try string(), line: at)
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true, line: at)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false, line: at)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null(line: at)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = index
                index += 1
                while index < bytes.count,
                    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index])
                        || [
                            UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"),
                            UInt8(ascii: "-"),
                        ]
                        .contains(bytes[index])
                {
                    index += 1
                }
                guard let n = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else {
                    throw error("not a number")
                }
                return .number(n, line: at)
            default:
                throw error(
                    "expected a value (a string in double quotes, a number, an object, an array, true, false or null)")
            }
        }

        mutating func literal(_ word: String) throws(SyntaxError) {
            let w = Array(word.utf8)
            guard index + w.count <= bytes.count, Array(bytes[index..<index + w.count]) == w else {
                throw error("expected a value")
            }
            index += w.count
        }

        mutating func string() throws(SyntaxError) -> String {
            index += 1  // opening quote
            var out: [UInt8] = []
            while true {
                guard index < bytes.count else { throw error("a string is not closed with '\"'") }
                let b = bytes[index]
                index += 1
                switch b {
                case UInt8(ascii: "\""):
                    guard let s = String(validating: out, as: UTF8.self) else {
                        throw error("a string is not valid UTF-8")
                    }
                    return s
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { throw error("a string ends in an escape") }
                    let e = bytes[index]
                    index += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar), index + 1 < bytes.count, bytes[index] == 0x5C,
                            bytes[index + 1] == UInt8(ascii: "u")
                        {
                            index += 2
                            let low = try hex4()
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let u = Unicode.Scalar(scalar) else { throw error("an invalid \\u escape") }
                        out += Array(String(Character(u)).utf8)
                    default: throw error("an invalid escape in a string")
                    }
                case 0x0A: throw error("a string runs past the end of the line (a closing '\"' may be missing)")
                default: out.append(b)
                }
            }
        }

        mutating func hex4() throws(SyntaxError) -> UInt32 {
            guard index + 4 <= bytes.count,
                let v = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
            else { throw error("an invalid \\u escape") }
            index += 4
            return v
        }
    }
}
