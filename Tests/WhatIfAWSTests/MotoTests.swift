import Foundation
import Testing
import WhatIfAWS
import WhatIfCore
import WhatIfHTTP
import WhatIfTesting

/// Real calls to moto_server with signature checking on (scripts/stack turns it on).
@Suite(.serialized) struct MotoTests {
    let stack: StackInfo
    let client: AWSClient

    init() throws {
        stack = try Stack.shared()
        let keys = stack.awsKeys
        client = AWSClient(
            settings: AWSSettings(region: "us-east-1", endpoint: stack.motoEndpoint),
            credentials: StaticCredentials(
                AWSCredentials(accessKeyId: keys.id, secretAccessKey: keys.secret, source: "test")),
            http: HTTPClient())
    }

    func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

    @Test func dynamoDBRoundTripsEveryAttributeType() throws {
        let ddb = DynamoDB(client: client)
        let table = uniqueName("whatif-test")
        let t = try createTable(ddb, table, key: "scenarioId")
        defer { try? ddb.deleteTable(table) }
        #expect(t.tableStatus == "ACTIVE")
        #expect(try ddb.listTables().contains(table))
        let item: DynamoItem = [
            "scenarioId": .s("s-1"), "big": .n("123456789012345678901234567890.000001"), "blob": .b([0, 1, 2, 255]),
            "isPublic": .bool(true), "nothing": .null, "nested": .m(["a": .l([.s("x"), .n("1")])]),
            "tags": .ss(["a", "b"]),
            "nums": .ns(["1", "2"]), "blobs": .bs([[1], [2, 3]]), "unicode": .s("ünïcødé ✓ 日本"),
        ]
        try ddb.putItem(table: table, item: item)
        let back = try #require(try ddb.getItem(table: table, key: ["scenarioId": .s("s-1")], consistentRead: true))
        #expect(back == item)
    }

    @Test func batchWritesAndSegmentedScans() throws {
        let ddb = DynamoDB(client: client)
        let table = uniqueName("whatif-test")
        _ = try createTable(ddb, table, key: "id")
        defer { try? ddb.deleteTable(table) }
        for batch in 0..<4 {
            let items = (0..<25).map { i -> DynamoItem in ["id": .s("item-\(batch * 25 + i)")] }
            #expect(try ddb.batchPut(table: table, items: items).isEmpty)
        }
        var seen = Set<String>()
        for segment in 0..<3 {
            var start: DynamoItem?
            repeat {
                let page = try ddb.scan(table: table, segment: segment, totalSegments: 3, startKey: start, limit: 10)
                for i in page.items { if case .s(let id)? = i["id"] { seen.insert(id) } }
                start = page.lastEvaluatedKey
            } while start != nil
        }
        #expect(seen.count == 100)
    }

