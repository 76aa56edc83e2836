import Foundation

/// The V3 documents the validator reads, decoded as the NuGet client reads them: only the fields
/// it checks, each read on its own so that one field of the wrong kind is reported as missing
/// (as the client skips it) rather than making the whole document unreadable.
///
/// Shapes from learn.microsoft.com `nuget/api/service-index`, `package-base-address-resource`,
/// `registration-base-url-resource`, `search-query-service-resource` and
/// `search-autocomplete-service-resource`.
enum FeedDocuments {
    /// `index.json`.
    struct ServiceIndex: Decodable {
        var resources: [Resource]

        struct Resource: Decodable {
            var id: String?
            /// `@type` is a string, or (in some feeds, and as NuGet.Client's `ServiceIndexResourceV3`
            /// accepts) an array of strings.
            var types: [String]

            enum CodingKeys: String, CodingKey {
                case id = "@id"
                case type = "@type"
            }

            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                id = c.lenient(String.self, .id)
                if let one = c.lenient(String.self, .type) {
                    types = [one]
                } else {
                    types = c.lenient([String].self, .type) ?? []
                }
            }
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            resources = c.lenientList(Resource.self, .resources)
        }

        enum CodingKeys: String, CodingKey { case resources }

        /// The first resource of each type, by type.
        var byType: [String: String] {
            var out: [String: String] = [:]
            for r in resources {
                guard let id = r.id else { continue }
                for t in r.types where out[t] == nil { out[t] = id }
            }
            return out
        }
    }

    /// `{flat container}/{id}/index.json`.
    struct FlatContainerIndex: Decodable {
        var versions: [String]

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            versions = c.lenient([String].self, .versions) ?? []
        }

        enum CodingKeys: String, CodingKey { case versions }
    }

    /// `{registration hive}/{id}/index.json`, and an external page (same shape of `items`).
    struct RegistrationIndex: Decodable {
        var items: [Page]

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            items = c.lenientList(Page.self, .items)
        }

        enum CodingKeys: String, CodingKey { case items }

        /// A page: its leaves inline, or only its URL (`@id`) when the page is external.
        struct Page: Decodable {
            var id: String?
            var items: [Leaf]?

            enum CodingKeys: String, CodingKey {
                case id = "@id"
                case items
            }

            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                id = c.lenient(String.self, .id)
                // A leaf that is not an object is an item without a version.
                items = c.lenient([Lenient<Leaf>].self, .items).map { $0.map { $0.value ?? Leaf() } }
            }
        }

        /// One version of the id.
        struct Leaf: Decodable {
            var id: String?
            var packageContent: String?
            var version: String?

            enum CodingKeys: String, CodingKey {
                case id = "@id"
                case packageContent
                case catalogEntry
            }

            enum EntryKeys: String, CodingKey { case version }

            init() {}

            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                id = c.lenient(String.self, .id)
                packageContent = c.lenient(String.self, .packageContent)
                if let entry = try? c.nestedContainer(keyedBy: EntryKeys.self, forKey: .catalogEntry) {
                    version = entry.lenient(String.self, .version)
                }
            }
        }
    }

    /// An autocomplete response: `data` is the ids.
    struct Autocomplete: Decodable {
        var data: [String]
    }

    /// A search response: `data` is the hits, each with its `id`.
    struct Search: Decodable {
        var data: [Hit]

        struct Hit: Decodable {
            var id: String?

            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                id = c.lenient(String.self, .id)
            }

            enum CodingKeys: String, CodingKey { case id }
        }
    }
}

extension KeyedDecodingContainer {
    /// A field's value, or nil when it is missing or of another kind.
    fileprivate func lenient<T: Decodable>(_ type: T.Type, _ key: Key) -> T? {
        (try? decodeIfPresent(type, forKey: key)) ?? nil
    }

    /// A list's elements that decode (an element of another kind is left out, as is the list
    /// when it is missing or not a list).
    fileprivate func lenientList<T: Decodable>(_ type: T.Type, _ key: Key) -> [T] {
        (lenient([Lenient<T>].self, key) ?? []).compactMap(\.value)
    }
}

/// An element that may not decode.
private struct Lenient<T: Decodable>: Decodable {
    var value: T?
    init(from decoder: any Decoder) throws { value = try? T(from: decoder) }
}
