import ArgumentParser
import Foundation
import TesseraCore
import TesseraServe

/// `tessera keys`: API keys for the lookup API, stored only as SHA-256 hashes.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create and list API keys.", subcommands: [Create.self, List.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; it is printed once and stored only as a hash.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "lookup (features) or admin (also /metrics).") var scope: String
        @Option(help: "A name to recognise the key by (no spaces).") var name = "key"

        func run() throws {
            guard let scope = APIScope(rawValue: scope) else { throw ValidationError("--scope must be lookup or admin") }
            guard !name.isEmpty, !name.contains(where: \.isWhitespace) else { throw ValidationError("--name must be one word") }
            let files = try ConfigFiles.load(configDir: options.configDir)
            let path = files.resolve(files.service.api.keysFile)
            let created = RFC3339.string(epochMilliseconds: Int64(Date().timeIntervalSince1970 * 1_000), fractionDigits: 0)
            let (key, line) = APIKeyStore.newKey(scope: scope, name: name, created: created)
            try append(line + "\n", to: path)
            print(key)
            FileHandle.standardError.write(Data("created \(scope.rawValue) key '\(name)' in \(path); it is not shown again\n".utf8))
        }

        private func append(_ text: String, to path: String) throws {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(
                    atPath: path, contents: Data("# Tessera API keys: SHA-256 hash, scope, name, created\n".utf8),
                    attributes: [.posixPermissions: 0o600])
                else { throw StartupError(message: "cannot create \(path)") }
            }
            guard let handle = FileHandle(forWritingAtPath: path) else { throw StartupError(message: "cannot write \(path)") }
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys: name, scope, created, hash prefix.")
        @OptionGroup var options: ConfigOptions

        func run() throws {
            let files = try ConfigFiles.load(configDir: options.configDir)
            let store = try KeysCommand.loadStore(files.resolve(files.service.api.keysFile))
            for entry in store.entries {
                print("\(entry.name)\t\(entry.scope.rawValue)\t\(entry.created)\t\(entry.hash.prefix(12))…")
            }
        }
    }

    static func loadStore(_ path: String) throws -> APIKeyStore {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw StartupError(message: "API auth is on but \(path) cannot be read: create a key with `tessera keys create --scope lookup`, or set api.auth: off")
        }
        do { return try APIKeyStore(fileContents: text, file: path) } catch { throw StartupError(message: "\(error)") }
    }
}
