import ArgumentParser

struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Publish a built feed to S3-compatible storage.")
    func run() async throws {}
}
