import NIOSSL

/// The API's HTTPS settings from PEM files (`api.tls.certificate`, `api.tls.private_key`).
public enum APITLS {
    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Errors name the file and what is wrong with it; never its contents.
    public static func serverConfiguration(certificatePath: String, privateKeyPath: String) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw LoadError(description: "api.tls.certificate '\(certificatePath)': not a readable PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else { throw LoadError(description: "api.tls.certificate '\(certificatePath)': no certificate in the file") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)
        } catch {
            // NIOSSL's errors carry OpenSSL's error queue, not key material.
            throw LoadError(description: "api.tls.private_key '\(privateKeyPath)': not a readable PEM private key (\(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }
}
