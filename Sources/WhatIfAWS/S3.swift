import WhatIfCore
import WhatIfCrypto
import WhatIfHTTP

/// Server-side encryption of the objects the agent writes (PutObject, CreateMultipartUpload; S3
/// encrypts every part under the upload's setting).
package enum S3Encryption: Sendable, Equatable {
    /// SSE-S3: keys S3 manages (`AES256`).
    case s3
    /// SSE-KMS under a key (id, ARN or alias); nil: the account's `aws/s3` key.
    case kms(keyId: String?)

    /// `x-amz-server-side-encryption`'s value.
    package var algorithm: String {
        switch self {
        case .s3: "AES256"
        case .kms: "aws:kms"
        }
    }

    var headers: [(name: String, value: String)] {
        switch self {
        case .s3: [("x-amz-server-side-encryption", "AES256")]
        case .kms(let key):
            [("x-amz-server-side-encryption", "aws:kms")]
                + (key.map { [("x-amz-server-side-encryption-aws-kms-key-id", $0)] } ?? [])
        }
    }

    /// What S3 reported for an object: the algorithm and, for SSE-KMS, the key's ARN.
    package struct Reported: Sendable, Equatable {
        package var algorithm: String?
        package var kmsKeyId: String?

        init(_ r: HTTPResponse) {
            algorithm = r.header("x-amz-server-side-encryption")
            kmsKeyId = r.header("x-amz-server-side-encryption-aws-kms-key-id")
        }

        package init(algorithm: String?, kmsKeyId: String?) {
            self.algorithm = algorithm
            self.kmsKeyId = kmsKeyId
        }
    }

    /// Whether S3's report matches: the algorithm, and a key given by id or ARN (an alias cannot be
    /// compared with the key ARN S3 reports).
    package func matches(_ r: Reported) -> Bool {
        guard r.algorithm == algorithm else { return false }
        guard case .kms(let key?) = self, !key.hasPrefix("alias/"), !key.contains(":alias/") else { return true }
        guard let reported = r.kmsKeyId else { return false }
        return reported == key || reported.hasSuffix(":key/\(key)")
    }

    /// Throws unless S3 reports the object stored as asked: a bucket policy or a proxy that drops the
    /// header must not leave an object the operator believes encrypted.
    func check(_ r: HTTPResponse, operation: String, key: String) throws {
        try check(Reported(r), status: r.status, operation: operation, key: key)
    }

    func check(_ reported: Reported, status: Int, operation: String, key: String) throws {
        guard matches(reported) else {
            throw AWSError(
                service: "s3", operation: operation, status: status, code: "EncryptionMismatch",
                serviceMessage:
                    "\(key) was stored with \(reported.algorithm ?? "no server-side encryption")\(reported.kmsKeyId.map { " (\($0))" } ?? "") instead of \(describe)"
            )
        }
    }

    /// `SSE-S3` or `SSE-KMS (key)`, for messages.
    package var describe: String {
        switch self {
        case .s3: "SSE-S3 (AES256)"
        case .kms(let key): "SSE-KMS (\(key ?? "aws/s3"))"
        }
    }
}

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

    /// Stores an object; with `encryption`, S3's answer must report it stored that way.
    package func putObject(
        bucket: String, key: String, body: [UInt8], contentType: String = "application/octet-stream",
        encryption: S3Encryption? = nil
    ) throws -> String? {
        let r = try client.send(
            call(
                "PutObject", method: "PUT", bucket: bucket, key: key,
                headers: [("content-type", contentType)] + (encryption?.headers ?? []), body: body))
        try encryption?.check(r, operation: "PutObject", key: key)
        return r.header("etag")
    }

    package func getObject(bucket: String, key: String) throws -> [UInt8] {
        try client.send(call("GetObject", method: "GET", bucket: bucket, key: key)).body
    }

    /// Streams an object's bytes to `sink` as they arrive; answers its server-side encryption.
    @discardableResult
    package func getObject(bucket: String, key: String, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws
        -> S3Encryption.Reported
    {
        S3Encryption.Reported(try client.send(call("GetObject", method: "GET", bucket: bucket, key: key), onBody: sink))
    }

    package struct ObjectHead: Sendable {
        package var size: Int64
        package var etag: String?
        package var encryption: S3Encryption.Reported
    }

    package func headObject(bucket: String, key: String) throws -> ObjectHead? {
        do {
            let r = try client.send(call("HeadObject", method: "HEAD", bucket: bucket, key: key))
            return ObjectHead(
                size: Int64(r.header("content-length") ?? "") ?? 0, etag: r.header("etag"),
                encryption: S3Encryption.Reported(r))
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

    /// Starts an upload; with `encryption`, S3's answer must report the upload encrypted that way.
    package func createMultipartUpload(
        bucket: String, key: String, contentType: String = "application/octet-stream", encryption: S3Encryption? = nil
    ) throws -> String {
        let r = try client.send(
            call(
                "CreateMultipartUpload", method: "POST", bucket: bucket, key: key, query: "uploads=",
                headers: [("content-type", contentType)] + (encryption?.headers ?? [])))
        try encryption?.check(r, operation: "CreateMultipartUpload", key: key)
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
    /// With `encryption`, the completed object must be reported stored that way.
    @discardableResult
    package func completeMultipartUpload(
        bucket: String, key: String, uploadId: String, parts: [UploadedPart], encryption: S3Encryption? = nil
    ) throws -> String? {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for p in parts.sorted(by: { $0.number < $1.number }) {
            xml += "<Part><PartNumber>\(p.number)</PartNumber><ETag>\(xmlEscape(p.etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let r: HTTPResponse
        do {
            r = try client.send(
                call(
                    "CompleteMultipartUpload", method: "POST", bucket: bucket, key: key,
                    query: "uploadId=\(SigV4.uriEncode(uploadId))", headers: [("content-type", "application/xml")],
                    body: Array(xml.utf8)))
        } catch let e as AWSError where e.code == "NoSuchUpload" {
            // S3 answers NoSuchUpload for an upload "aborted or completed": a Complete sent again after the
            // answer to an earlier attempt was lost finds its upload completed. The object is taken as this
            // upload only if S3 holds it under the ETag these parts make.
            guard let expected = Self.multipartETag(parts), let head = try headObject(bucket: bucket, key: key),
                head.etag.map(Self.unquoted) == expected
            else { throw e }
            try encryption?.check(head.encryption, status: 200, operation: "CompleteMultipartUpload", key: key)
            return head.etag
        }
        let root = try parseXML("CompleteMultipartUpload", r)
        if root.name == "Error" {
            throw AWSError(
                service: "s3", operation: "CompleteMultipartUpload", status: r.status, code: root["Code"] ?? "Error",
                serviceMessage: root["Message"] ?? "")
        }
        try encryption?.check(r, operation: "CompleteMultipartUpload", key: key)
        return root["ETag"]
    }

    /// The ETag S3 gives the object a multipart upload of `parts` completes: the MD5 of the parts' MD5s
    /// (their ETags) in part order, then `-` and their count. Nil when a part's ETag is not an MD5.
    package static func multipartETag(_ parts: [UploadedPart]) -> String? {
        guard !parts.isEmpty else { return nil }
        var digests: [UInt8] = []
        for p in parts.sorted(by: { $0.number < $1.number }) {
            guard let md5 = Hex.decode(unquoted(p.etag)), md5.count == 16 else { return nil }
            digests += md5
        }
        return Hex.encode(Digest.md5(digests)) + "-\(parts.count)"
    }

    static func unquoted(_ etag: String) -> String {
        etag.count >= 2 && etag.hasPrefix("\"") && etag.hasSuffix("\"") ? String(etag.dropFirst().dropLast()) : etag
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

    /// Open uploads under `prefix`, every page (S3 answers 1,000 uploads a page). The same '/' shim as
    /// `list` on an override.
    package func listMultipartUploads(bucket: String, prefix: String) throws -> [MultipartUpload] {
        var sent = prefix
        if client.isOverridden(.s3), let slash = prefix.firstIndex(of: "/") { sent = String(prefix[..<slash]) }
        var out: [MultipartUpload] = []
        var marker: (key: String, uploadId: String)?
        while true {
            var q = "prefix=\(SigV4.uriEncode(sent))&uploads="
            if let marker {
                q += "&key-marker=\(SigV4.uriEncode(marker.key))&upload-id-marker=\(SigV4.uriEncode(marker.uploadId))"
            }
            let root = try parseXML(
                "ListMultipartUploads",
                try client.send(call("ListMultipartUploads", method: "GET", bucket: bucket, query: q)))
            out += root.all("Upload").map {
                MultipartUpload(key: $0["Key"] ?? "", uploadId: $0["UploadId"] ?? "", initiated: $0["Initiated"])
            }
            // The next page starts after NextKeyMarker and NextUploadIdMarker. A truncated page without
            // them, or naming the markers just sent, would be asked for again forever: it ends the listing.
            guard root["IsTruncated"] == "true", let key = root["NextKeyMarker"] else { break }
            let next = (key: key, uploadId: root["NextUploadIdMarker"] ?? "")
            if let marker, marker == next { break }
            marker = next
        }
        return out.filter { $0.key.hasPrefix(prefix) }
    }
}
