import WhatIfCore
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A DynamoDB attribute value in its wire form: `{"S": "..."}`, `{"N": "12"}`, `{"M": {...}}`, ...
package indirect enum AttributeValue: Sendable, Hashable, Codable {
    case s(String)
    /// Numbers travel as strings, so no digit is lost.
    case n(String)
    case b([UInt8])
    case bool(Bool)
    case null
    case m([String: AttributeValue])
    case l([AttributeValue])
    case ss([String])
    case ns([String])
    case bs([[UInt8]])

    // Names are AWS's wire format.

    // swift-format-ignore: AlwaysUseLowerCamelCase
    private enum Key: String, CodingKey {
        case S, N, B, BOOL, NULL, M, L, SS, NS, BS
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        guard c.allKeys.count == 1, let key = c.allKeys.first else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "an attribute value has exactly one type key"))
        }
        func bytes(_ s: String) throws -> [UInt8] {
            guard let d = Data(base64Encoded: s) else {
                throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "bad base64"))
            }
            return Array(d)
        }
        switch key {
        case .S: self = .s(try c.decode(String.self, forKey: key))
        case .N: self = .n(try c.decode(String.self, forKey: key))
        case .B: self = .b(try bytes(c.decode(String.self, forKey: key)))
        case .BOOL: self = .bool(try c.decode(Bool.self, forKey: key))
        case .NULL: self = .null
        case .M: self = .m(try c.decode([String: AttributeValue].self, forKey: key))
        case .L: self = .l(try c.decode([AttributeValue].self, forKey: key))
        case .SS: self = .ss(try c.decode([String].self, forKey: key))
        case .NS: self = .ns(try c.decode([String].self, forKey: key))
        case .BS: self = .bs(try c.decode([String].self, forKey: key).map(bytes))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case .s(let v): try c.encode(v, forKey: .S)
        case .n(let v): try c.encode(v, forKey: .N)
        case .b(let v): try c.encode(Data(v).base64EncodedString(), forKey: .B)
        case .bool(let v): try c.encode(v, forKey: .BOOL)
        case .null: try c.encode(true, forKey: .NULL)
        case .m(let v): try c.encode(v, forKey: .M)
        case .l(let v): try c.encode(v, forKey: .L)
        case .ss(let v): try c.encode(v, forKey: .SS)
        case .ns(let v): try c.encode(v, forKey: .NS)
        case .bs(let v): try c.encode(v.map { Data($0).base64EncodedString() }, forKey: .BS)
        }
    }
}

package typealias DynamoItem = [String: AttributeValue]

package struct KeySchemaElement: Codable, Sendable, Equatable {
    package var attributeName: String
    /// HASH or RANGE.
    package var keyType: String
    // memberwise-init: package
    // coding-keys: PascalCase
}

package struct AttributeDefinition: Codable, Sendable, Equatable {
    package var attributeName: String
    /// S, N or B: the only key types DynamoDB accepts.
    package var attributeType: String
    // memberwise-init: package
    // coding-keys: PascalCase
}

package struct Projection: Codable, Sendable, Equatable {
    package var projectionType: String
    package var nonKeyAttributes: [String]?
    // memberwise-init: package
    // coding-keys: PascalCase
}

package struct ProvisionedThroughput: Codable, Sendable, Equatable {
    package var readCapacityUnits: Int64
    package var writeCapacityUnits: Int64
    // memberwise-init: package
    // coding-keys: PascalCase
}

package struct GlobalSecondaryIndex: Codable, Sendable, Equatable {
    package var indexName: String
    package var keySchema: [KeySchemaElement]
    package var projection: Projection
    /// Only for tables in PROVISIONED billing mode.
    package var provisionedThroughput: ProvisionedThroughput?
    // memberwise-init: package
    // coding-keys: PascalCase
}

package struct LocalSecondaryIndex: Codable, Sendable, Equatable {
    package var indexName: String
    package var keySchema: [KeySchemaElement]
    package var projection: Projection
    // memberwise-init: package
    // coding-keys: PascalCase
}

