import WhatIfCore

/// The profiles of the shared config and credentials files, merged as the SDKs merge them: a
/// profile's settings from the config file (`[profile NAME]`, `[default]`), overridden key by key by
/// the credentials file (`[NAME]`); and the config file's `[sso-session NAME]` sections.
package struct SharedProfiles: Sendable {
    package var configFile: String
    package var credentialsFile: String
    package var profiles: [String: [String: String]] = [:]
    package var ssoSessions: [String: [String: String]] = [:]

    /// Reads both files (a missing file has no profiles; an unreadable one is an error naming it).
    package static func load(configFile: String, credentialsFile: String) throws -> SharedProfiles {
        var p = SharedProfiles(configFile: configFile, credentialsFile: credentialsFile)
        for (section, keys) in try read(configFile) {
            if section == "default" {
                p.profiles["default", default: [:]].merge(keys) { _, new in new }
            } else if let name = Self.named(section, "profile") {
                p.profiles[name, default: [:]].merge(keys) { _, new in new }
            } else if let name = Self.named(section, "sso-session") {
                p.ssoSessions[name] = keys
            }
        }
        for (name, keys) in try read(credentialsFile) {
            p.profiles[name, default: [:]].merge(keys) { _, new in new }
        }
        return p
    }

    /// `profile NAME` → NAME (any whitespace between).
    static func named(_ section: String, _ prefix: String) -> String? {
        guard section.hasPrefix(prefix), let f = section.dropFirst(prefix.count).first, f == " " || f == "\t" else {
            return nil
        }
        let n = String(section.dropFirst(prefix.count)).trimmingWhitespace()
        return n.isEmpty ? nil : n
    }

    static func read(_ path: String) throws -> [String: [String: String]] {
        guard Files.exists(path) else { return [:] }
        do {
            return SharedConfigFile.parse(String(decoding: try Files.read(path, limit: 1 << 20), as: UTF8.self))
        } catch {
            throw AWSCredentialsError(error.message, hint: "make \(path) readable by the agent's user")
        }
    }

    /// The profile's settings, nil when neither file has it.
    package subscript(_ name: String) -> [String: String]? { profiles[name] }

    /// Where a profile is written, for messages.
    package var files: String { "\(configFile) or \(credentialsFile)" }

    /// The profile's `region`.
    package func region(_ name: String) -> String? { profiles[name]?["region"].flatMap { $0.isEmpty ? nil : $0 } }
}
