import CRdKafka

/// Creates librdkafka client handles from string properties, with logging and errors routed to the
/// client's context.
enum RDKafkaConfig {
    /// A configured `rd_kafka_conf_t`. Its callbacks may add more before `makeHandle` takes it.
    static func make(_ properties: [String: String], context: RDKafkaClientContext) throws -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var reason = [CChar](repeating: 0, count: 512)
        for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
            guard rd_kafka_conf_set(conf, name, value, &reason, reason.count) == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                // The value stays out of the message: it may be a password.
                throw KafkaError(code: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue,
                                 message: "setting \(name): \(String(cBuffer: reason))")
            }
        }
        rd_kafka_conf_set_log_cb(conf, rdKafkaLogCallback)
        rd_kafka_conf_set_error_cb(conf, rdKafkaErrorCallback)
        rd_kafka_conf_set_opaque(conf, context.opaque)
        return conf
    }

    /// A new client handle. Takes `conf` on success and destroys it on failure.
    static func makeHandle(_ type: rd_kafka_type_t, conf: OpaquePointer) throws -> OpaquePointer {
        var reason = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(type, conf, &reason, reason.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue,
                             message: "creating client: \(String(cBuffer: reason))")
        }
        return handle
    }
}