package struct TableDescription: Decodable, Sendable {
    package var tableName: String
    package var tableStatus: String
    package var itemCount: Int64?
    package var tableSizeBytes: Int64?
    package var tableArn: String?
    package var keySchema: [KeySchemaElement]?
    package var attributeDefinitions: [AttributeDefinition]?
    package var billingModeSummary: BillingModeSummary?
    package var globalSecondaryIndexes: [IndexDescription]?
    package var localSecondaryIndexes: [IndexDescription]?
    package var tableId: String?
    package var provisionedThroughput: ThroughputDescription?
    /// Seconds since 1970 (DynamoDB's JSON gives a number).
    package var creationDateTime: Double?

    /// Which table this is, not just its name: a table deleted and created again under the same name
    /// has another ARN-and-creation-time (and TableId).
    package var identity: String {
        let created = creationDateTime.map { String($0) } ?? "?"
        return "\(tableArn ?? tableName) created \(created)" + (tableId.map { " id \($0)" } ?? "")
    }

    package struct ThroughputDescription: Decodable, Sendable {
        package var readCapacityUnits: Int64?
        package var writeCapacityUnits: Int64?
        // coding-keys: PascalCase
    }

    package struct BillingModeSummary: Decodable, Sendable {
        package var billingMode: String?
        enum CodingKeys: String, CodingKey { case billingMode = "BillingMode" }
    }

    package struct IndexDescription: Decodable, Sendable {
        package var indexName: String
        package var indexStatus: String?
        package var itemCount: Int64?
        package var keySchema: [KeySchemaElement]?
        package var projection: Projection?
        package var provisionedThroughput: ThroughputDescription?
        // coding-keys: PascalCase
    }

    // coding-keys: PascalCase
}

