/// The IAM action each API call needs, as IAM names it (docs/iam.md lists them by feature): the
/// service's prefix and the operation, except where S3 folds several operations into one action.
extension AWSService {
    /// The IAM prefix: `monitoring` is signed as such but authorized as `cloudwatch`.
    package var iamPrefix: String { name == "monitoring" ? "cloudwatch" : name }

    /// The action `operation` needs; nil for calls that need no permission of the caller
    /// (GetCallerIdentity; AssumeRoleWithWebIdentity, which the role's trust policy allows).
    package func iamAction(_ operation: String) -> String? {
        switch (name, operation) {
        case ("sts", "GetCallerIdentity"), ("sts", "AssumeRoleWithWebIdentity"): nil
        case ("s3", "CreateMultipartUpload"), ("s3", "UploadPart"), ("s3", "CompleteMultipartUpload"): "s3:PutObject"
        case ("s3", "HeadObject"): "s3:GetObject"
        case ("s3", "HeadBucket"), ("s3", "ListObjectsV2"): "s3:ListBucket"
        case ("s3", "ListMultipartUploads"): "s3:ListBucketMultipartUploads"
        default: "\(iamPrefix):\(operation)"
        }
    }
}
