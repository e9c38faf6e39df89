import WhatIfCrypto

enum WhatIfAWSTestSupport {
    static func sha256Hex(_ s: String) -> String { Digest.sha256Hex(s) }
}
