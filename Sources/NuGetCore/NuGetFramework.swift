/// Placeholder until the framework tables land.
public struct NuGetFramework: Sendable, Hashable {
    public var shortFolderName: String
    public static func parse(_ s: String) -> NuGetFramework { NuGetFramework(shortFolderName: s) }
}
