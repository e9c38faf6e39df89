import WhatIfCore
import WhatIfHTTP

/// S3 over REST. Path-style addressing with an endpoint override (moto, MinIO) or a bucket name with
/// dots; virtual-hosted style against AWS otherwise.
public struct S3: Sendable {
    public let client: AWSClient
    public init(client: AWSClient) { self.client = client }

    func call(
        _ operation: String, method: String, bucket: String, key: String? = nil, query: String = "",
        headers: [(name: String, value: String)] = [], body: [UInt8] = []
    ) -> AWSClient.Call {
        let encodedKey = key.map { "/" + SigV4.uriEncode($0, keepSlash: true) } ?? ""
        let pathStyle = client.isOverridden(.s3) || bucket.contains(".")
        return AWSClient.Call(
            service: .s3, operation: operation, method: method,
            path: pathStyle
                ? "/\(bucket)\(encodedKey.isEmpty ? "" : encodedKey)" : (encodedKey.isEmpty ? "/" : encodedKey),
            query: query, headers: headers, body: body, s3: true, hostPrefix: pathStyle ? nil : bucket)
    }

    public func createBucket(_ bucket: String) throws {
        var body: [UInt8] = []
        if client.settings.region != "us-east-1" {
            body = Array(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(xmlEscape(client.settings.region))</LocationConstraint></CreateBucketConfiguration>"
                    .utf8)
        }
        _ = try client.send(call("CreateBucket", method: "PUT", bucket: bucket, body: body))
    }

    public func headBucket(_ bucket: String) throws -> Bool {
        do {
            _ = try client.send(call("HeadBucket", method: "HEAD", bucket: bucket))
            return true
        } catch let e as AWSError where e.status == 404 {
            return false
        }
    }

    public func putObject(bucket: String, key: String, body: [UInt8], contentType: String = "application/octet-stream")
        throws -> String?
    {
        let r = try client.send(
            call(
                "PutObject", method: "PUT", bucket: bucket, key: key, headers: [("content-type", contentType)],
                body: body))
        return r.header("etag")
    }

    public func getObject(bucket: String, key: String) throws -> [UInt8] {
        try client.send(call("GetObject", method: "GET", bucket: bucket, key: key)).body
    }

    /// Streams an object's bytes to `sink` as they arrive.
    public func getObject(bucket: String, key: String, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        _ = try client.send(call("GetObject", method: "GET", bucket: bucket, key: key), onBody: sink)
    }

    public struct ObjectHead: Sendable {
        public var size: Int64
        public var etag: String?
    }

    public func headObject(bucket: String, key: String) throws -> ObjectHead? {
        do {
            let r = try client.send(call("HeadObject", method: "HEAD", bucket: bucket, key: key))
            return ObjectHead(size: Int64(r.header("content-length") ?? "") ?? 0, etag: r.header("etag"))
        } catch let e as AWSError where e.status == 404 {
            return nil
        }
    }

    public func deleteObject(bucket: String, key: String) throws {
        _ = try client.send(call("DeleteObject", method: "DELETE", bucket: bucket, key: key))
    }

    public struct Object: Sendable, Equatable {
        public var key: String
        public var size: Int64
        public var etag: String?
    }

    /// Every object under `prefix` (ListObjectsV2, all pages).
    public func list(bucket: String, prefix: String) throws -> [Object] {
        var out: [Object] = []
        var token: String?
        repeat {
            var q = "list-type=2&prefix=\(SigV4.uriEncode(prefix))"
            if let token { q += "&continuation-token=\(SigV4.uriEncode(token))" }
            let r = try client.send(call("ListObjectsV2", method: "GET", bucket: bucket, query: q))
            let root: XMLElement
            do { root = try XMLReader.parse(r.body) } catch {
                throw AWSError(
                    service: "s3", operation: "ListObjectsV2", status: r.status, code: "MalformedResponse",
                    serviceMessage: error.description)
            }
            for c in root.all("Contents") {
                out.append(Object(key: c["Key"] ?? "", size: Int64(c["Size"] ?? "") ?? 0, etag: c["ETag"]))
            }
            token = root["IsTruncated"] == "true" ? root["NextContinuationToken"] : nil
        } while token != nil
        return out
    }
}