/// DynamoDB over AWS JSON 1.0.
package struct DynamoDB: Sendable {
    package let client: AWSClient
    static let target = "DynamoDB_20120810"

    /// DynamoDB's rule for table and index names, as error messages state it.
    package static let nameRule = "3-255 characters of a-z A-Z 0-9 _ - ."

    /// DynamoDB's rule for table and index names: 3 to 255 of a-z A-Z 0-9 _ - .
    package static func isValidName(_ s: String) -> Bool {
        (3...255).contains(s.utf8.count)
            && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }
    }

    package init(client: AWSClient) { self.client = client }

    private func call<Req: Encodable, Res: Decodable>(_ operation: String, _ request: Req, as: Res.Type) throws -> Res {
        try client.json(.dynamodb, target: Self.target, operation: operation, request, as: Res.self)
    }

    // Names are AWS's wire format.

    // swift-format-ignore: AlwaysUseLowerCamelCase
    struct TableNameRequest: Encodable {
        var TableName: String
    }

    package func describeTable(_ name: String) throws -> TableDescription {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable { var Table: TableDescription }
        return try call("DescribeTable", TableNameRequest(TableName: name), as: Res.self).Table
    }

    package func listTables() throws -> [String] {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Req: Encodable { var ExclusiveStartTableName: String? }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable {
            var TableNames: [String]
            var LastEvaluatedTableName: String?
        }
        var names: [String] = []
        var start: String?
        repeat {
            let r = try call("ListTables", Req(ExclusiveStartTableName: start), as: Res.self)
            names += r.TableNames
            start = r.LastEvaluatedTableName
        } while start != nil
        return names
    }

    package struct CreateTableRequest: Encodable, Sendable {
        package var tableName: String
        package var keySchema: [KeySchemaElement]
        package var attributeDefinitions: [AttributeDefinition]
        package var globalSecondaryIndexes: [GlobalSecondaryIndex]?
        package var localSecondaryIndexes: [LocalSecondaryIndex]?
        package var billingMode: String = "PAY_PER_REQUEST"
        /// Required when billingMode is PROVISIONED.
        package var provisionedThroughput: ProvisionedThroughput?

        // memberwise-init: package

        // coding-keys: PascalCase
    }

    @discardableResult
    package func createTable(_ request: CreateTableRequest) throws -> TableDescription {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable { var TableDescription: TableDescription }
        return try call("CreateTable", request, as: Res.self).TableDescription
    }

    /// UpdateTable adding one global secondary index (DynamoDB takes one index creation per call) with
    /// the definitions of its key attributes. The index is then CREATING (backfilling) until ACTIVE:
    /// `waitUntilActive` waits for it.
    @discardableResult
    package func createGlobalSecondaryIndex(
        table: String, index: GlobalSecondaryIndex, attributeDefinitions: [AttributeDefinition]
    ) throws -> TableDescription {
        struct Create: Encodable {
            var index: GlobalSecondaryIndex
            enum CodingKeys: String, CodingKey { case index = "Create" }
        }
        struct Req: Encodable {
            var tableName: String
            var attributeDefinitions: [AttributeDefinition]
            var updates: [Create]
            enum CodingKeys: String, CodingKey {
                case tableName = "TableName"
                case attributeDefinitions = "AttributeDefinitions"
                case updates = "GlobalSecondaryIndexUpdates"
            }
        }
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable { var TableDescription: TableDescription }
        return try call(
            "UpdateTable",
            Req(tableName: table, attributeDefinitions: attributeDefinitions, updates: [Create(index: index)]),
            as: Res.self
        ).TableDescription
    }

    package func deleteTable(_ name: String) throws {
        struct Res: Decodable {}
        _ = try call("DeleteTable", TableNameRequest(TableName: name), as: Res.self)
    }

    /// Polls DescribeTable until the table is gone (DynamoDB deletes in the background; a table of the
    /// same name cannot be created before then).
    package func waitUntilDeleted(_ name: String, timeout: Double = 900, poll: Double = 1) throws {
        try waitFor(name, timeout: timeout, poll: poll, stillIs: "still being deleted") { () -> Void? in
            do { _ = try describeTable(name) } catch let e as AWSError where e.code == "ResourceNotFoundException" {
                return ()
            }
            return nil
        }
    }

    /// Polls DescribeTable until the table and its indexes are ACTIVE.
    package func waitUntilActive(_ name: String, timeout: Double = 300, poll: Double = 1) throws -> TableDescription {
        var status = "?"
        return try waitFor(name, timeout: timeout, poll: poll, stillIs: "still \(status)") {
            let t = try describeTable(name)
            status = t.tableStatus
            let active =
                t.tableStatus == "ACTIVE"
                && (t.globalSecondaryIndexes ?? []).allSatisfy { ($0.indexStatus ?? "ACTIVE") == "ACTIVE" }
            return active ? t : nil
        }
    }

    /// The polling loop of the waits above: `check` every `poll` seconds until it gives a value, or a
    /// Failure naming the table, what it still is, and how to look at it.
    private func waitFor<T>(
        _ name: String, timeout: Double, poll: Double, stillIs: @autoclosure () -> String, _ check: () throws -> T?
    ) throws -> T {
        let deadline = Deadline.after(seconds: timeout)
        while true {
            if let value = try check() { return value }
            if deadline.hasPassed {
                throw Failure(
                    "table \(name) is \(stillIs()) after \(DurationText.format(timeout))",
                    hint: "see its state with `aws dynamodb describe-table --table-name \(name)`")
            }
            sleepThread(seconds: poll)
        }
    }

    /// PutItem, with an optional condition (names and values for its placeholders). A failed condition
    /// throws AWSError ConditionalCheckFailedException.
    package func putItem(
        table: String, item: DynamoItem, conditionExpression: String? = nil, names: [String: String]? = nil,
        values: DynamoItem? = nil
    ) throws {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Req: Encodable {
            var TableName: String
            var Item: DynamoItem
            var ConditionExpression: String?
            var ExpressionAttributeNames: [String: String]?
            var ExpressionAttributeValues: DynamoItem?
        }
        struct Res: Decodable {}
        _ = try call(
            "PutItem",
            Req(
                TableName: table, Item: item, ConditionExpression: conditionExpression,
                ExpressionAttributeNames: names, ExpressionAttributeValues: values), as: Res.self)
    }

    package func getItem(table: String, key: DynamoItem, consistentRead: Bool = false) throws -> DynamoItem? {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Req: Encodable {
            var TableName: String
            var Key: DynamoItem
            var ConsistentRead: Bool
        }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable { var Item: DynamoItem? }
        return try call("GetItem", Req(TableName: table, Key: key, ConsistentRead: consistentRead), as: Res.self).Item
    }

    /// One BatchWriteItem of put requests (at most 25, as DynamoDB requires). Returns the items DynamoDB
    /// did not process, which the caller must retry.
    package func batchPut(table: String, items: [DynamoItem]) throws -> [DynamoItem] {
        precondition(items.count <= 25, "BatchWriteItem takes at most 25 requests")
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Put: Codable { var Item: DynamoItem }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct WriteRequest: Codable { var PutRequest: Put? }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Req: Encodable { var RequestItems: [String: [WriteRequest]] }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable { var UnprocessedItems: [String: [WriteRequest]]? }
        let r = try call(
            "BatchWriteItem", Req(RequestItems: [table: items.map { WriteRequest(PutRequest: Put(Item: $0)) }]),
            as: Res.self)
        return (r.UnprocessedItems?[table] ?? []).compactMap { $0.PutRequest?.Item }
    }

    package struct ScanPage: Sendable {
        package var items: [DynamoItem]
        package var lastEvaluatedKey: DynamoItem?
        package var scannedCount: Int
    }

    package func scan(
        table: String, segment: Int? = nil, totalSegments: Int? = nil, startKey: DynamoItem? = nil, limit: Int? = nil,
        consistentRead: Bool = false
    ) throws -> ScanPage {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Req: Encodable {
            var TableName: String
            var Segment: Int?
            var TotalSegments: Int?
            var ExclusiveStartKey: DynamoItem?
            var Limit: Int?
            var ConsistentRead: Bool
        }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable {
            var Items: [DynamoItem]?
            var LastEvaluatedKey: DynamoItem?
            var ScannedCount: Int?
        }
        let r = try call(
            "Scan",
            Req(
                TableName: table, Segment: segment, TotalSegments: totalSegments, ExclusiveStartKey: startKey,
                Limit: limit,
                ConsistentRead: consistentRead), as: Res.self)
        return ScanPage(items: r.Items ?? [], lastEvaluatedKey: r.LastEvaluatedKey, scannedCount: r.ScannedCount ?? 0)
    }
}

