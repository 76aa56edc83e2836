import Foundation

/// An access key, as the AWS tools find it.
public struct AWSCredentials: Sendable, Equatable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// The standard AWS credential and region sources, in the AWS CLI's order:
/// 1. an explicit `--profile`: that profile of the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`,
///    default `~/.aws/credentials`), then of the config file (`AWS_CONFIG_FILE`, default
///    `~/.aws/config`, sections `[profile NAME]`);
/// 2. otherwise the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`);
/// 3. otherwise the profile `AWS_PROFILE` names, or `default`, from the same two files.
///
/// Region: `--region`, then `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else `us-east-1`.
public struct AWSConfiguration: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    /// Where the credentials came from, for messages ("environment", "profile default in ~/.aws/credentials").
    public var source: String

    public static func resolve(
        profile explicitProfile: String?, region explicitRegion: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(PublishError) -> AWSConfiguration {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let credentialsFile = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? home + "/.aws/credentials"
        let configFile = environment["AWS_CONFIG_FILE"] ?? home + "/.aws/config"
        let profile = explicitProfile ?? environment["AWS_PROFILE"] ?? "default"
        let shared = INIFile(path: credentialsFile)
        let config = INIFile(path: configFile)
        let fromCredentials = shared?.sections[profile] ?? [:]
        let fromConfig = config?.sections[profile == "default" ? "default" : "profile \(profile)"] ?? [:]

        func fromFiles() -> (AWSCredentials, String)? {
            for (values, file) in [(fromCredentials, credentialsFile), (fromConfig, configFile)] {
                if let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"],
                    !id.isEmpty, !secret.isEmpty
                {
                    return (
                        AWSCredentials(
                            accessKeyId: id, secretAccessKey: secret, sessionToken: values["aws_session_token"]),
                        "profile \(profile) in \(file)"
                    )
                }
            }
            return nil
        }
        var found: (AWSCredentials, String)?
        if explicitProfile == nil, let id = environment["AWS_ACCESS_KEY_ID"],
            let secret = environment["AWS_SECRET_ACCESS_KEY"],
            !id.isEmpty, !secret.isEmpty
        {
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            found = (AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: token), "environment")
        } else {
            found = fromFiles()
        }
        guard let (credentials, source) = found else {
            if explicitProfile != nil {
                throw PublishError.noKeyInProfile(
                    profile: profile, credentialsFile: credentialsFile, configFile: configFile)
            }
            throw PublishError.noCredentials(profile: profile, credentialsFile: credentialsFile)
        }
        let region =
            explicitRegion ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? fromConfig["region"]
            ?? fromCredentials["region"] ?? "us-east-1"
        return AWSConfiguration(credentials: credentials, region: region, source: source)
    }
}

/// The INI dialect of the AWS files: `[section]`, `key = value`, `#` and `;` comments.
struct INIFile {
    var sections: [String: [String: String]] = [:]

    init?(path: String) {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        self.init(text: String(decoding: data, as: UTF8.self))
    }

    init(text: String) {
        var current: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                current = name
                if sections[name] == nil { sections[name] = [:] }
            } else if let current, let eq = line.firstIndex(of: "=") {
                let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                sections[current]?[key] = value
            }
        }
    }
}
