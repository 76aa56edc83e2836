import ArgumentParser
import Foundation

@main
struct Shelf: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shelf",
        abstract: "Turn a folder of .nupkg files into a static NuGet V3 feed.",
        version: "0.1.0",
        subcommands: [
            Build.self, Push.self, Delete.self, Prune.self, Validate.self, Serve.self, Keys.self, Publish.self,
        ]
    )
}