// MARK: Backups: raw scan pages, counts, point-in-time recovery, exports to S3.

extension DynamoDB {
    /// One Scan call, answered as the service's raw JSON (the export writer splits it without decoding
    /// every attribute). `startKey` is the previous page's LastEvaluatedKey as JSON.
    package func scanRaw(
        table: String, segment: Int? = nil, totalSegments: Int? = nil, startKey: [UInt8]? = nil, limit: Int? = nil,
        consistentRead: Bool = false
    ) throws -> [UInt8] {
        var body = Array("{\"TableName\":".utf8)
        body += try JSONEncoder().encode(table)
        if let segment, let totalSegments {
            body += Array(",\"Segment\":\(segment),\"TotalSegments\":\(totalSegments)".utf8)
        }
        if let limit { body += Array(",\"Limit\":\(limit)".utf8) }
        body += Array(",\"ConsistentRead\":\(consistentRead)".utf8)
        if let startKey {
            body += Array(",\"ExclusiveStartKey\":".utf8)
            body += startKey
        }
        body.append(UInt8(ascii: "}"))
        return try client.json(.dynamodb, target: Self.target, operation: "Scan", body: body)
    }

    /// BatchWriteItem with put requests given as JSON (`{"PutRequest":{"Item":{...}}}`), at most 25.
    /// Returns the raw answer (the caller takes UnprocessedItems from it).
    package func batchWriteRaw(table: String, putRequests: [[UInt8]]) throws -> [UInt8] {
        precondition(putRequests.count <= 25, "BatchWriteItem takes at most 25 requests")
        var body = Array("{\"RequestItems\":{".utf8)
        body += try JSONEncoder().encode(table)
        body += Array(":[".utf8)
        for (i, r) in putRequests.enumerated() {
            if i > 0 { body.append(UInt8(ascii: ",")) }
            body += r
        }
        body += Array("]}}".utf8)
        return try client.json(.dynamodb, target: Self.target, operation: "BatchWriteItem", body: body)
    }

