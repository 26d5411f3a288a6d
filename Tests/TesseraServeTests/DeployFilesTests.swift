import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TesseraCore
import TesseraRedis
import TesseraServe
import Yams

/// The files under deploy/ against the code they deploy: they parse, their probes and
/// ports are the API's, their metric names are ones the code defines, and the k8s
/// ConfigMap carries the repository's config unchanged. Needs no services.
@Suite struct DeployFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardized
    static let apiPort = 8080

    // MARK: - Reading

    static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    static func text(_ path: String) throws -> String { try String(contentsOf: url(path), encoding: .utf8) }

    /// Every document of a YAML file (`---` separates them); throws on the first error.
    static func documents(_ text: String) throws -> [Any] {
        var sequence = try Yams.load_all(yaml: text)
        var documents: [Any] = []
        while let document = sequence.next() { documents.append(document) }
        if let error = sequence.error { throw error }
        return documents
    }

    static func documents(at path: String) throws -> [[String: Any]] {
        try documents(text(path)).compactMap { $0 as? [String: Any] }
    }

    /// Paths relative to the repository root of the files under `folder` whose name ends
    /// in one of `suffixes`.
    static func files(under folder: String, endingIn suffixes: [String]) -> [String] {
        let base = url(folder)
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
        var found: [String] = []
        for case let file as URL in walker where suffixes.contains(where: { file.lastPathComponent.hasSuffix($0) }) {
            found.append(folder + "/" + String(file.standardized.path.dropFirst(base.standardized.path.count + 1)))
        }
        return found.sorted()
    }

    /// The value at a path of keys (String) and indexes (Int) in parsed YAML or JSON.
    static func value(_ root: Any?, _ path: Any...) -> Any? {
        var current = root
        for step in path {
            switch step {
            case let key as String: current = (current as? [String: Any])?[key]
            case let index as Int:
                guard let list = current as? [Any], list.indices.contains(index) else { return nil }
                current = list[index]
            default: return nil
            }
        }
        return current
    }

    static func kind(_ kind: String, in path: String) throws -> [String: Any] {
        let matches = try documents(at: path).filter { $0["kind"] as? String == kind }
        try #require(matches.count == 1, "\(path) should hold one \(kind)")
        return matches[0]
    }

    static func tesseraContainer() throws -> [String: Any] {
        let deployment = try kind("Deployment", in: "deploy/k8s/deployment.yaml")
        let containers = try #require(value(deployment, "spec", "template", "spec", "containers") as? [[String: Any]])
        return try #require(containers.first { $0["name"] as? String == "tessera" }, "no container named tessera")
    }

    /// A probe's or Service's port: a number, or the name of one of the container's ports.
    static func resolvePort(_ port: Any?, in container: [String: Any]) -> Int? {
        if let number = port as? Int { return number }
        guard let name = port as? String else { return nil }
        let ports = container["ports"] as? [[String: Any]] ?? []
        return ports.first { $0["name"] as? String == name }?["containerPort"] as? Int
    }

    /// The port of a `host:port` listen address.
    static func listenPort(_ address: String?) -> Int? {
        address.flatMap { $0.split(separator: ":").last }.flatMap { Int($0) }
    }

    /// Every string literal in the Swift sources under Sources/ that matches `pattern`
    /// (a regular expression for the literal's text, without its quotes).
    static func sourceLiterals(matching pattern: String) throws -> Set<String> {
        let regex = try Regex("\"(" + pattern + ")\"")
        var found: Set<String> = []
        for path in files(under: "Sources", endingIn: [".swift"]) {
            for match in try text(path).matches(of: regex) {
                if let literal = match.output[1].substring { found.insert(String(literal)) }
            }
        }
        return found
    }

    // MARK: - Everything parses

    @Test func everyYAMLFileParses() throws {
        let paths = Self.files(under: "deploy", endingIn: [".yml", ".yaml"])
        let expected = Set<String>([
            "deploy/compose/docker-compose.yml", "deploy/prometheus/prometheus.yml", "deploy/prometheus/alerts.yml",
            "deploy/grafana/provisioning/datasources/prometheus.yaml", "deploy/grafana/provisioning/dashboards/tessera.yaml",
        ]).union(["deployment", "service", "configmap", "secret", "hpa", "pdb", "networkpolicy", "migrate-job"].map { "deploy/k8s/\($0).yaml" })
        #expect(Set(paths).isSuperset(of: expected), "missing: \(expected.subtracting(paths).sorted())")
        for path in paths {
            do {
                let documents = try Self.documents(Self.text(path))
                #expect(!documents.isEmpty, "\(path) holds no document")
                #expect(documents.allSatisfy { $0 is [String: Any] }, "every document of \(path) should be a mapping")
            } catch {
                Issue.record("\(path) is not valid YAML: \(error)")
            }
        }
    }

    @Test func dashboardIsJSON() throws {
        let data = try Data(contentsOf: Self.url("deploy/grafana/dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(dashboard["schemaVersion"] as? Int == 39)
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        #expect(panels.count >= 9)
        for panel in panels {
            let targets = panel["targets"] as? [[String: Any]] ?? []
            #expect(!targets.isEmpty && targets.allSatisfy { ($0["expr"] as? String)?.isEmpty == false },
                    "panel '\(panel["title"] ?? "?")' needs PromQL targets")
        }
    }

    // MARK: - Ports and probes

    @Test func deploymentProbesAndPortAreTheAPIs() throws {
        let container = try Self.tesseraContainer()
        let ports = try #require(container["ports"] as? [[String: Any]])
        #expect(ports.contains { $0["name"] as? String == "http" && $0["containerPort"] as? Int == Self.apiPort })

        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            let get = try #require(Self.value(container, probe, "httpGet") as? [String: Any], "\(probe) should be an httpGet")
            #expect(get["path"] as? String == path, "\(probe) path")
            #expect(Self.resolvePort(get["port"], in: container) == Self.apiPort, "\(probe) port")
        }
        if let startup = Self.value(container, "startupProbe", "httpGet") as? [String: Any] {
            #expect(startup["path"] as? String == "/healthz")
            #expect(Self.resolvePort(startup["port"], in: container) == Self.apiPort)
        }

        // The daemon listens where the probes look.
        let env = container["env"] as? [[String: Any]] ?? []
        let listen = env.first { $0["name"] as? String == "TESSERA_API_LISTEN" }?["value"] as? String
        #expect(Self.listenPort(listen) == Self.apiPort, "TESSERA_API_LISTEN should name port \(Self.apiPort)")

        // Scrapes go to the metrics address the daemon is told to serve, a port of its own.
        let metricsListen = env.first { $0["name"] as? String == "TESSERA_API_METRICS_LISTEN" }?["value"] as? String
        let metricsPort = try #require(Self.listenPort(metricsListen), "TESSERA_API_METRICS_LISTEN should be host:port")
        #expect(metricsPort != Self.apiPort)
        #expect(ports.contains { $0["name"] as? String == "metrics" && $0["containerPort"] as? Int == metricsPort })
        let annotations = Self.value(
            try Self.kind("Deployment", in: "deploy/k8s/deployment.yaml"), "spec", "template", "metadata", "annotations") as? [String: Any]
        #expect(annotations?["prometheus.io/port"] as? String == String(metricsPort))
        #expect(annotations?["prometheus.io/path"] as? String == "/metrics")
        let policy = try Self.kind("NetworkPolicy", in: "deploy/k8s/networkpolicy.yaml")
        let ingressPorts = (Self.value(policy, "spec", "ingress") as? [[String: Any]] ?? [])
            .flatMap { $0["ports"] as? [[String: Any]] ?? [] }.compactMap { $0["port"] as? Int }
        #expect(Set(ingressPorts) == [Self.apiPort, metricsPort])
    }

    @Test func serviceTargetsTheContainerPort() throws {
        let service = try Self.kind("Service", in: "deploy/k8s/service.yaml")
        let deployment = try Self.kind("Deployment", in: "deploy/k8s/deployment.yaml")
        let ports = try #require(Self.value(service, "spec", "ports") as? [[String: Any]])
        let http = try #require(ports.first { $0["name"] as? String == "http" }, "the Service needs a port named http")
        #expect(http["port"] as? Int == Self.apiPort)
        #expect(Self.resolvePort(http["targetPort"] ?? http["port"], in: try Self.tesseraContainer()) == Self.apiPort)

        // The selector picks the Deployment's pods.
        let selector = try #require(Self.value(service, "spec", "selector") as? [String: String])
        let labels = try #require(Self.value(deployment, "spec", "template", "metadata", "labels") as? [String: String])
        #expect(!selector.isEmpty && selector.allSatisfy { labels[$0.key] == $0.value })
    }

    @Test func dockerfileExposesAndChecksTheAPI() throws {
        // Continuation lines joined, so an instruction is one line.
        let lines = try Self.text("deploy/docker/Dockerfile").replacingOccurrences(of: "\\\n", with: " ")
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.hasPrefix("#") }
        let expose = lines.filter { $0.hasPrefix("EXPOSE ") }
        #expect(expose.contains { $0.split(separator: " ").dropFirst().contains { $0 == "\(Self.apiPort)" || $0 == "\(Self.apiPort)/tcp" } })
        let healthcheck = try #require(lines.first { $0.hasPrefix("HEALTHCHECK ") }, "the Dockerfile needs a HEALTHCHECK")
        #expect(healthcheck.contains(":\(Self.apiPort)/healthz"), "HEALTHCHECK should GET /healthz on port \(Self.apiPort)")
        let env = lines.filter { $0.hasPrefix("ENV ") }.joined(separator: " ")
        #expect(env.contains("TESSERA_API_LISTEN=0.0.0.0:\(Self.apiPort)"))
        #expect(lines.contains(#"ENTRYPOINT ["tessera"]"#))
        #expect(lines.contains(#"CMD ["serve"]"#))
    }

    @Test func prometheusScrapesTheMetricsRoute() throws {
        let config = try #require(try Self.documents(at: "deploy/prometheus/prometheus.yml").first)
        let jobs = try #require(config["scrape_configs"] as? [[String: Any]])
        let job = try #require(jobs.first { $0["job_name"] as? String == "tessera" })
        #expect((job["metrics_path"] as? String ?? "/metrics") == "/metrics")
        let targets = (job["static_configs"] as? [[String: Any]] ?? []).flatMap { $0["targets"] as? [String] ?? [] }
        #expect(targets == ["tessera:\(Self.apiPort)"])
        #expect((config["rule_files"] as? [String])?.contains { $0.hasSuffix("/alerts.yml") } == true)
    }

    /// The paths the probes, the HEALTHCHECK and Prometheus use, asked of the real router:
    /// the probes answer without an API key (auth on, no keys), /metrics with auth off.
    @Test func probePathsAnswerOnTheRealRouter() async throws {
        _ = LookupAPITests.metricsRegistry  // bind metric handles to the shared test registry
        let container = try Self.tesseraContainer()
        let probePaths = ["livenessProbe", "readinessProbe", "startupProbe"].compactMap {
            Self.value(container, $0, "httpGet", "path") as? String
        }
        #expect(probePaths.count >= 2)

        let catalogPath = Self.url("config/features.yaml").path
        let catalog = try FeatureCatalog.load(yaml: Self.text("config/features.yaml"), file: catalogPath)
        // Nothing here reaches Redis: readiness is stubbed and no lookup is made.
        let store = VectorStore(redis: RedisPipeline(url: try RedisURL(parsing: "redis://127.0.0.1:1/0")))
        var logger = Logger(label: "deploy-files-test")
        logger.logLevel = .critical
        func api(keys: APIKeyStore?) -> Application<RouterResponder<BasicRequestContext>> {
            let api = LookupAPI(
                catalog: catalog, keyspace: RedisKeyspace(prefix: "deploy-test"), store: store,
                limits: .init(maxBodyBytes: 1_024, maxEntitiesPerRequest: 10), keys: keys,
                readinessChecks: { [.init(name: "stub", ok: true, detail: "")] },
                metricsText: { Array("# metrics\n".utf8) })
            return Application(router: api.router(), logger: logger)
        }

        let noKeys = try APIKeyStore(fileContents: "# Tessera API keys\n", file: "api-keys")
        try await api(keys: noKeys).test(.router) { client in
            for path in Set(probePaths + ["/healthz"]) {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "GET \(path) should answer 200 without a key")
                }
            }
        }
        try await api(keys: nil).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    // MARK: - Names the code defines

    /// PromQL expressions of the alert rules and the dashboard (targets and variables).
    static func promQLExpressions() throws -> [(source: String, expr: String)] {
        var expressions: [(String, String)] = []
        let alerts = try #require(try documents(at: "deploy/prometheus/alerts.yml").first)
        for group in alerts["groups"] as? [[String: Any]] ?? [] {
            for rule in group["rules"] as? [[String: Any]] ?? [] {
                expressions.append(("alerts.yml \(rule["alert"] ?? rule["record"] ?? "?")", rule["expr"] as? String ?? ""))
            }
        }
        let dashboard = try JSONSerialization.jsonObject(with: Data(contentsOf: url("deploy/grafana/dashboard.json"))) as? [String: Any]
        for panel in dashboard?["panels"] as? [[String: Any]] ?? [] {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                expressions.append(("dashboard '\(panel["title"] ?? "?")'", target["expr"] as? String ?? ""))
            }
        }
        for variable in value(dashboard, "templating", "list") as? [[String: Any]] ?? [] {
            if let definition = variable["definition"] as? String {
                expressions.append(("dashboard variable \(variable["name"] ?? "?")", definition))
            }
        }
        return expressions
    }

    @Test func metricNamesAreOnesTheCodeDefines() throws {
        let defined = try Self.sourceLiterals(matching: "tessera_[a-z0-9_]+")
        #expect(defined.contains("tessera_http_requests_total"), "the source scan found no metric names: \(defined)")
        let expressions = try Self.promQLExpressions()
        #expect(expressions.count >= 15)
        let name = try Regex("tessera_[a-zA-Z0-9_:]+")
        var used: Set<String> = []
        for (source, expr) in expressions {
            let names = expr.matches(of: name).map { String(expr[$0.range]) }
            #expect(!names.isEmpty, "\(source) uses no tessera_ metric: \(expr)")
            for metric in names {
                used.insert(metric)
                let base = ["_bucket", "_sum", "_count"].first { metric.hasSuffix($0) }.map { String(metric.dropLast($0.count)) }
                #expect(defined.contains(metric) || base.map(defined.contains) == true,
                        "\(source) uses \(metric), which no Swift source under Sources/ defines")
            }
        }
        // The alerts the runbook documents, on the metrics they are about.
        for metric in ["tessera_consumer_lag_messages", "tessera_freshness_seconds", "tessera_http_requests_total",
                       "tessera_http_request_duration_seconds_bucket", "tessera_events_dead_lettered_total", "tessera_redis_errors_total",
                       "tessera_event_log_paused", "tessera_postgres_errors_total", "tessera_roller_lag_seconds",
                       "tessera_redis_command_duration_seconds_bucket", "tessera_postgres_query_duration_seconds_bucket"] {
            #expect(used.contains(metric), "nothing uses \(metric)")
        }
    }

    @Test func alertsCarryDescriptionAndRunbook() throws {
        let alerts = try #require(try Self.documents(at: "deploy/prometheus/alerts.yml").first)
        let rules = (alerts["groups"] as? [[String: Any]] ?? []).flatMap { $0["rules"] as? [[String: Any]] ?? [] }
        #expect(rules.count >= 6)
        let anchors = [
            "consumer-lag", "freshness", "lookup-errors", "lookup-latency", "dead-letters", "redis-errors", "postgresql-outage",
            "roller-lag", "snapshots", "backfill-stalled",
        ]
        var linked: Set<String> = []
        for rule in rules {
            let annotations = rule["annotations"] as? [String: Any] ?? [:]
            #expect((annotations["description"] as? String)?.isEmpty == false, "\(rule["alert"] ?? "?") needs a description")
            let runbook = annotations["runbook"] as? String ?? ""
            #expect(runbook.hasPrefix("docs/operations.md#"), "\(rule["alert"] ?? "?") runbook: \(runbook)")
            linked.insert(String(runbook.drop { $0 != "#" }.dropFirst()))
        }
        #expect(linked == Set(anchors))

        // Once docs/operations.md exists, each anchor must be one of its headings.
        if let operations = try? Self.text("docs/operations.md") {
            let slugs = Set(operations.split(separator: "\n").filter { $0.hasPrefix("#") }.map { line in
                line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces).lowercased()
                    .filter { $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" }.replacingOccurrences(of: " ", with: "-")
            })
            for anchor in linked { #expect(slugs.contains(anchor), "docs/operations.md has no heading for #\(anchor)") }
        }
    }

    @Test func environmentVariablesAreOnesTheCodeReads() throws {
        let known = try Self.sourceLiterals(matching: "TESSERA_[A-Z_]+")
            .union(ServiceConfig.environmentOverrides.map(\.variable))
        #expect(known.contains("TESSERA_CONFIG_DIR") && known.contains("TESSERA_MIGRATIONS_DIR"))
        let variable = try Regex("TESSERA_[A-Z_]+")
        for path in Self.files(under: "deploy", endingIn: [".yml", ".yaml", "Dockerfile"]) {
            let text = try Self.text(path)
            for match in text.matches(of: variable) {
                let name = String(text[match.range])
                #expect(known.contains(name), "\(path) names \(name), which Tessera does not read")
            }
        }
    }

    // MARK: - Config

    @Test func configMapCarriesTheRepositoryConfig() throws {
        let configMap = try Self.kind("ConfigMap", in: "deploy/k8s/configmap.yaml")
        for file in ["tessera.yaml", "features.yaml"] {
            let carried = try #require(Self.value(configMap, "data", file) as? String, "the ConfigMap lacks \(file)")
            let original = try Data(contentsOf: Self.url("config/\(file)"))
            #expect(Data(carried.utf8) == original, "deploy/k8s/configmap.yaml's \(file) differs from config/\(file): run deploy/k8s/update-configmap.sh")
        }
        // The files the Deployment mounts as the config folder are those two.
        let deployment = try Self.kind("Deployment", in: "deploy/k8s/deployment.yaml")
        let volumes = Self.value(deployment, "spec", "template", "spec", "volumes") as? [[String: Any]] ?? []
        let sources = volumes.compactMap { Self.value($0, "projected", "sources") as? [[String: Any]] }.flatMap { $0 }
        let mounted = sources.compactMap { Self.value($0, "configMap", "items") as? [[String: Any]] }.flatMap { $0 }
            .compactMap { $0["path"] as? String }
        #expect(Set(mounted) == ["tessera.yaml", "features.yaml"])
    }
}