    @Test func wrongKeysAreRefusedWithTypedErrors() throws {
        let keys = stack.awsKeys
        let wrongSecret = AWSClient(
            settings: AWSSettings(region: "us-east-1", endpoint: stack.motoEndpoint, maxAttempts: 1),
            credentials: StaticCredentials(
                AWSCredentials(accessKeyId: keys.id, secretAccessKey: keys.secret + "x", source: "test")),
            http: HTTPClient())
        #expect {
            try DynamoDB(client: wrongSecret).listTables()
        } throws: { e in
            guard let e = e as? AWSError else { return false }
            return e.code.contains("Signature") && e.status == 403 && !e.isRetryable
        }
        let unknownKey = AWSClient(
            settings: AWSSettings(region: "us-east-1", endpoint: stack.motoEndpoint, maxAttempts: 1),
            credentials: StaticCredentials(
                AWSCredentials(accessKeyId: "AKIAUNKNOWNUNKNOWN00", secretAccessKey: "x", source: "test")),
            http: HTTPClient())
        #expect(throws: AWSError.self) { try DynamoDB(client: unknownKey).listTables() }
    }

    @Test func cloudWatchPutThenGetMetricData() throws {
        let cw = CloudWatch(client: client)
        let ns = "WhatIf/Test"
        // moto's GetMetricData ignores the namespace: a metric name of its own keeps runs apart.
        let metric = "Consumed-\(UUID().uuidString.prefix(8))"
        let now = Date()
        let dims = [CloudWatch.Dimension(name: "TableName", value: "t1")]
        try cw.putMetricData(
            namespace: ns,
            data: (0..<3).map { i in
                CloudWatch.Datum(
                    metricName: metric, dimensions: dims, value: Double(i + 1), unit: "Count",
                    timestamp: now.addingTimeInterval(Double(-i)))
            })
        let r = try cw.getMetricData(
            queries: [
                CloudWatch.MetricQuery(
                    id: "m1", namespace: ns, metricName: metric, dimensions: dims, period: 60, stat: "Sum")
            ],
            start: now.addingTimeInterval(-600), end: now.addingTimeInterval(60))
        #expect(r.first?.id == "m1")
        #expect(r.first?.values.reduce(0, +) == 6)
    }

    @Test func s3ObjectsWithAwkwardKeys() throws {
        let s3 = S3(client: client)
        let bucket = uniqueName("whatif-test")
        try s3.createBucket(bucket)
        #expect(try s3.headBucket(bucket))
        // moto checks S3 signatures against the decoded path (boto3 fails there too for '+', '=', '&' and
        // non-ASCII keys), so those keys are checked against botocore's signer in S3SigningTests instead.
        let keys = ["plain.txt", "with space/report 1.json", "a/b/c/deep.gz", "tilde~dash-under_score.dump"]
        for (i, k) in keys.enumerated() {
            _ = try s3.putObject(bucket: bucket, key: "backups/\(k)", body: Array("body \(i)".utf8))
        }
        #expect(try s3.getObject(bucket: bucket, key: "backups/\(keys[1])") == Array("body 1".utf8))
        var streamed: [UInt8] = []
        try s3.getObject(bucket: bucket, key: "backups/\(keys[2])") { streamed += $0 }
        #expect(streamed == Array("body 2".utf8))
        #expect(try s3.headObject(bucket: bucket, key: "backups/\(keys[3])")?.size == 6)
        #expect(try s3.headObject(bucket: bucket, key: "backups/missing") == nil)
        // A '/' in a query value trips moto's signature check (it decodes before checking): list by "backups".
        #expect(Set(try s3.list(bucket: bucket, prefix: "backups").map(\.key)) == Set(keys.map { "backups/\($0)" }))
        for k in keys { try s3.deleteObject(bucket: bucket, key: "backups/\(k)") }
        #expect(try s3.list(bucket: bucket, prefix: "backups").isEmpty)
        #expect {
            try s3.getObject(bucket: bucket, key: "backups/gone")
        } throws: { ($0 as? AWSError)?.code == "NoSuchKey" }
    }

    @Test func s3SigningMatchesBotocoreForAwkwardKeys() throws {
        let keys = stack.awsKeys
        let fixed = Date(timeIntervalSince1970: 1_795_000_000)
        let signer = AWSClient(
            settings: AWSSettings(region: "us-east-1", endpoint: "http://127.0.0.1:9"),
            credentials: StaticCredentials(
                AWSCredentials(accessKeyId: keys.id, secretAccessKey: keys.secret, source: "test")),
            http: HTTPClient(), now: { fixed })
        for key in ["and+plus.json", "ünïcødé/日本.bin", "c=d&e.gz", "sp ace/(parens)!*'.txt"] {
            let body = Array("payload".utf8)
            let request = try signer.signedRequestForTesting(
                AWSClient.Call(
                    service: .s3, operation: "PutObject", method: "PUT",
                    path: "/bucket/" + SigV4.uriEncode(key, keepSlash: true), body: body, s3: true))
            let ours = try #require(request.headers.first { $0.name == "Authorization" }?.value)
            let script = """
                import sys, datetime, botocore.auth, botocore.awsrequest, botocore.credentials
                botocore.auth.get_current_datetime = lambda: datetime.datetime(2026, 11, 18, 11, 6, 40)
                r = botocore.awsrequest.AWSRequest(method="PUT", url=sys.argv[1], data=b"payload")
                botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(sys.argv[2], sys.argv[3]), "s3", "us-east-1").add_auth(r)
                print(r.headers["Authorization"])
                """
            let r = try Run.command(["python3", "-c", script, request.url, keys.id, keys.secret])
            try #require(r.status == 0, "\(r.output)")
            #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == ours, "key \(key)")
        }
    }

    @Test func rdsAndElastiCacheDescribeCalls() throws {
        let keys = stack.awsKeys
        let db = uniqueName("whatif-db")
        let rg = uniqueName("whatif-rg")
        // Create the resources with boto3 (the agent itself only describes them).
        let script = """
            import boto3, sys
            kw = dict(endpoint_url="\(stack.motoEndpoint)", region_name="us-east-1", aws_access_key_id="\(keys.id)", aws_secret_access_key="\(keys.secret)")
            boto3.client("rds", **kw).create_db_instance(DBInstanceIdentifier="\(db)", DBInstanceClass="db.t3.micro", Engine="postgres",
                EngineVersion="15.4", MasterUsername="whatif", MasterUserPassword="password1234", AllocatedStorage=20, MultiAZ=True, StorageEncrypted=True)
            boto3.client("elasticache", **kw).create_replication_group(ReplicationGroupId="\(rg)", ReplicationGroupDescription="test",
                Engine="redis", CacheNodeType="cache.t3.micro", NumCacheClusters=2, TransitEncryptionEnabled=True, AtRestEncryptionEnabled=True)
            """
        let r = try Run.command(["python3", "-c", script])
        try #require(r.status == 0, "\(r.output)")
        let instances = try RDS(client: client).describeDBInstances(identifier: db)
        #expect(instances.count == 1)
        #expect(
            instances.first?.engine == "postgres" && instances.first?.multiAZ == true
                && instances.first?.storageEncrypted == true)
        #expect(instances.first?.allocatedStorageGiB == 20)
        let groups = try ElastiCache(client: client).describeReplicationGroups(id: rg)
        #expect(groups.first?.id == rg)
        #expect(groups.first?.transitEncryption == true && groups.first?.atRestEncryption == true)
        #expect {
            try RDS(client: client).describeDBInstances(identifier: "no-such-db")
        } throws: { ($0 as? AWSError)?.code.contains("DBInstanceNotFound") == true }
    }
}

