import WhatIfAWS
import WhatIfCore
import WhatIfJSON
import WhatIfProtocol

/// The scenarios table, as the migration guide's `setup-dynamodb-tables.js` defines it, with one change:
/// the guide keys its public index on `isPublic`, a Boolean, which DynamoDB refuses as a key type. The
/// public index here is sparse: its partition key `publicShard` is written only on public scenarios, as
/// `public#0` … `public#<N-1>` (N = 4) from a hash of scenarioId, so public scenarios spread over N
/// partitions and private ones are not in the index at all. `isPublic` itself stays a BOOL on every item.
/// The app lists public scenarios by querying each shard by createdAt and merging (docs/migration.md).
public enum ScenarioTable {
    public static let defaultPublicShards = 4
    package static let publicShardAttribute = "publicShard"
    package static let userIndex = "userId-createdAt-index"
    package static let publicIndex = "publicShard-createdAt-index"

    package static func tableName(environment: String) -> String { "what-if-generator-scenarios-\(environment)" }

    /// `public#k` for a scenario (FNV-1a of its key: stable across runs and machines).
    package static func publicShard(for scenarioId: String, shards: Int) -> String {
        var copy = scenarioId
        return copy.withUTF8 { publicShard(for: UnsafeRawBufferPointer($0), shards: shards) }
    }

    package static func publicShard(for key: UnsafeRawBufferPointer, shards: Int) -> String {
        var h: UInt32 = 2_166_136_261
        for b in key {
            h ^= UInt32(b)
            h = h &* 16_777_619
        }
        return "public#\(Int(h % UInt32(max(1, shards))))"
    }

    package static func expected(table: String) -> DynamoDB.CreateTableRequest {
        let all = Projection(projectionType: "ALL")
        return DynamoDB.CreateTableRequest(
            tableName: table,
            keySchema: [KeySchemaElement(attributeName: "scenarioId", keyType: "HASH")],
            attributeDefinitions: [
                AttributeDefinition(attributeName: "scenarioId", attributeType: "S"),
                AttributeDefinition(attributeName: "userId", attributeType: "S"),
                AttributeDefinition(attributeName: "createdAt", attributeType: "S"),
                AttributeDefinition(attributeName: publicShardAttribute, attributeType: "S"),
            ],
            globalSecondaryIndexes: [
                GlobalSecondaryIndex(
                    indexName: userIndex,
                    keySchema: [
                        KeySchemaElement(attributeName: "userId", keyType: "HASH"),
                        KeySchemaElement(attributeName: "createdAt", keyType: "RANGE"),
                    ], projection: all),
                GlobalSecondaryIndex(
                    indexName: publicIndex,
                    keySchema: [
                        KeySchemaElement(attributeName: publicShardAttribute, keyType: "HASH"),
                        KeySchemaElement(attributeName: "createdAt", keyType: "RANGE"),
                    ], projection: all),
            ],
            billingMode: "PAY_PER_REQUEST")
    }

