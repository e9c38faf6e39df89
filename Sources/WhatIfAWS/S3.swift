import WhatIfCore
import WhatIfHTTP

/// S3 over REST. Path-style addressing with an endpoint override (moto, MinIO) or a bucket name with
/// dots; virtual-hosted style against AWS otherwise.
package struct S3: Sendable {
    package let client: AWSClient
    package init(client: AWSClient) { self.client = client }

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

    package func createBucket(_ bucket: String) throws {
        var body: [UInt8] = []
        if client.settings.region != "us-east-1" {
            body = Array(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(xmlEscape(client.settings.region))</LocationConstraint></CreateBucketConfiguration>"
                    .utf8)
        }
        _ = try client.send(call("CreateBucket", method: "PUT", bucket: bucket, body: body))
    }

    package func headBucket(_ bucket: String) throws -> Bool {
        do {
            _ = try client.send(call("HeadBucket", method: "HEAD", bucket: bucket))
            return true
        } catch let e as AWSError where e.status == 404 {
            return false
        }
    }

    package func putObject(bucket: String, key: String, body: [UInt8], contentType: String = "application/octet-stream")
        throws -> String?
    {
        let r = try client.send(
            call(
                "PutObject", method: "PUT", bucket: bucket, key: key, headers: [("content-type", contentType)],
                body: body))
        return r.header("etag")
    }

    package func getObject(bucket: String, key: String) throws -> [UInt8] {
        try client.send(call("GetObject", method: "GET", bucket: bucket, key: key)).body
    }

    /// Streams an object's bytes to `sink` as they arrive.
    package func getObject(bucket: String, key: String, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws
    {
        _ = try client.send(call("GetObject", method: "GET", bucket: bucket, key: key), onBody: sink)
    }

    package struct ObjectHead: Sendable {
        package var size: Int64
        package var etag: String?
    }

    package func headObject(bucket: String, key: String) throws -> ObjectHead? {
        do {
            let r = try client.send(call("HeadObject", method: "HEAD", bucket: bucket, key: key))
            return ObjectHead(size: Int64(r.header("content-length") ?? "") ?? 0, etag: r.header("etag"))
        } catch let e as AWSError where e.status == 404 {
            return nil
        }
    }

    package func deleteObject(bucket: String, key: String) throws {
        _ = try client.send(call("DeleteObject", method: "DELETE", bucket: bucket, key: key))
    }

    package struct Object: Sendable, Equatable {
        package var key: String
        package var size: Int64
        package var etag: String?
    }

    /// Every object under `prefix` (ListObjectsV2, all pages).
    ///
    /// On an endpoint override, a prefix with '/' is listed by its first segment and filtered here:
    /// moto_server checks signatures on the decoded query and refuses any '/' in it, even botocore's.
    /// Against AWS the prefix goes as it is.
    package func list(bucket: String, prefix: String) throws -> [Object] {
        if client.isOverridden(.s3), let slash = prefix.firstIndex(of: "/") {
            return try listPages(bucket: bucket, prefix: String(prefix[..<slash])).filter { $0.key.hasPrefix(prefix) }
        }
        return try listPages(bucket: bucket, prefix: prefix)
    }

    func listPages(bucket: String, prefix: String) throws -> [Object] {
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

// MARK: Multipart upload (objects over one part size; parts of 5 MiB to 5 GiB, at most 10,000).

extension S3 {
    package struct UploadedPart: Sendable, Equatable {
        package var number: Int
        package var etag: String
        package init(number: Int, etag: String) {
            self.number = number
            self.etag = etag
        }
    }

    package struct MultipartUpload: Sendable, Equatable {
        package var key: String
        package var uploadId: String
        package var initiated: String?
    }

    func parseXML(_ operation: String, _ r: HTTPResponse) throws -> XMLElement {
        do { return try XMLReader.parse(r.body) } catch {
            throw AWSError(
                service: "s3", operation: operation, status: r.status, code: "MalformedResponse",
                serviceMessage: error.description)
        }
    }

    package func createMultipartUpload(bucket: String, key: String, contentType: String = "application/octet-stream")
        throws -> String
    {
        let r = try client.send(
            call(
                "CreateMultipartUpload", method: "POST", bucket: bucket, key: key, query: "uploads=",
                headers: [("content-type", contentType)]))
        guard let id = try parseXML("CreateMultipartUpload", r)["UploadId"], !id.isEmpty else {
            throw AWSError(
                service: "s3", operation: "CreateMultipartUpload", status: r.status, code: "MalformedResponse",
                serviceMessage: "the answer has no UploadId")
        }
        return id
    }

    /// Uploads one part; returns its ETag (needed to complete the upload).
    package func uploadPart(bucket: String, key: String, uploadId: String, number: Int, body: [UInt8]) throws
        -> UploadedPart
    {
        let r = try client.send(
            call(
                "UploadPart", method: "PUT", bucket: bucket, key: key,
                query: "partNumber=\(number)&uploadId=\(SigV4.uriEncode(uploadId))",
                headers: [("content-type", "application/octet-stream")], body: body))
        guard let etag = r.header("etag") else {
            throw AWSError(
                service: "s3", operation: "UploadPart", status: r.status, code: "MalformedResponse",
                serviceMessage: "the answer has no ETag")
        }
        return UploadedPart(number: number, etag: etag)
    }

    /// Completes an upload. S3 can answer 200 with an error document: that is an error here.
    @discardableResult
    package func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [UploadedPart]) throws
        -> String?
    {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for p in parts.sorted(by: { $0.number < $1.number }) {
            xml += "<Part><PartNumber>\(p.number)</PartNumber><ETag>\(xmlEscape(p.etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let r = try client.send(
            call(
                "CompleteMultipartUpload", method: "POST", bucket: bucket, key: key,
                query: "uploadId=\(SigV4.uriEncode(uploadId))", headers: [("content-type", "application/xml")],
                body: Array(xml.utf8)))
        let root = try parseXML("CompleteMultipartUpload", r)
        if root.name == "Error" {
            throw AWSError(
                service: "s3", operation: "CompleteMultipartUpload", status: r.status, code: root["Code"] ?? "Error",
                serviceMessage: root["Message"] ?? "")
        }
        return root["ETag"]
    }

    package func abortMultipartUpload(bucket: String, key: String, uploadId: String) throws {
        do {
            _ = try client.send(
                call(
                    "AbortMultipartUpload", method: "DELETE", bucket: bucket, key: key,
                    query: "uploadId=\(SigV4.uriEncode(uploadId))"))
        } catch let e as AWSError where e.code == "NoSuchUpload" {
            return
        }
    }

    /// Uploads in progress under `prefix` (first 1000).
    /// Open uploads under `prefix` (first page: up to 1,000). The same '/' shim as `list` on an override.
    package func listMultipartUploads(bucket: String, prefix: String) throws -> [MultipartUpload] {
        var sent = prefix
        if client.isOverridden(.s3), let slash = prefix.firstIndex(of: "/") { sent = String(prefix[..<slash]) }
        let r = try client.send(
            call(
                "ListMultipartUploads", method: "GET", bucket: bucket,
                query: "prefix=\(SigV4.uriEncode(sent))&uploads="))
        return try parseXML("ListMultipartUploads", r).all("Upload").map {
            MultipartUpload(key: $0["Key"] ?? "", uploadId: $0["UploadId"] ?? "", initiated: $0["Initiated"])
        }.filter { $0.key.hasPrefix(prefix) }
    }
}
