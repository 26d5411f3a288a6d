public struct EntityDefinition: Sendable, Hashable {
    public var name: String
    /// Event fields whose values, together, identify one entity.
    public var joinKeys: [EventField]

    /// The entity key of an event, or nil when the event lacks one of the join keys.
    public func key(of event: ClickEvent) -> EntityKey? {
        var values: [String] = []
        values.reserveCapacity(joinKeys.count)
        for field in joinKeys {
            guard let value = field.text(in: event) else { return nil }
            values.append(value)
        }
        return EntityKey(values: values)
    }
}

/// The join-key values of one entity, in the entity's join-key order. Two keys are the
/// same entity only when their bytes are: Swift's String equality treats canonically
/// equivalent Unicode ("café" composed or decomposed) as equal, Redis does not.
public struct EntityKey: Sendable, Hashable, CustomStringConvertible {
    public var values: [String]

    public static func == (lhs: EntityKey, rhs: EntityKey) -> Bool {
        lhs.values.count == rhs.values.count && zip(lhs.values, rhs.values).allSatisfy { left, right in
            var (left, right) = (left, right)
            return left.withUTF8 { leftBytes in right.withUTF8 { leftBytes.elementsEqual($0) } }
        }
    }

    public func hash(into hasher: inout Hasher) {
        for var value in values {
            hasher.combine(value.utf8.count)
            // All bytes in one go (the lookup path hashes a key per entity row).
            value.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }

    public init(values: [String]) { self.values = values }

    /// A single string for Redis key names; the unit separator cannot appear in
    /// validated ids or normalised queries' ordinary text, and keeps keys readable.
    public var encoded: String { values.count == 1 ? values[0] : values.joined(separator: String(Self.separatorCharacter)) }

    /// The byte between the values of `encoded`.
    public static let separator: UInt8 = 0x1F
    private static let separatorCharacter = Character(Unicode.Scalar(separator))

    public init(encoded: String) { values = encoded.split(separator: Self.separatorCharacter, omittingEmptySubsequences: false).map(String.init) }

    public var description: String { values.joined(separator: "/") }
}