    /// What CreateTable would refuse, checked before any call (moto accepts some of it, DynamoDB does not).
    package static func validate(_ r: DynamoDB.CreateTableRequest) -> [String] {
        var problems: [String] = []
        if !DynamoDB.isValidName(r.tableName) {
            problems.append("table name '\(r.tableName)': \(DynamoDB.nameRule)")
        }
        var types: [String: String] = [:]
        for d in r.attributeDefinitions {
            if types[d.attributeName] != nil { problems.append("attribute \(d.attributeName) is defined twice") }
            types[d.attributeName] = d.attributeType
            if !["S", "N", "B"].contains(d.attributeType) {
                problems.append(
                    "attribute \(d.attributeName) has type \(d.attributeType); key attributes can only be S, N or B"
                        + (d.attributeType == "BOOL"
                            ? " (a Boolean cannot be a key: use a sparse index on an attribute written only when it is true)"
                            : ""))
            }
        }
        var used = Set<String>()
        func checkKey(_ keys: [KeySchemaElement], _ what: String) {
            guard (1...2).contains(keys.count), keys[0].keyType == "HASH",
                keys.count == 1 || keys[1].keyType == "RANGE"
            else {
                problems.append("\(what): the key schema must be one HASH element, optionally followed by one RANGE")
                return
            }
            if keys.count == 2 && keys[0].attributeName == keys[1].attributeName {
                problems.append("\(what): HASH and RANGE are the same attribute")
            }
            for k in keys {
                used.insert(k.attributeName)
                if types[k.attributeName] == nil {
                    problems.append("\(what): key attribute \(k.attributeName) is not in AttributeDefinitions")
                }
            }
        }
        checkKey(r.keySchema, "table")
        let gsis = r.globalSecondaryIndexes ?? []
        if gsis.count > 20 { problems.append("\(gsis.count) global secondary indexes; the limit is 20") }
        var names = Set<String>()
        for g in gsis {
            if !DynamoDB.isValidName(g.indexName) {
                problems.append("index name '\(g.indexName)': \(DynamoDB.nameRule)")
            }
            if !names.insert(g.indexName).inserted { problems.append("index \(g.indexName) appears twice") }
            checkKey(g.keySchema, "index \(g.indexName)")
            switch g.projection.projectionType {
            case "ALL", "KEYS_ONLY":
                if g.projection.nonKeyAttributes != nil {
                    problems.append("index \(g.indexName): NonKeyAttributes only go with INCLUDE")
                }
            case "INCLUDE":
                if (g.projection.nonKeyAttributes ?? []).isEmpty {
                    problems.append("index \(g.indexName): INCLUDE needs NonKeyAttributes")
                }
            default:
                problems.append(
                    "index \(g.indexName): projection \(g.projection.projectionType) is not ALL, KEYS_ONLY or INCLUDE")
            }
            if r.billingMode == "PAY_PER_REQUEST" && g.provisionedThroughput != nil {
                problems.append("index \(g.indexName): on-demand tables take no ProvisionedThroughput")
            }
        }
        for (name, _) in types where !used.contains(name) {
            problems.append(
                "attribute \(name) is defined but is no key of the table or an index (DynamoDB refuses that)")
        }
        switch r.billingMode {
        case "PAY_PER_REQUEST":
            if r.provisionedThroughput != nil { problems.append("on-demand tables take no ProvisionedThroughput") }
        case "PROVISIONED":
            if r.provisionedThroughput == nil { problems.append("PROVISIONED billing needs ProvisionedThroughput") }
        default:
            problems.append("billing mode \(r.billingMode) is not PAY_PER_REQUEST or PROVISIONED")
        }
        return problems.sorted()
    }

    /// Every way an existing table differs from the expected schema (empty when it matches).
    package static func differences(_ t: TableDescription, expected e: DynamoDB.CreateTableRequest) -> [String] {
        var out: [String] = []
        func keyText(_ k: [KeySchemaElement]?) -> String {
            (k ?? []).map { "\($0.attributeName) \($0.keyType)" }.joined(separator: ", ")
        }
        let types = Dictionary(
            (t.attributeDefinitions ?? []).map { ($0.attributeName, $0.attributeType) }, uniquingKeysWith: { a, _ in a }
        )
        if keyText(t.keySchema) != keyText(e.keySchema) {
            out.append("key schema is (\(keyText(t.keySchema))), expected (\(keyText(e.keySchema)))")
        }
        for d in e.attributeDefinitions {
            if let have = types[d.attributeName], have != d.attributeType {
                out.append("attribute \(d.attributeName) is \(have), expected \(d.attributeType)")
            }
        }
        let have = Dictionary(
            (t.globalSecondaryIndexes ?? []).map { ($0.indexName, $0) }, uniquingKeysWith: { a, _ in a })
        for g in e.globalSecondaryIndexes ?? [] {
            guard let h = have[g.indexName] else {
                out.append("index \(g.indexName) is missing")
                continue
            }
            if keyText(h.keySchema) != keyText(g.keySchema) {
                out.append("index \(g.indexName) has key (\(keyText(h.keySchema))), expected (\(keyText(g.keySchema)))")
            }
            if let p = h.projection, p.projectionType != g.projection.projectionType {
                out.append(
                    "index \(g.indexName) projects \(p.projectionType), expected \(g.projection.projectionType)")
            }
        }
        let wanted = Set((e.globalSecondaryIndexes ?? []).map(\.indexName))
        for name in have.keys.sorted() where !wanted.contains(name) {
            out.append("index \(name) is not in the expected schema")
        }
        if !(t.localSecondaryIndexes ?? []).isEmpty {
            out.append("the table has local secondary indexes; the expected schema has none")
        }
        let billing = t.billingModeSummary?.billingMode ?? "PROVISIONED"
        if billing != e.billingMode { out.append("billing mode is \(billing), expected \(e.billingMode)") }
        return out
    }

