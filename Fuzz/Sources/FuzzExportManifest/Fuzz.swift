import FuzzSupport
import WhatIfBackup
import WhatIfCore
import WhatIfProtocol

/// Files a restore reads from a backup folder or an AWS export: manifest-files.json,
/// manifest-summary.json, our manifest.json, gzip data files, and files encrypted by the agent.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let files = try? ExportLayout.parseFiles(bytes) {
        for f in files { _ = ExportLayout.relativeDataPath(f.dataFileS3Key, exportId: "01795485600000-0a1b2c3d") }
    }
    _ = try? ExportLayout.parseSummary(bytes)
    _ = try? APICoding.decode(BackupManifest.self, from: bytes)
    _ = try? GzipReader.decompress(bytes, limit: 1 << 20)
    EncryptedFileInput.decrypt(bytes, piece: Int(bytes.first ?? 64) + 1)
    return 0
}

/// SwiftPM names this program's entry point FuzzExportManifest_main.
@_cdecl("FuzzExportManifest_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
