/// Passwords kept out of the config file: `TESSERA_<NAME>` (the value), else
/// `TESSERA_<NAME>_FILE` or the config key (a file holding it, as Kubernetes and Docker
/// mount secrets). The file is read by the caller's `readFile` (this module does no I/O);
/// one trailing newline is dropped. Errors name the variable or key and the path, never
/// the secret.
struct ConfigSecrets {
    let environment: [String: String]
    let readFile: (String) throws -> String
    let file: String

    /// nil when neither the variables nor the key are set.
    func resolve(variable: String, fileVariable: String, fileKey: ConfigNode?, keyPath: String) throws -> String? {
        if let value = environment[variable], !value.isEmpty { return value }
        let source: (path: String, key: String)
        if let path = environment[fileVariable], !path.isEmpty {
            source = (path, "\(keyPath) (from \(fileVariable))")
        } else if let node = fileKey {
            source = (try node.string(), keyPath)
        } else {
            return nil
        }
        let text: String
        do {
            text = try readFile(source.path)
        } catch {
            throw ConfigError(file: file, key: source.key, problem: "cannot read the secret file '\(source.path)': \(error)")
        }
        var secret = Substring(text)
        // "\r\n" is one Character in Swift, so either ending is one dropLast.
        if secret.hasSuffix("\r\n") || secret.hasSuffix("\n") { secret = secret.dropLast() }
        guard !secret.isEmpty else { throw ConfigError(file: file, key: source.key, problem: "the secret file '\(source.path)' is empty") }
        return String(secret)
    }

    /// `url` with its password replaced by `password` (percent-encoded), keeping the user.
    static func url(_ url: String, withPassword password: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let afterScheme = url[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" } ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        var user = Substring("")
        var hostPart = authority
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            user = credentials.prefix { $0 != ":" }
            hostPart = authority[authority.index(after: at)...]
        }
        return url[..<schemeEnd.upperBound] + user + ":" + percentEncoded(password) + "@" + hostPart + afterScheme[authorityEnd...]
    }

    /// Everything but RFC 3986's unreserved characters, percent-encoded.
    static func percentEncoded(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                encoded += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]], as: UTF8.self)
            }
        }
        return encoded
    }
}
