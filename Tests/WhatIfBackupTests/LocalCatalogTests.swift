import Testing
import WhatIfBackup
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The local catalog on a folder, no stack: what counts as a backup, what is damaged and why, orphans,
/// what a crash leaves and what quarantine and delete do.
@Suite struct LocalCatalogTests {
    let dir = TempDir("whatif-catalog")
    var store: LocalStore { LocalStore(root: dir.path) }

    func manifest(_ id: String, status: String = "complete", rows: Int64 = 5000) -> BackupManifest {
        var m = ManifestSealTests.manifest
        m.id = id
        m.status = status
        m.tables = ["public.users": rows]
        return m
    }

    /// A backup folder with a dump file and, unless nil, the manifest's bytes.
    func place(_ id: String, manifest bytes: [UInt8]?, dump: Int = 10) throws {
        let folder = store.folder(id)
        try Files.makeDirectories(folder)
        try Files.writeAtomically("\(folder)/postgres.dump", [UInt8](repeating: 7, count: dump))
        if let bytes { try Files.writeAtomically("\(folder)/manifest.json", bytes) }
    }

    @Test func completeDamagedAndOrphanedBackupsAreToldApart() throws {
        let good = "postgres-20261124T020000Z-0001"
        let unfinished = "postgres-20261124T030000Z-0002"
        let other = "postgres-20261124T040000Z-0003"
        let edited = "postgres-20261124T050000Z-0004"
        let orphan = "postgres-20261124T060000Z-0005"
        try place(good, manifest: try ManifestSeal.encode(manifest(good)))
        try place(unfinished, manifest: try ManifestSeal.encode(manifest(unfinished, status: "running")))
        try place(other, manifest: try ManifestSeal.encode(manifest(good)))
        let sealed = String(decoding: try ManifestSeal.encode(manifest(edited, rows: 4321)), as: UTF8.self)
        try place(edited, manifest: Array(sealed.replacing("4321", with: "4322").utf8))
        try place(orphan, manifest: nil, dump: 1234)

        #expect(try store.ids(kind: .postgres).sorted() == [good, unfinished, other, edited].sorted())
        #expect(try store.manifest(good)?.tables?["public.users"] == 5000)
        func damage(_ id: String) -> String? {
            do {
                _ = try store.manifest(id)
                return nil
            } catch let d as ManifestDamage {
                return d.reason
            } catch {
                return "\(error)"
            }
        }
        #expect(damage(unfinished)?.contains("its status is 'running'") == true)
        #expect(damage(other)?.contains("describes backup \(good)") == true)
        #expect(damage(edited)?.contains("does not match its own checksum") == true)
        #expect(
            store.orphans() == [OrphanBackup(path: store.folder(orphan), location: .local, bytes: 1234, id: orphan)])
        #expect(try store.files(good) == ["postgres.dump": 10], "side files are not the backup's files")

        // Quarantine keeps the data and takes the backup out of the catalog.
        let moved = try store.quarantine(edited)
        #expect(moved == "\(dir.path)/quarantine/postgres/\(edited)")
        let afterQuarantine = try store.ids(kind: .postgres)
        #expect(Files.exists("\(moved)/postgres.dump") && !afterQuarantine.contains(edited))
        // Delete removes the manifest and the data, nothing half-deleted stays listed.
        try store.delete(unfinished)
        let afterDelete = try store.ids(kind: .postgres)
        #expect(!Files.exists(store.folder(unfinished)) && !afterDelete.contains(unfinished))
    }

    @Test func whatACrashLeavesIsRemovedAtTheNextStart() throws {
        let id = "dynamodb-20261124T020000Z-0006"
        try Files.makeDirectories(store.partialFolder(id) + "/data")
        try Files.writeAtomically(store.partialFolder(id) + "/data/part.json.gz", [1, 2, 3])
        let deleting = "\(dir.path)/postgres/.postgres-20261124T020000Z-0007.deleting"
        try Files.makeDirectories(deleting)
        // Neither a half-written backup nor a half-deleted one is ever listed, or an orphan.
        let listed = try store.ids(kind: .dynamodb)
        #expect(store.orphans().isEmpty && listed.isEmpty)
        let removed = store.removeLeftovers().sorted()
        #expect(removed == [deleting, store.partialFolder(id)].sorted(), "\(removed)")
        #expect(!Files.exists(store.partialFolder(id)) && !Files.exists(deleting))
    }
}
