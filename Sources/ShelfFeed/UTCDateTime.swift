import Foundation
import NuGetCore

/// Dates in UTC as `YYYY-MM-DDTHH:MM:SS`, the digits written by hand: registration timestamps,
/// the site's dates and catalog times come through here for every version on every build, where
/// `String(format:)` cost more than the rest of a page's dates together.
enum UTCDateTime {
    /// The broken-down UTC time of a Unix time.
    static func parts(_ seconds: time_t) -> tm {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return parts
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS`, each field as its last digits (the year as four).
    static func append(_ parts: tm, to out: inout [UInt8]) {
        append(digits: Int(parts.tm_year) + 1900, count: 4, to: &out)
        out.append(0x2D)
        append(digits: Int(parts.tm_mon) + 1, count: 2, to: &out)
        out.append(0x2D)
        append(digits: Int(parts.tm_mday), count: 2, to: &out)
        out.append(0x54)
        append(digits: Int(parts.tm_hour), count: 2, to: &out)
        out.append(0x3A)
        append(digits: Int(parts.tm_min), count: 2, to: &out)
        out.append(0x3A)
        append(digits: Int(parts.tm_sec), count: 2, to: &out)
    }

    /// Appends the last `count` decimal digits of a value that is not negative, zero-padded.
    static func append(digits value: Int, count: Int, to out: inout [UInt8]) {
        var v = value
        var tmp = [UInt8](repeating: 0x30, count: count)
        for i in stride(from: count - 1, through: 0, by: -1) {
            tmp[i] = UInt8(0x30 + v % 10)
            v /= 10
        }
        out += tmp
    }
}
