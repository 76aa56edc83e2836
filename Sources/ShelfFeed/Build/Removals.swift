import Foundation

/// Which files of the output folder go, decided from the records alone (pure): the commit stage
/// journals each list before the record that stops naming its files is written, then removes
/// `goners`. Never a file this build writes; never a file no Shelf build wrote (what a killed
/// build journaled was Shelf's; what a sweep finds is named as Shelf names its own).
enum Removals {
    /// The files an id had that it no longer has.
    static func dropped(old: [String], new: [String]) -> [String] {
        Array(Set(old).subtracting(new))
    }

    /// The feed-wide files of the last build that this one did not write (the site after
    /// `--no-site`, vulnerability info after its advisories went). The catalog only grows, and
    /// files in the state folder are never removed this way.
    static func retiredFeedWide(previous: [String], written: Set<String>) -> [String] {
        previous.filter { !written.contains($0) && keeps($0) }
    }

    /// The feed-wide files a build records as its own (`StateRecord.feedFiles`): without the
    /// catalog (a line per leaf, read back by every later build) and private files.
    static func recordedFeedWide(_ written: [String]) -> [String] {
        written.filter(keeps)
    }

    /// What a killed build journaled that this feed does not have (`current`, and the catalog:
    /// a page or leaf the killed build wrote is part of the history, or an unlinked leaf).
    static func leftovers(_ journaled: [String], current: Set<String>) -> [String] {
        journaled.filter { !current.contains($0) && keeps($0) }
    }

    /// The files to remove: the stale ones, but never one this build wrote, whatever a record said.
    static func goners(stale: [String], written: Set<String>) -> Set<String> {
        Set(stale).subtracting(written)
    }

    /// Whether removals decided from file lists may touch a path: not the catalog's, not private.
    private static func keeps(_ path: String) -> Bool {
        !path.hasPrefix("catalog/") && !StateRecord.isPrivate(path)
    }
}