    /// The number of items (Scan with Select COUNT, all pages): exact, unlike DescribeTable's ItemCount,
    /// which DynamoDB refreshes about every six hours.
    package func countItems(table: String, consistentRead: Bool = false) throws -> Int {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Req: Encodable {
            var TableName: String
            var Select = "COUNT"
            var ExclusiveStartKey: DynamoItem?
            var ConsistentRead: Bool
        }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable {
            var Count: Int
            var LastEvaluatedKey: DynamoItem?
        }
        var total = 0
        var start: DynamoItem?
        repeat {
            let r = try call(
                "Scan", Req(TableName: table, ExclusiveStartKey: start, ConsistentRead: consistentRead), as: Res.self)
            total += r.Count
            start = r.LastEvaluatedKey
        } while start != nil
        return total
    }

    /// Whether point-in-time recovery is on (ExportTableToPointInTime needs it).
    package func pointInTimeRecoveryEnabled(table: String) throws -> Bool {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct PITR: Decodable { var PointInTimeRecoveryStatus: String? }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Desc: Decodable { var PointInTimeRecoveryDescription: PITR? }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable { var ContinuousBackupsDescription: Desc? }
        let r = try call("DescribeContinuousBackups", TableNameRequest(TableName: table), as: Res.self)
        return r.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus == "ENABLED"
    }

    /// Point-in-time recovery as the table reports it: on or off, and the window it can restore.
    package struct PointInTimeRecovery: Sendable, Equatable {
        package var enabled: Bool
        package var earliest: Date?
        package var latest: Date?
        // memberwise-init: package
    }

    package func pointInTimeRecovery(table: String) throws -> PointInTimeRecovery {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct PITR: Decodable {
            var PointInTimeRecoveryStatus: String?
            var EarliestRestorableDateTime: Double?
            var LatestRestorableDateTime: Double?
        }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Desc: Decodable { var PointInTimeRecoveryDescription: PITR? }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable { var ContinuousBackupsDescription: Desc? }
        let p = try call("DescribeContinuousBackups", TableNameRequest(TableName: table), as: Res.self)
            .ContinuousBackupsDescription?.PointInTimeRecoveryDescription
        return PointInTimeRecovery(
            enabled: p?.PointInTimeRecoveryStatus == "ENABLED",
            earliest: p?.EarliestRestorableDateTime.map { Date(timeIntervalSince1970: $0) },
            latest: p?.LatestRestorableDateTime.map { Date(timeIntervalSince1970: $0) })
    }

    /// RestoreTableToPointInTime into a new table (`time` nil: the latest restorable time). Answers the
    /// new table as described at once (CREATING).
    package func restoreTableToPointInTime(source: String, target: String, time: Date?) throws -> TableDescription {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Req: Encodable {
            var SourceTableName: String
            var TargetTableName: String
            var RestoreDateTime: Double?
            var UseLatestRestorableTime: Bool?
        }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable { var TableDescription: TableDescription }
        return try call(
            "RestoreTableToPointInTime",
            Req(
                SourceTableName: source, TargetTableName: target, RestoreDateTime: time?.timeIntervalSince1970,
                UseLatestRestorableTime: time == nil ? true : nil),
            as: Res.self
        ).TableDescription
    }

