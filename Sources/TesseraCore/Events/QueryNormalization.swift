/// Search-query normalisation from the v1 contract: trimmed, lower-cased, and every inner run of
/// whitespace collapsed to one space, so "  Running   SHOES " and "running shoes" are one query.
public enum QueryNormalization {
    /// The normalised query of some UTF-8 text, or nil when nothing but whitespace is left.
    static func normalize(utf8 text: UnsafeRawBufferPointer) -> String? {
        // Most queries are ASCII: normalise those byte by byte, straight into the result.
        guard text.allSatisfy({ $0 < 0x80 }) else { return normalize(String(decoding: text, as: UTF8.self)) }
        let normalized = String(unsafeUninitializedCapacity: text.count) { output in
            var count = 0
            var spacePending = false
            for byte in text {
                switch byte {
                case 0x09...0x0D, 0x20:
                    spacePending = count > 0
                default:
                    if spacePending {
                        output[count] = 0x20
                        count += 1
                        spacePending = false
                    }
                    output[count] = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
                    count += 1
                }
            }
            return count
        }
        return normalized.isEmpty ? nil : normalized
    }

    /// The general path: full Unicode lower-casing, and Unicode White_Space as whitespace
    /// (the same set as the ASCII path within ASCII).
    public static func normalize(_ text: String) -> String? {
        var normalized = ""
        var spacePending = false
        for scalar in text.lowercased().unicodeScalars {
            if scalar.properties.isWhitespace {
                spacePending = !normalized.isEmpty
                continue
            }
            if spacePending {
                normalized.unicodeScalars.append(" ")
                spacePending = false
            }
            normalized.unicodeScalars.append(scalar)
        }
        return normalized.isEmpty ? nil : normalized
    }
}
