/// Turns one message value into a `ClickEvent`, or says why it belongs in the dead-letter topic.
///
/// Checks follow the v1 event contract. When a message has several problems, the reported one is
/// the most fundamental: size, then UTF-8, then JSON syntax, then "not an object", then duplicate
/// member names and `\u0000`, then the first bad field in message order, then the first missing
/// required field in contract order.
public struct EventDecoder: Sendable {
    public var maxBytes: Int
    /// How far ahead of the caller's clock an event time may be (producers' clocks drift).
    public var futureToleranceMs: Int64

    public init(maxBytes: Int = 65_536, futureToleranceMs: Int64 = 300_000) {
        self.maxBytes = maxBytes
        self.futureToleranceMs = futureToleranceMs
    }

    /// - Parameter nowMs: the current time in epoch milliseconds, for the future-tolerance check.
    public func decode(_ bytes: [UInt8], nowMs: Int64) -> Result<ClickEvent, EventRejection> {
        bytes.withUnsafeBytes { decode($0, nowMs: nowMs) }
    }

    /// Decodes in place, for callers holding a message buffer they do not want to copy
    /// (a Kafka payload, say). Nothing of `bytes` is retained.
    public func decode(_ bytes: UnsafeRawBufferPointer, nowMs: Int64) -> Result<ClickEvent, EventRejection> {
        do {
            return .success(try decodeEvent(bytes, nowMs: nowMs))
        } catch {
            return .failure(error)
        }
    }

    private func decodeEvent(_ bytes: UnsafeRawBufferPointer, nowMs: Int64) throws(EventRejection) -> ClickEvent {
        guard bytes.count <= maxBytes else {
            throw EventRejection(.oversize, "message is \(bytes.count) bytes, the limit is \(maxBytes)")
        }
        var reader = JSONReader(bytes)
        guard reader.peekToken() == UInt8(ascii: "{") else {
            let value = try reader.readValue(depth: 1)
            try reader.expectEnd()
            throw EventRejection(.notObject, "message must be a JSON object, got \(value.typeName)")
        }

        var fields = DecodedFields(nowMs: nowMs, futureToleranceMs: futureToleranceMs)
        // Unknown members are rare, so copying their names costs nothing on the usual path.
        var unknownNames = Set<[UInt8]>()
        if try reader.beginObject() {
            repeat {
                let name = try reader.readMemberName()
                let value = try reader.readValue(depth: 2)
                if let field = reader.withUnescapedBytes(name, ContractField.init(jsonName:)) {
                    if fields.markSeen(field) {
                        fields.read(value, for: field, in: reader)
                    } else {
                        reader.noteDuplicate(name: name)
                    }
                } else if !unknownNames.insert(reader.unescapedBytes(name)).inserted {
                    reader.noteDuplicate(name: name)
                }
            } while try reader.continueContainer(closing: UInt8(ascii: "}"))
        }
        try reader.expectEnd()
        if let rejection = reader.deferredRejection { throw rejection }
        return try fields.makeEvent()
    }
}
