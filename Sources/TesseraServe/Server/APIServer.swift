import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL

/// The lookup API's HTTP server: HTTP/1.1, or HTTPS with `tls`, each connection's requests
/// handled on its own event loop (`LoopBoundChildChannel`).
public enum APIServer {
    public static func builder(tls: TLSConfiguration? = nil) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            let http = HTTP1Channel(responder: responder)
            guard let tls else { return LoopBoundChildChannel(base: http) }
            return LoopBoundChildChannel(base: try TLSChannel(http, tlsConfiguration: tls))
        }
    }
}