/// Throttling, 5xx and UnprocessedItems, injected by our proxy in front of moto (moto never produces them).
@Suite(.serialized) struct RetryTests {
    let stack: StackInfo
    let proxy: FaultProxy
    let delays = Locked<[Double]>([])

    init() throws {
        stack = try Stack.shared()
        proxy = try FaultProxy(upstream: stack.motoEndpoint)
    }

    func client(maxAttempts: Int = 5, timeout: Double = 15) -> AWSClient {
        let keys = stack.awsKeys
        let delays = self.delays
        return AWSClient(
            settings: AWSSettings(
                region: "us-east-1", endpoint: proxy.url, maxAttempts: maxAttempts, timeout: timeout,
                backoff: Backoff(base: 0.05, cap: 1)),
            credentials: StaticCredentials(
                AWSCredentials(accessKeyId: keys.id, secretAccessKey: keys.secret, source: "test")),
            http: HTTPClient(),
            // Record the backoff instead of sleeping: no real waiting in tests.
            sleep: { d in delays.withLock { $0.append(d) } })
    }

    @Test func throttlingIsRetriedWithFullJitterBackoff() throws {
        proxy.add(.init(operation: "ListTables", fault: .throttle(code: "ThrottlingException"), count: 3))
        _ = try DynamoDB(client: client()).listTables()
        #expect(proxy.injected.value == 3)
        let d = delays.value
        #expect(d.count == 3)
        // Retry n waits at most min(cap, base * 2^n).
        for (n, delay) in d.enumerated() { #expect(delay >= 0 && delay <= min(1, 0.05 * Double(1 << n))) }
    }

    /// S3 (moto here) honours the resumed read: the rest of the same version, from the byte it broke at.
    @Test func aBrokenOffObjectReadResumesAgainstS3() throws {
        let s3 = S3(client: client())
        let bucket = "whatif-resume-\(UUID().uuidString.prefix(8).lowercased())"
        try s3.createBucket(bucket)
        let object = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        _ = try s3.putObject(bucket: bucket, key: "big.bin", body: object)
        proxy.add(.init(operation: "GET", fault: .cutBody(keep: 70_000), count: 2))
        var got: [UInt8] = []
        try s3.getObject(bucket: bucket, key: "big.bin") { got += $0 }
        #expect(proxy.injected.value == 2)
        #expect(got.count == object.count && got == object)
        try s3.deleteObject(bucket: bucket, key: "big.bin")
    }

    /// A multipart upload of two parts (5 MiB and a tail) under `key`: its id and parts, not completed.
    static func uploadParts(_ s3: S3, _ bucket: String, _ key: String) throws -> (String, [S3.UploadedPart], [UInt8]) {
        let body = (0..<(5 << 20) + 1000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 9) }
        let id = try s3.createMultipartUpload(bucket: bucket, key: key)
        let parts = [
            try s3.uploadPart(bucket: bucket, key: key, uploadId: id, number: 1, body: Array(body[..<(5 << 20)])),
            try s3.uploadPart(bucket: bucket, key: key, uploadId: id, number: 2, body: Array(body[(5 << 20)...])),
        ]
        return (id, parts, body)
    }