    /// The schema with the guide's RDS and ElastiCache resources, as a CloudFormation template (JSON).
    package static func cloudFormation(environment: String) -> JSONValue {
        let e = expected(table: "x")
        func keys(_ k: [KeySchemaElement]) -> JSONValue {
            .array(k.map { ["AttributeName": .string($0.attributeName), "KeyType": .string($0.keyType)] })
        }
        let table: JSONValue = [
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": [
                "TableName": ["Fn::Sub": "what-if-generator-scenarios-${Environment}"],
                "BillingMode": .string(e.billingMode),
                "KeySchema": keys(e.keySchema),
                "AttributeDefinitions": .array(
                    e.attributeDefinitions.map {
                        ["AttributeName": .string($0.attributeName), "AttributeType": .string($0.attributeType)]
                    }),
                "GlobalSecondaryIndexes": .array(
                    (e.globalSecondaryIndexes ?? []).map {
                        [
                            "IndexName": .string($0.indexName), "KeySchema": keys($0.keySchema),
                            "Projection": ["ProjectionType": .string($0.projection.projectionType)],
                        ]
                    }),
                "PointInTimeRecoverySpecification": ["PointInTimeRecoveryEnabled": true],
                "SSESpecification": ["SSEEnabled": true],
                "Tags": [["Key": "Environment", "Value": ["Ref": "Environment"]]],
            ],
        ]
        let rds: JSONValue = [
            "Type": "AWS::RDS::DBInstance",
            "DeletionPolicy": "Snapshot",
            "UpdateReplacePolicy": "Snapshot",
            "Properties": [
                "DBInstanceIdentifier": ["Fn::Sub": "what-if-generator-users-${Environment}"],
                "Engine": "postgres",
                "EngineVersion": ["Ref": "PostgresVersion"],
                "DBInstanceClass": "db.t3.micro",
                "AllocatedStorage": "20",
                "StorageType": "gp3",
                "MultiAZ": true,
                "StorageEncrypted": true,
                "DBName": "what_if_users",
                "MasterUsername": ["Ref": "DatabaseUser"],
                "ManageMasterUserPassword": true,
                "BackupRetentionPeriod": 7,
                "DeletionProtection": true,
                "PubliclyAccessible": false,
                "DBSubnetGroupName": ["Ref": "DatabaseSubnetGroup"],
                "VPCSecurityGroups": ["Ref": "SecurityGroupIds"],
            ],
        ]
        let cache: JSONValue = [
            "Type": "AWS::ElastiCache::ReplicationGroup",
            "Properties": [
                "ReplicationGroupDescription": ["Fn::Sub": "What If Generator cache (${Environment})"],
                "Engine": "redis",
                "CacheNodeType": "cache.t3.micro",
                "NumCacheClusters": 2,
                "AutomaticFailoverEnabled": true,
                "MultiAZEnabled": true,
                "AtRestEncryptionEnabled": true,
                "TransitEncryptionEnabled": true,
                "CacheSubnetGroupName": ["Ref": "CacheSubnetGroup"],
                "SecurityGroupIds": ["Ref": "SecurityGroupIds"],
            ],
        ]
        return [
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description":
                "What If Generator data tier: DynamoDB scenarios table, RDS PostgreSQL 15 (users), ElastiCache Redis (cache). Rendered by whatifctl tables template.",
            "Parameters": [
                "Environment": [
                    "Type": "String", "Default": .string(environment),
                    "AllowedValues": ["development", "test", "production"],
                ],
                "PostgresVersion": ["Type": "String", "Default": "15", "Description": "PostgreSQL major version"],
                "DatabaseUser": ["Type": "String", "Default": "whatif", "NoEcho": true],
                "DatabaseSubnetGroup": ["Type": "String", "Description": "an existing DB subnet group"],
                "CacheSubnetGroup": ["Type": "String", "Description": "an existing ElastiCache subnet group"],
                "SecurityGroupIds": [
                    "Type": "List<AWS::EC2::SecurityGroup::Id>",
                    "Description": "security groups for the database and the cache",
                ],
            ],
            "Resources": ["ScenariosTable": table, "UsersDatabase": rds, "Cache": cache],
            "Outputs": [
                "ScenariosTableName": ["Value": ["Ref": "ScenariosTable"]],
                "ScenariosTableArn": ["Value": ["Fn::GetAtt": ["ScenariosTable", "Arn"]]],
                "DatabaseEndpoint": ["Value": ["Fn::GetAtt": ["UsersDatabase", "Endpoint.Address"]]],
                "CacheEndpoint": ["Value": ["Fn::GetAtt": ["Cache", "PrimaryEndPoint.Address"]]],
            ],
        ]
    }
}

