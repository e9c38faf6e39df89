import FuzzSupport
import WhatIfAWS
import WhatIfHTTP

/// Any error body (JSON, query XML, S3 XML, or junk) becomes a typed error with a code.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let status = bytes.isEmpty ? 400 : [400, 403, 404, 500, 503][Int(bytes[0]) % 5]
    let e = AWSError.decode(
        service: "dynamodb", operation: "Fuzz",
        response: HTTPResponse(status: status, headers: [("x-amzn-errortype", "X:y")], body: Array(bytes.dropFirst())))
    precondition(!e.code.isEmpty && e.status == status)
    _ = e.description
    return 0
}

/// SwiftPM names this program's entry point FuzzAWSError_main.
@_cdecl("FuzzAWSError_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