    /// The ETag S3 gives a completed upload is the one `multipartETag` works out from the parts.
    @Test func theMultipartETagIsTheOneS3Gives() throws {
        let s3 = S3(client: client())
        let bucket = "whatif-etag-\(UUID().uuidString.prefix(8).lowercased())"
        try s3.createBucket(bucket)
        let (id, parts, _) = try Self.uploadParts(s3, bucket, "o.bin")
        let etag = try s3.completeMultipartUpload(bucket: bucket, key: "o.bin", uploadId: id, parts: parts)
        let expected = try #require(S3.multipartETag(parts))
        #expect(etag == "\"\(expected)\"" && expected.hasSuffix("-2"), "\(etag ?? "none") against \(expected)")
        try s3.deleteObject(bucket: bucket, key: "o.bin")
    }

    /// S3's answer to a CompleteMultipartUpload whose upload is gone (documented: "The upload ID might be
    /// invalid, or the multipart upload might have been aborted or completed"). moto answers a second
    /// Complete 200 and one of an aborted upload 500, so the proxy answers for S3.
    static let noSuchUpload = FaultProxy.Fault.respond { _ in
        .text(
            404,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.</Message></Error>",
            contentType: "application/xml")
    }

    /// CompleteMultipartUpload took effect, its answer came after the attempt's timeout, and the retry was
    /// answered NoSuchUpload: the object S3 holds under these parts' ETag shows the upload completed.
    @Test func aCompleteWhoseAnswerWasLostIsConfirmedByTheObject() throws {
        let s3 = S3(client: client(timeout: 1))
        let bucket = "whatif-lost-\(UUID().uuidString.prefix(8).lowercased())"
        try s3.createBucket(bucket)
        let (id, parts, body) = try Self.uploadParts(s3, bucket, "o.bin")
        proxy.add(.init(operation: "POST", fault: .slowAnswer(seconds: 5), count: 1, target: "uploadId="))
        proxy.add(.init(operation: "POST", fault: Self.noSuchUpload, count: 1, target: "uploadId="))
        let etag = try s3.completeMultipartUpload(bucket: bucket, key: "o.bin", uploadId: id, parts: parts)
        #expect(proxy.faulted.value.count == 2, "the Complete sent twice: \(proxy.faulted.value)")
        #expect(etag == "\"\(S3.multipartETag(parts) ?? "")\"")
        #expect(try s3.getObject(bucket: bucket, key: "o.bin") == body)
        try s3.deleteObject(bucket: bucket, key: "o.bin")
    }

