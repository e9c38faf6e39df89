import Foundation
import Testing
import WhatIfAWS
import WhatIfHTTP

@Suite struct XMLTests {
    @Test func parsesAQueryResponse() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- a comment -->
            <DescribeDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
              <DescribeDBInstancesResult>
                <DBInstances>
                  <DBInstance><DBInstanceIdentifier>db-1</DBInstanceIdentifier><Endpoint><Address>a&amp;b.example</Address><Port>5432</Port></Endpoint></DBInstance>
                  <DBInstance><DBInstanceIdentifier><![CDATA[db<2>]]></DBInstanceIdentifier></DBInstance>
                </DBInstances>
              </DescribeDBInstancesResult>
              <ResponseMetadata><RequestId>r&#x41;&#66;</RequestId></ResponseMetadata>
            </DescribeDBInstancesResponse>
            """
        let root = try XMLReader.parse(xml)
        #expect(root.name == "DescribeDBInstancesResponse")
        let list = try #require(root.first("DBInstances")).all("DBInstance")
        #expect(list.count == 2)
        #expect(list[0].path("Endpoint", "Address")?.text == "a&b.example")
        #expect(list[1]["DBInstanceIdentifier"] == "db<2>")
        #expect(root.first("RequestId")?.text == "rAB")
    }

    @Test(arguments: [
        "", "<a>", "<a></b>", "<a>&bogus;</a>", "<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>", "<a b=c/>", "<a/><b/>",
        "text",
        "<a>&#xFFFFFFFF;</a>",
    ])
    func refusesMalformedXML(_ text: String) {
        #expect(throws: XMLParseError.self) { _ = try XMLReader.parse(text) }
    }

    @Test func limitsDepth() {
        let deep = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        #expect(throws: XMLParseError.self) { _ = try XMLReader.parse(deep) }
        // A million levels: the same clear error, never a stack overflow.
        #expect(throws: XMLParseError.self) { _ = try XMLReader.parse(String(repeating: "<a>", count: 1_000_000)) }
    }
}

@Suite struct AWSErrorDecodingTests {
    func response(_ status: Int, _ body: String, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers.map { ($0.0.lowercased(), $0.1) }, body: Array(body.utf8))
    }

    @Test func dynamoDBJSON() {
        let e = AWSError.decode(
            service: "dynamodb", operation: "DescribeTable",
            response: response(
                400,
                #"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#,
                headers: [("x-amzn-RequestId", "abc")]))
        #expect(
            e.code == "ResourceNotFoundException" && e.serviceMessage == "Requested resource not found"
                && e.requestId == "abc")
        #expect(!e.isRetryable)
        #expect(e.hint?.contains("tables setup") == true)
    }

    @Test func throttlingIsRetryable() {
        let e = AWSError.decode(
            service: "dynamodb", operation: "BatchWriteItem",
            response: response(
                400,
                #"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","Message":"slow down"}"#
            ))
        #expect(e.isThrottling && e.isRetryable)
    }

    @Test func queryXML() {
        let e = AWSError.decode(
            service: "monitoring", operation: "GetMetricData",
            response: response(
                400,
                "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"
            ))
        #expect(e.code == "Throttling" && e.isRetryable)
    }

    @Test func s3XMLAndBodylessAnswers() {
        let e = AWSError.decode(
            service: "s3", operation: "GetObject",
            response: response(404, "<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>"))
        #expect(e.code == "NoSuchKey")
        let head = AWSError.decode(service: "s3", operation: "HeadObject", response: response(404, ""))
        #expect(head.code == "NotFound")
        let fivexx = AWSError.decode(service: "s3", operation: "PutObject", response: response(503, ""))
        #expect(fivexx.isRetryable)
    }

    @Test func credentialErrorsCarryHints() {
        let e = AWSError.decode(
            service: "dynamodb", operation: "ListTables",
            response: response(
                400,
                #"{"__type":"com.amazon.coral.service#UnrecognizedClientException","message":"The security token included in the request is invalid."}"#
            ))
        #expect(e.code == "UnrecognizedClientException")
        #expect(e.description.contains("credentials"))
    }
}

@Suite struct SharedConfigTests {
    @Test func parsesProfilesLikeTheSDKs() {
        let text = """
            # comment
            [default]
            aws_access_key_id = AKIADEFAULT
            aws_secret_access_key=secret-default   # inline comment
            [profile ops]
            region = eu-west-1
            s3 =
              max_concurrent_requests = 20
            ; another comment
            [ops]
            aws_access_key_id = AKIAOPS
            """
        let s = SharedConfigFile.parse(text)
        #expect(s["default"]?["aws_access_key_id"] == "AKIADEFAULT")
        #expect(s["default"]?["aws_secret_access_key"] == "secret-default")
        #expect(s["profile ops"]?["region"] == "eu-west-1")
        #expect(s["profile ops"]?["max_concurrent_requests"] == nil)
        #expect(s["ops"]?["aws_access_key_id"] == "AKIAOPS")
    }

    @Test func toleratesGarbage() {
        #expect(SharedConfigFile.parse("[unterminated\n=x\n\u{0}\n[a]\nnovalue\n")["a"] == [:])
    }
}