    package func setPointInTimeRecovery(table: String, enabled: Bool) throws {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Spec: Encodable { var PointInTimeRecoveryEnabled: Bool }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Req: Encodable {
            var TableName: String
            var PointInTimeRecoverySpecification: Spec
        }
        struct Res: Decodable {}
        _ = try call(
            "UpdateContinuousBackups",
            Req(TableName: table, PointInTimeRecoverySpecification: Spec(PointInTimeRecoveryEnabled: enabled)),
            as: Res.self)
    }

    package struct ExportDescription: Decodable, Sendable {
        package var exportArn: String
        /// IN_PROGRESS, COMPLETED or FAILED.
        package var exportStatus: String
        package var exportManifest: String?
        package var s3Bucket: String?
        package var s3Prefix: String?
        package var itemCount: Int64?
        package var billedSizeBytes: Int64?
        package var failureCode: String?
        package var failureMessage: String?
        package var exportFormat: String?
        /// `AES256` or `KMS`, when AWS reports it.
        package var s3SseAlgorithm: String?
        package var s3SseKmsKeyId: String?
        /// `FULL_EXPORT` or `INCREMENTAL_EXPORT`.
        package var exportType: String?
        /// A full export: the point in time its data is of (epoch seconds).
        package var exportTime: Double?
        package var incrementalExportSpecification: IncrementalExport?
        // coding-keys: PascalCase
    }

    /// IncrementalExportSpecification: the changes from `ExportFromTime` (inclusive) to `ExportToTime`
    /// (exclusive), each as new and old images (`NEW_AND_OLD_IMAGES`) or the new one only (`NEW_IMAGE`).
    package struct IncrementalExport: Codable, Sendable, Equatable {
        package var exportFromTime: Double
        package var exportToTime: Double
        package var exportViewType: String
        package init(from: Date, to: Date, viewType: String = "NEW_AND_OLD_IMAGES") {
            exportFromTime = from.timeIntervalSince1970
            exportToTime = to.timeIntervalSince1970
            exportViewType = viewType
        }
        // coding-keys: PascalCase
    }

    /// Starts an export in DynamoDB JSON to `s3://bucket/prefix`; `clientToken` makes retries idempotent.
    /// A full export of the table as it was at `exportTime` (nil: now), or with `incremental` the changes
    /// in its window; its objects encrypted as `encryption` says (`S3SseAlgorithm` `AES256` or `KMS` with
    /// `S3SseKmsKeyId`).
    package func exportTableToPointInTime(
        tableArn: String, bucket: String, prefix: String, clientToken: String, encryption: S3Encryption? = nil,
        exportTime: Date? = nil, incremental: IncrementalExport? = nil
    ) throws -> ExportDescription {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Req: Encodable {
            var TableArn: String
            var S3Bucket: String
            var S3Prefix: String
            var ExportFormat = "DYNAMODB_JSON"
            var ExportType = "FULL_EXPORT"
            var ClientToken: String
            var S3SseAlgorithm: String?
            var S3SseKmsKeyId: String?
            var ExportTime: Double?
            var IncrementalExportSpecification: IncrementalExport?
        }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable { var ExportDescription: ExportDescription }
        var req = Req(TableArn: tableArn, S3Bucket: bucket, S3Prefix: prefix, ClientToken: clientToken)
        req.ExportTime = incremental == nil ? exportTime?.timeIntervalSince1970 : nil
        if let incremental {
            req.ExportType = "INCREMENTAL_EXPORT"
            req.IncrementalExportSpecification = incremental
        }
        switch encryption {
        case .s3: req.S3SseAlgorithm = "AES256"
        case .kms(let key):
            req.S3SseAlgorithm = "KMS"
            req.S3SseKmsKeyId = key
        case nil: break
        }
        return try call("ExportTableToPointInTime", req, as: Res.self).ExportDescription
    }

    package func describeExport(arn: String) throws -> ExportDescription {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Req: Encodable { var ExportArn: String }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable { var ExportDescription: ExportDescription }
        return try call("DescribeExport", Req(ExportArn: arn), as: Res.self).ExportDescription
    }
}
