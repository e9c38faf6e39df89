import Foundation
import Logging
import Testing
import WhatIfAWS
import WhatIfHTTP
import WhatIfMonitoring
import WhatIfTesting

/// metrics.publish_namespace: what goes to CloudWatch's PutMetricData.
struct PublishTests {
    /// CloudWatch (and moto) refuses a whole request over one NaN or infinity: they stay out, and
    /// the rest of the cycle's samples go.
    @Test func valuesCloudWatchRefusesStayOut() throws {
        let dir = TempDir("whatif-publish")
        let service = try MonitoringService(
            settings: MonitoringSettings(interval: 60, retention: 3600, evaluationInterval: 60),
            stateDirectory: dir.path, logger: Logger(label: "t"), host: "h", environment: "development",
            now: 1_764_000_000)
        let server = try TinyHTTPServer { _ in .text(200, "<PutMetricDataResponse/>", contentType: "text/xml") }
        let cloudwatch = CloudWatch(
            client: AWSClient(
                settings: AWSSettings(region: "us-east-1", endpoint: server.url, maxAttempts: 1),
                credentials: StaticCredentials(AWSCredentials(accessKeyId: "AKIA", secretAccessKey: "s", source: "t")),
                http: HTTPClient()))
        let values: [Double] = [1.5, .nan, .infinity, -.infinity, 1e200, 7]
        let samples = values.enumerated().map { i, v in
            Sample(
                key: MetricKey(namespace: "Test", name: "M\(i)", dimensions: [], unit: "None"), value: v,
                time: 1_764_000_000)
        }
        service.publish(samples, namespace: "Mine", cloudwatch: cloudwatch)
        let forms = server.requests.value.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(forms.count == 1)
        let sent = (forms.first ?? "").split(separator: "&").filter { $0.contains(".MetricName=") }
        #expect(sent.map { String($0.split(separator: "=").last ?? "") } == ["M0", "M5"], "\(forms)")
    }
}