    /// NoSuchUpload for an upload that was aborted stays an error: no object holds these parts.
    @Test func aCompleteOfAnAbortedUploadIsAnError() throws {
        let s3 = S3(client: client())
        let bucket = "whatif-aborted-\(UUID().uuidString.prefix(8).lowercased())"
        try s3.createBucket(bucket)
        let (id, parts, _) = try Self.uploadParts(s3, bucket, "o.bin")
        try s3.abortMultipartUpload(bucket: bucket, key: "o.bin", uploadId: id)
        proxy.add(.init(operation: "POST", fault: Self.noSuchUpload, count: 1, target: "uploadId="))
        #expect {
            try s3.completeMultipartUpload(bucket: bucket, key: "o.bin", uploadId: id, parts: parts)
        } throws: { ($0 as? AWSError)?.code == "NoSuchUpload" }
        #expect(try s3.headObject(bucket: bucket, key: "o.bin") == nil)
    }

    @Test func serverErrorsAreRetried() throws {
        proxy.add(.init(operation: "GetMetricData", fault: .serverError(status: 503), count: 2))
        let r = try CloudWatch(client: client()).getMetricData(
            queries: [
                CloudWatch.MetricQuery(
                    id: "q", namespace: "X", metricName: "Y", dimensions: [], period: 60, stat: "Sum")
            ],
            start: Date().addingTimeInterval(-60), end: Date())
        #expect(r.count <= 1)
        #expect(proxy.injected.value == 2 && delays.value.count == 2)
    }

    @Test func retriesEndAtMaxAttemptsWithTheServicesError() throws {
        proxy.add(
            .init(operation: "ListTables", fault: .throttle(code: "ProvisionedThroughputExceededException"), count: 10))
        #expect {
            try DynamoDB(client: client(maxAttempts: 3)).listTables()
        } throws: { e in
            guard let e = e as? AWSError else { return false }
            return e.code == "ProvisionedThroughputExceededException" && e.isThrottling
        }
        #expect(proxy.injected.value == 3)
    }

    @Test func unprocessedItemsComeBackToTheCaller() throws {
        let ddb = DynamoDB(client: client())
        let table = "whatif-retry-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try createTable(ddb, table, key: "id")
        defer { try? ddb.deleteTable(table) }
        proxy.add(.init(operation: "BatchWriteItem", fault: .unprocessed(keep: 20), count: 1))
        let items = (0..<25).map { i -> DynamoItem in ["id": .s("i\(i)")] }
        let rest = try ddb.batchPut(table: table, items: items)
        #expect(rest == Array(items.dropFirst(20)))
    }
}

/// The test support's own fault proxy, dropped while a client still holds a kept-alive connection to it
/// (an agent outliving its test): the client gets a connection error. Its server once called back into
/// the freed proxy and aborted the whole test process.
@Test func aDroppedFaultProxyEndsItsConnections() throws {
    let stack = try Stack.shared()
    let http = HTTPClient(connectTimeout: 1)
    var url = ""
    do {
        let proxy = try FaultProxy(upstream: stack.motoEndpoint)
        url = proxy.url + "/"
        proxy.add(.init(fault: .serverError(status: 500), count: 1))
        #expect(try http.send(HTTPRequest(method: "GET", url: url, timeout: .total(5))).status == 500)
    }
    #expect(throws: HTTPError.self) { try http.send(HTTPRequest(method: "GET", url: url, timeout: .total(5))) }
}

/// A table keyed on one string attribute, ACTIVE.
@discardableResult
func createTable(_ ddb: DynamoDB, _ table: String, key: String) throws -> TableDescription {
    try ddb.createTable(
        .init(
            tableName: table, keySchema: [KeySchemaElement(attributeName: key, keyType: "HASH")],
            attributeDefinitions: [AttributeDefinition(attributeName: key, attributeType: "S")]))
    return try ddb.waitUntilActive(table, timeout: 30, poll: 0.2)
}
