import ArgumentParser
import Foundation
import TesseraCore

/// Loads `tessera.yaml` and `features.yaml` from the config folder (the `--config-dir`
/// option, else `TESSERA_CONFIG_DIR`, else `./config`). A bad file stops the command
/// with one line naming the file, the key and what is wrong.
struct ConfigFiles {
    var folder: String
    var service: ServiceConfig
    var catalog: FeatureCatalog

    /// A path from the config, relative to the config folder unless absolute.
    func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : "\(folder)/\(path)" }

    static func load(configDir: String?) throws -> ConfigFiles {
        let environment = ProcessInfo.processInfo.environment
        let folder = configDir ?? environment["TESSERA_CONFIG_DIR"] ?? "config"
        do {
            let servicePath = "\(folder)/tessera.yaml"
            let featuresPath = "\(folder)/features.yaml"
            return ConfigFiles(
                folder: folder,
                service: try ServiceConfig.load(
                    yaml: try read(servicePath), file: servicePath, environment: environment,
                    readFile: { path in try readSecret(path.hasPrefix("/") ? path : "\(folder)/\(path)") }),
                catalog: try FeatureCatalog.load(yaml: try read(featuresPath), file: featuresPath))
        } catch let error as ConfigError {
            throw StartupError(message: "config error: \(error)")
        }
    }

    /// The PostgreSQL URL, or the one-line error naming where to set it.
    static func requirePostgresURL(_ service: ServiceConfig) throws -> String {
        guard !service.postgresURL.isEmpty else {
            throw StartupError(message: "config error: postgres.url is not set (tessera.yaml or TESSERA_POSTGRES_URL)")
        }
        return service.postgresURL
    }

    /// The migrations folder: the option, else `TESSERA_MIGRATIONS_DIR`, else `./migrations`.
    static func migrationsDirectory(_ option: String?) -> String {
        option ?? ProcessInfo.processInfo.environment["TESSERA_MIGRATIONS_DIR"] ?? "migrations"
    }

    /// A secret file's text; the error says why it could not be read, never what it holds.
    private static func readSecret(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StartupError(message: FileManager.default.fileExists(atPath: path) ? "not readable by this user" : "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw StartupError(message: "not UTF-8 text") }
        return text
    }

    private static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, key: "", problem: "cannot read the file (set --config-dir or TESSERA_CONFIG_DIR)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, key: "", problem: "not UTF-8 text")
        }
        return text
    }
}

/// Options every command that reads the config takes.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Folder with tessera.yaml and features.yaml (default: $TESSERA_CONFIG_DIR or ./config).")
    var configDir: String?
}

/// A problem that stops a command before it starts: printed as one line, exit code 1.
struct StartupError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
