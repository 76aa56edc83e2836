import Foundation

/// Renders `index.json`, the service index.
///
/// Each hive is advertised under every type some client in use looks for (see
/// `../shared/protocol/README.md`): NuGet 5.x knows only `RegistrationsBaseUrl/Versioned`, `/3.4.0`
/// and `/3.0.0-beta`; 6.x also `/3.6.0`, `/3.0.0-rc` and plain. nuget.org's split is kept: the
/// SemVer 1.0.0 hive under plain, `/3.0.0-rc`, `/3.0.0-beta` and `/3.4.0`; the hive that includes
/// SemVer 2.0.0 under `/3.6.0` and `/Versioned` (with `clientVersion` 4.3.0-alpha).
///
/// Search and autocomplete are advertised under every type nuget.org lists; clients look only
/// for `/Versioned`, `/3.4.0` and `/3.0.0-beta` (autocomplete: `/Versioned`, `/3.0.0-beta`;
/// NuGet.Client `ServiceTypes.cs`), the others are for tools that follow the docs.
public struct ServiceIndexRenderer: Sendable {
    public let layout: FeedLayout
    /// The package page URL template (`PackageDetailsUriTemplate/5.1.0`) relative to the base
    /// URL, when the feed has a package site.
    public let packageDetailsTemplate: String?

    /// Whether the feed has `vulnerabilities/index.json` (`VulnerabilityInfo/6.7.0`).
    public let vulnerabilityInfo: Bool

    public init(layout: FeedLayout, packageDetailsTemplate: String? = nil, vulnerabilityInfo: Bool = false) {
        self.layout = layout
        self.packageDetailsTemplate = packageDetailsTemplate
        self.vulnerabilityInfo = vulnerabilityInfo
    }

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
        let search = layout.url(SearchRenderer.queryPath)
        for type in [
            "SearchQueryService", "SearchQueryService/3.0.0-rc", "SearchQueryService/3.0.0-beta",
            "SearchQueryService/3.4.0", "SearchQueryService/3.5.0", "SearchQueryService/Versioned",
        ] {
            resources.append(
                resource(
                    search, type,
                    "Query endpoint of NuGet Search service. A static document: see the README for what it returns."))
        }
        let autocomplete = layout.url(SearchRenderer.autocompletePath)
        for type in [
            "SearchAutocompleteService", "SearchAutocompleteService/3.0.0-rc", "SearchAutocompleteService/3.0.0-beta",
            "SearchAutocompleteService/3.5.0", "SearchAutocompleteService/Versioned",
        ] {
            resources.append(resource(autocomplete, type, "Autocomplete endpoint of NuGet Search service."))
        }
        resources.append(
            resource(layout.url(CatalogLayout.index), "Catalog/3.0.0", "Index of the NuGet package catalog."))
        // Templates are written by hand: their braces must not be percent-encoded.
        resources.append(
            resource(
                layout.baseURL + FeedLayout.flatContainer + "{lower_id}/{lower_version}/readme.md",
                "ReadmeUriTemplate/6.13.0",
                "URI template used by NuGet Client to construct a URL for downloading a package's README."))
        if let packageDetailsTemplate {
            resources.append(
                resource(
                    layout.baseURL + packageDetailsTemplate, "PackageDetailsUriTemplate/5.1.0",
                    "URI template used by NuGet Client to construct details URL for packages"))
        }
        if vulnerabilityInfo {
            resources.append(
                resource(
                    layout.url(VulnerabilityInfoRenderer.index), "VulnerabilityInfo/6.7.0",
                    "The endpoint for discovering information about vulnerabilities of packages in this package source."
                ))
        }
        // nuget.org's `@context` last, as its index has it (JSON-LD readers resolve the types by it).
        let doc: JSON = .object([
            .init("version", "3.0.0"),
            .init("resources", .array(resources)),
            .init(
                "@context",
                .object([
                    .init("@vocab", "http://schema.nuget.org/services#"),
                    .init("comment", "http://www.w3.org/2000/01/rdf-schema#comment"),
                ])),
        ])
        return .json("index.json", doc, phase: .serviceIndex)
    }

    private func resource(_ id: String, _ type: String, _ comment: String) -> JSON {
        .object([.init("@id", .string(id)), .init("@type", .string(type)), .init("comment", .string(comment))])
    }
}
