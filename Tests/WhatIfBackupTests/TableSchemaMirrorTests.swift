import Foundation
import Testing
import WhatIfAWS
import WhatIfProtocol

@testable import WhatIfBackup

/// The backup manifest's `TableSchema` (WhatIfProtocol, so whatifctl reads it without linking AWS) is a
/// mirror of WhatIfAWS's DynamoDB model. Checked equal here, field by field: a table described by
/// DynamoDB goes through the mirror and back into CreateTable with nothing lost, and the mirror's JSON
/// reads as AWS's own types.
@Suite struct TableSchemaMirrorTests {
    static let describeTable = #"""
        {"Table": {"TableName": "t", "TableStatus": "ACTIVE", "ItemCount": 3, "TableSizeBytes": 100,
          "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
          "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"}, {"AttributeName": "g", "AttributeType": "B"}],
          "BillingModeSummary": {"BillingMode": "PROVISIONED"},
          "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 7, "NumberOfDecreasesToday": 0},
          "GlobalSecondaryIndexes": [{"IndexName": "g-index", "IndexStatus": "ACTIVE",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a", "b"]},
            "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 3}}],
          "LocalSecondaryIndexes": [{"IndexName": "l-index",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "g", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}]}}
        """#

    struct Described: Decodable {
        // swift-format-ignore: AlwaysUseLowerCamelCase
        var Table: TableDescription
    }

    @Test func aDescribedTableGoesThroughTheMirrorIntoCreateTableWhole() throws {
        let t = try JSONDecoder().decode(Described.self, from: Data(Self.describeTable.utf8)).Table
        let mirror = try TableSchema(t)
        let request = mirror.createRequest(name: "t-restored")
        #expect(request.tableName == "t-restored" && request.billingMode == "PROVISIONED")
        #expect(request.keySchema == t.keySchema && request.attributeDefinitions == t.attributeDefinitions)
        #expect(request.provisionedThroughput == ProvisionedThroughput(readCapacityUnits: 5, writeCapacityUnits: 7))
        let g = try #require(request.globalSecondaryIndexes?.first)
        let described = try #require(t.globalSecondaryIndexes?.first)
        #expect(g.indexName == "g-index" && g.keySchema == described.keySchema && g.projection == described.projection)
        #expect(g.provisionedThroughput == ProvisionedThroughput(readCapacityUnits: 2, writeCapacityUnits: 3))
        let l = try #require(request.localSecondaryIndexes?.first)
        #expect(l.indexName == "l-index" && l.projection == Projection(projectionType: "KEYS_ONLY"))
        #expect(l.keySchema == t.localSecondaryIndexes?.first?.keySchema)
    }

    /// The mirror writes AWS's names: its JSON decodes as WhatIfAWS's key, attribute and throughput types.
    @Test func theMirrorsJSONIsAWSsShape() throws {
        let t = try JSONDecoder().decode(Described.self, from: Data(Self.describeTable.utf8)).Table
        let json = try JSONSerialization.jsonObject(with: Data(APICoding.encode(try TableSchema(t)))) as? [String: Any]
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
            try JSONDecoder().decode(T.self, from: JSONSerialization.data(withJSONObject: json?[key] ?? NSNull()))
        }
        #expect(try decode([KeySchemaElement].self, "KeySchema") == t.keySchema)
        #expect(try decode([AttributeDefinition].self, "AttributeDefinitions") == t.attributeDefinitions)
        #expect(
            try decode(ProvisionedThroughput.self, "ProvisionedThroughput")
                == ProvisionedThroughput(readCapacityUnits: 5, writeCapacityUnits: 7))
        #expect(json?["BillingMode"] as? String == "PROVISIONED" && json?["TableName"] as? String == "t")
    }
}
