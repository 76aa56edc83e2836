import Foundation
import NuGetCore

/// What an id's registration says of the catalog: the leaf that describes each version as it is
/// (its latest `PackageDetails` item), and the commits that changed the id. nuget.org's
/// registration links each version's catalog leaf (`catalogEntry`), and its index, pages and
/// leaves carry a `commitId` and `commitTimeStamp`: here, those of the catalog commit that last
/// changed them, so that the same history gives the same bytes.
public struct CatalogLinks: Sendable, Equatable {
    /// By lowercase normalized version: the latest details item.
    public var leaves: [String: CatalogItem] = [:]
    /// Every item of the id (details and deletes), in history order.
    public var items: [CatalogItem] = []

    public init() {}

    /// The id's latest commit: what last changed its index.
    public var latest: CatalogItem? { items.last }

    /// For each page, given by its bounds in order (`lower...upper`, not overlapping), the latest
    /// commit of a version within them, deletes included: what last changed the page. One pass
    /// over the id's items, each placed by binary search (an id with 20,000 versions has 313 pages).
    func pageCommits(_ bounds: [(lower: NuGetVersion, upper: NuGetVersion)]) -> [CatalogItem?] {
        var out = [CatalogItem?](repeating: nil, count: bounds.count)
        guard !bounds.isEmpty else { return out }
        for item in items {
            guard let v = NuGetVersion(item.version) else { continue }
            // The last page whose lower bound is at most v.
            var (low, high) = (0, bounds.count)
            while low < high {
                let mid = (low + high) / 2
                if bounds[mid].lower <= v { low = mid + 1 } else { high = mid }
            }
            if low > 0, v <= bounds[low - 1].upper { out[low - 1] = item }
        }
        return out
    }
}

extension CatalogState {
    /// The links of each id in `ids` (lowercase), from one pass over the history.
    public func links(for ids: Set<String>) -> [String: CatalogLinks] {
        var out: [String: CatalogLinks] = [:]
        // Most items are of other ids: their length alone rules them out, without hashing.
        let lengths = Set(ids.map(\.utf8.count))
        for item in items where lengths.contains(item.lowerId.utf8.count) && ids.contains(item.lowerId) {
            out[item.lowerId, default: CatalogLinks()].items.append(item)
            if item.kind == .details { out[item.lowerId]!.leaves[item.lowerVersion] = item }
        }
        return out
    }
}