// MARK: Setting the table up

extension ScenarioTable {
    /// Creates the table (waiting until ACTIVE), compares an existing one with the expected schema, adds
    /// missing indexes in place (UpdateTable, `addMissing`), or recreates a differing one (`force` and
    /// `confirm`: after `backup`, which answers the backup's id). `checkOnly` only compares. Blocking.
    package static func setUp(
        _ name: String, ddb: DynamoDB, region: String, req: TablesSetupRequest, reporter ctx: any JobReporter,
        backup: () throws -> String
    ) throws -> TablesReport {
        let watch = Stopwatch()
        let expected = ScenarioTable.expected(table: name)
        let problems = ScenarioTable.validate(expected)
        guard problems.isEmpty else {
            throw Failure("the expected schema is invalid: \(problems.joined(separator: "; "))")
        }
        func report(_ outcome: String, _ diffs: [String], _ t: TableDescription?, backup: String? = nil)
            -> TablesReport
        {
            TablesReport(
                table: name, region: region, outcome: outcome, differences: diffs,
                billingMode: t?.billingModeSummary?.billingMode ?? expected.billingMode,
                indexes: (t?.globalSecondaryIndexes?.map(\.indexName) ?? []).sorted(), backupId: backup,
                seconds: watch.elapsedSeconds)
        }
        func create() throws -> TableDescription {
            ctx.info(
                "creating \(name): \(expected.billingMode), indexes \(ScenarioTable.userIndex), \(ScenarioTable.publicIndex)"
            )
            try ddb.createTable(expected)
            ctx.progress(done: 0, total: nil, unit: "", phase: "waiting for \(name) to be ACTIVE")
            return try ddb.waitUntilActive(name, timeout: 900)
        }
        let existing: TableDescription
        do { existing = try ddb.describeTable(name) } catch let e as AWSError
            where e.code == "ResourceNotFoundException"
        {
            if req.checkOnly == true {
                ctx.log(.warning, "\(name) does not exist")
                return report("differs", ["the table does not exist"], nil)
            }
            return report("created", [], try create())
        }
        let diffs = ScenarioTable.differences(existing, expected: expected)
        if diffs.isEmpty {
            ctx.info("\(name) exists and matches the expected schema")
            return report("matches", [], existing)
        }
        for d in diffs { ctx.log(.warning, "\(name): \(d)") }
        if req.addMissing == true {
            let have = Set((existing.globalSecondaryIndexes ?? []).map(\.indexName))
            let missing = (expected.globalSecondaryIndexes ?? []).filter { !have.contains($0.indexName) }
            var now = existing
            for index in missing {
                let keys = Set(index.keySchema.map(\.attributeName))
                ctx.info("adding index \(index.indexName) to \(name) (UpdateTable; the table stays in use)")
                try ddb.createGlobalSecondaryIndex(
                    table: name, index: index,
                    attributeDefinitions: expected.attributeDefinitions.filter { keys.contains($0.attributeName) })
                ctx.progress(done: 0, total: nil, unit: "", phase: "waiting for \(index.indexName) to be ACTIVE")
                now = try ddb.waitUntilActive(name, timeout: 3600)
                ctx.info("index \(index.indexName) is ACTIVE")
            }
            let left = ScenarioTable.differences(now, expected: expected)
            if missing.isEmpty { ctx.info("\(name) lacks no index: --add-missing has nothing to add") }
            return report(left.isEmpty ? "updated" : "differs", left, now)
        }
        guard req.force else { return report("differs", diffs, existing) }
        guard req.confirm else {
            throw Failure(
                "recreating \(name) deletes it and every item in it",
                hint: "pass --yes as well (a backup is taken first), or answer the confirmation")
        }
        let id = try backup()
        ctx.info("backup \(id) taken; deleting \(name)")
        try ddb.deleteTable(name)
        try ddb.waitUntilDeleted(name)
        return report("recreated", diffs, try create(), backup: id)
    }
}
