import Foundation

/// Why `shelf publish` stopped: each case says what is wrong and what to do. The feed in the
/// bucket is never left in a state a client cannot use: a publish that stops converges when it
/// is run again.
public enum PublishError: Error, Sendable, Equatable, CustomStringConvertible {
    // MARK: The destination and the credentials

    /// The destination is not `s3://BUCKET[/PREFIX]`.
    case notAnS3URL(String)
    case noBucket(String)
    /// The prefix has `.`, `..` or empty segments.
    case unclearPrefix(String)
    case noCredentials(profile: String, credentialsFile: String)
    case noKeyInProfile(profile: String, credentialsFile: String, configFile: String)

    // MARK: The folder

    /// The folder has no service index: it is not a feed `shelf build` wrote.
    case notAFeed(root: String)
    case folderUnreadable(String)
    case fileUnreadable(String)
    /// The file that identifies this folder's publisher (its lease owner) cannot be opened.
    case ownerFileUnusable(path: String, reason: String)
    /// The folder's lock (shared with `shelf build`) cannot be taken for another reason than a
    /// build holding it (a folder that may not be written).
    case buildLockUnusable(root: String, reason: String)

    // MARK: The server

    case badRequestURL(String)
    case notHTTP(String)
    case listFailed(destination: String, message: String)
    case uploadFailed(object: String, message: String)
    case deleteFailed(object: String, message: String)
    /// The manifest object is there but is not one Shelf can read.
    case manifestUnreadable(object: String)
    case manifestReadFailed(object: String, message: String)
    case manifestWriteFailed(object: String, message: String)
    /// The server ignores `If-Match`/`If-None-Match` on PUT, which keeps two publishers apart.
    case conditionalWritesUnsupported(endpoint: String)

    // MARK: Another publish or build (`isContention`)

    /// A `shelf build` holds the folder's lock.
    case buildRunning(root: String)
    /// Another publish holds the destination's lease.
    case leaseHeld(destination: String, since: String, until: String)
    /// Another publish took the lease at the same moment.
    case leaseLost(destination: String)
    /// The lease was taken by another publisher (`--break-lock`) while this one ran.
    case leaseTaken(destination: String)
    /// Another publish of this folder to this destination runs on this machine.
    case publishingHere(destination: String)
    /// A `shelf push` or `shelf delete` holds the destination.
    case pushRunning(destination: String)

    /// Another publish or build is in the way: run again when it is done (exit status 75).
    public var isContention: Bool {
        switch self {
        case .buildRunning, .leaseHeld, .leaseLost, .leaseTaken, .publishingHere, .pushRunning: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .notAnS3URL(let url):
            return "\(url) is not an s3:// URL: write the destination as s3://BUCKET or s3://BUCKET/PREFIX"
        case .noBucket(let url): return "\(url) names no bucket: write s3://BUCKET/PREFIX"
        case .unclearPrefix(let url):
            return "\(url): a prefix with `.`, `..` or `//` segments names no single place; write it plainly"
        case .noCredentials(let profile, let credentialsFile):
            return "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add the profile \(profile) "
                + "to \(credentialsFile) (`aws configure`), or name one with --profile"
        case .noKeyInProfile(let profile, let credentialsFile, let configFile):
            return "no access key for profile \(profile) in \(credentialsFile) or \(configFile): add aws_access_key_id "
                + "and aws_secret_access_key to it (`aws configure --profile \(profile)`)"
        case .notAFeed(let root): return "\(root)/index.json is missing: publish the folder `shelf build --out` wrote"
        case .folderUnreadable(let root): return "\(root): cannot read the folder"
        case .fileUnreadable(let path): return "\(path): cannot read it"
        case .ownerFileUnusable(let path, let reason): return "\(path): cannot open it (\(reason))"
        case .buildLockUnusable(let root, let reason):
            return "cannot take the lock of \(root) that keeps `shelf build` out while publishing: \(reason)"
        case .badRequestURL(let url): return "cannot make a URL of \(url)"
        case .notHTTP(let url): return "\(url): not an HTTP response"
        case .listFailed(let destination, let message): return "cannot list \(destination): \(message)"
        case .uploadFailed(let object, let message): return "cannot upload \(object): \(message)"
        case .deleteFailed(let object, let message): return "cannot delete \(object): \(message)"
        case .manifestUnreadable(let object):
            return "\(object) is not a manifest Shelf can read: if no publish is running, delete that object and "
                + "publish again (every file is then compared by its MD5)"
        case .manifestReadFailed(let object, let message): return "cannot read \(object): \(message)"
        case .manifestWriteFailed(let object, let message): return "cannot write \(object): \(message)"
        case .conditionalWritesUnsupported(let endpoint):
            return "\(endpoint) does not support conditional writes (If-Match/If-None-Match on PUT), which Shelf "
                + "needs to keep two publishers apart; use a server that has them (AWS S3, MinIO, R2)"
        case .buildRunning(let root):
            return "a `shelf build` is writing \(root); publish when it is done, so that the bucket gets a whole feed"
        case .leaseHeld(let destination, let since, let until):
            return "\(destination) is being published by another `shelf publish` (since \(since), lease "
                + "until \(until), renewed while it runs). Run again when it is done. If it was killed, "
                + "its lease lapses at \(until); --break-lock takes it now."
        case .leaseLost(let destination):
            return "another `shelf publish` to \(destination) started at the same moment and took the lease first; "
                + "nothing was changed. Run again when it is done."
        case .leaseTaken(let destination):
            return "the lease on \(destination) was taken by another publisher (--break-lock?) while this one ran; "
                + "stopped. Run again when it is done: the feed converges."
        case .publishingHere(let destination):
            return "another `shelf publish` of this folder to \(destination) is running on this machine"
        case .pushRunning(let destination):
            return "a `shelf push` or `shelf delete` is changing \(destination); publish again when it is done"
        }
    }
}
