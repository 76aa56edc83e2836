/// A value type's fields kept in one shared, copy-on-write box.
///
/// A feed holds tens of thousands of package records, passed around by the array (models, caches,
/// sorts); with their strings and arrays behind one reference, copying a record costs a single
/// retain instead of one per field. Reads borrow the fields; a write copies the box first when
/// another value shares it, so each value still behaves as its own copy.
struct SharedFields<Fields: Sendable & Hashable>: Sendable, Hashable {
    private final class Box: @unchecked Sendable {
        // Written only when no other value shares this box (see `fields`' modify accessor).
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    init(_ fields: Fields) { box = Box(fields) }

    var fields: Fields {
        _read { yield box.fields }
        _modify {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
            yield &box.fields
        }
    }

    static func == (a: Self, b: Self) -> Bool { a.box === b.box || a.box.fields == b.box.fields }
    func hash(into hasher: inout Hasher) { box.fields.hash(into: &hasher) }
}
