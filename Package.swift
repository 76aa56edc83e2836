// swift-tools-version: 6.1
import PackageDescription

// One set of settings for every target: Swift 6 language mode (strict concurrency) everywhere.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "Shelf",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "shelf", targets: ["shelf"]),
        .library(name: "NuGetCore", targets: ["NuGetCore"]),
        .library(name: "ShelfFeed", targets: ["ShelfFeed"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/JohnSundell/Ink", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        // zlib, from the system (Debian: zlib1g-dev): raw inflate and CRC-32 for package entries.
        .systemLibrary(name: "CShelfZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // libxml2, from the system (Debian: libxml2-dev): the nuspec parser. Foundation's
        // XMLParser on Linux crashes the process on some malformed input (found by the fuzz tests).
        .systemLibrary(name: "CShelfLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        // NuGet's own rules: versions, ranges, frameworks, ids, nuspec, nupkg reading. No I/O policy.
        .target(
            name: "NuGetCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                "CShelfZlib",
                "CShelfLibXML2",
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
        // The feed: scan, read, model, renderers (pure), local sink.
        .target(
            name: "ShelfFeed",
            dependencies: ["NuGetCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // `shelf validate`: checks any V3 feed, from a folder or over HTTP.
        .target(
            name: "ShelfValidate",
            dependencies: ["NuGetCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // The package site: HTML pages, client-side search index, badges.
        .target(
            name: "ShelfSite",
            dependencies: [
                "ShelfFeed",
                .product(name: "Ink", package: "Ink"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: swiftSettings
        ),
        // `shelf serve`: the feed's files over HTTP, with real search, and with `--push` the
        // PackagePublish endpoint and API keys. It takes uploads and credentials from outside,
        // so it stands on Hummingbird (SwiftNIO); multipart bodies are parsed as they stream by
        // MultipartKit. Only this target and the executable build them.
        .target(
            name: "ShelfServe",
            dependencies: [
                "ShelfFeed", "NuGetCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings
        ),
        // `shelf publish`: S3-compatible object storage (SigV4 over URLSession, no SDK).
        .target(
            name: "ShelfPublish",
            dependencies: ["ShelfFeed", "NuGetCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // The thin command-line shell.
        .executableTarget(
            name: "shelf",
            dependencies: [
                "NuGetCore",
                "ShelfFeed",
                "ShelfSite",
                "ShelfValidate",
                "ShelfServe",
                "ShelfPublish",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the test targets share: golden files with unified diffs.
        .target(
            name: "ShelfTestSupport",
            path: "Tests/ShelfTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NuGetCoreTests",
            dependencies: ["NuGetCore", "ShelfTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShelfSiteTests",
            dependencies: ["ShelfSite", "ShelfTestSupport"],
            exclude: ["Golden"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShelfFeedTests",
            dependencies: ["ShelfFeed", "ShelfTestSupport"],
            exclude: ["Golden"],
            swiftSettings: swiftSettings
        ),
        // The build in-process with the renderers `shelf build` uses: interrupted builds
        // (fault points), records that cannot be trusted, the report by case.
        .testTarget(
            name: "ShelfBuildTests",
            dependencies: ["ShelfFeed", "ShelfSite", "ShelfTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShelfValidateTests",
            dependencies: ["ShelfValidate", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShelfServeTests",
            dependencies: ["ShelfServe"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShelfPublishTests",
            dependencies: ["ShelfPublish"],
            swiftSettings: swiftSettings
        ),
        // Runs the built `shelf` binary, feedcheck and real servers; never the internals.
        .testTarget(
            name: "ShelfEndToEndTests",
            dependencies: ["shelf", "ShelfTestSupport"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
