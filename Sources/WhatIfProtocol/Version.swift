/// The one version string of whatif-agent. `whatifd --version`, `whatifctl version`,
/// `GET /v1/version` and the Debian package all report this value
/// (packaging/build-deb reads it from this file).
public enum WhatIfVersion {
    /// The version, `MAJOR.MINOR.PATCH`.
    public static let string = "0.1.0"
    /// The admin API's version: the first path segment of every resource.
    public static let api = "v1"
}
