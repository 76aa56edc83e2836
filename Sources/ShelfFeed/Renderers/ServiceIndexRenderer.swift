import Foundation

/// Renders `index.json`, the service index.
///
/// Each hive is advertised under every type some client in use looks for (see
/// `../shared/protocol/README.md`): NuGet 5.x knows only `RegistrationsBaseUrl/Versioned`, `/3.4.0`
/// and `/3.0.0-beta`; 6.x also `/3.6.0`, `/3.0.0-rc` and plain. nuget.org's split is kept: the
/// SemVer 1.0.0 hive under plain, `/3.0.0-rc`, `/3.0.0-beta` and `/3.4.0`; the hive that includes
/// SemVer 2.0.0 under `/3.6.0` and `/Versioned` (with `clientVersion` 4.3.0-alpha).
public struct ServiceIndexRenderer: Sendable {
    public let layout: FeedLayout

    public init(layout: FeedLayout) { self.layout = layout }

    public func render() -> FeedDocument {
        let flat = layout.url(FeedLayout.flatContainer)
        let semver1 = layout.url(FeedLayout.registrationSemVer1)
        let semver2 = layout.url(FeedLayout.registrationSemVer2)
        var resources: [JSON] = [
            resource(
                flat, "PackageBaseAddress/3.0.0",
                "Base URL of where NuGet packages are stored, in the format {@id}{id-lower}/{version-lower}/{id-lower}.{version-lower}.nupkg"
            )
        ]
        let semver1Comment =
            "Base URL of where NuGet package registration info is stored. This base URL does not include SemVer 2.0.0 packages."
        for type in [
            "RegistrationsBaseUrl", "RegistrationsBaseUrl/3.0.0-rc", "RegistrationsBaseUrl/3.0.0-beta",
            "RegistrationsBaseUrl/3.4.0",
        ] {
            resources.append(resource(semver1, type, semver1Comment))
        }
        let semver2Comment =
            "Base URL of where NuGet package registration info is stored. This base URL includes SemVer 2.0.0 packages."
        resources.append(resource(semver2, "RegistrationsBaseUrl/3.6.0", semver2Comment))
        resources.append(
            .object([
                .init("@id", .string(semver2)),
                .init("@type", "RegistrationsBaseUrl/Versioned"),
                .init("comment", .string(semver2Comment)),
                .init("clientVersion", "4.3.0-alpha"),
            ]))
        let doc: JSON = .object([
            .init("version", "3.0.0"),
            .init("resources", .array(resources)),
        ])
        return .json("index.json", doc, phase: .serviceIndex)
    }

    private func resource(_ id: String, _ type: String, _ comment: String) -> JSON {
        .object([.init("@id", .string(id)), .init("@type", .string(type)), .init("comment", .string(comment))])
    }
}
