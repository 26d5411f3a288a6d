public struct EntityDefinition: Sendable, Hashable {
    public var name: String
    /// Event fields whose values, together, identify one entity.
    public var joinKeys: [EventField]

    /// The entity key of an event, or nil when the event lacks one of the join keys.
    public func key(of event: ClickEvent) -> EntityKey? {
        if joinKeys.count == 1 { return joinKeys[0].text(in: event).map { EntityKey($0) } }
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
    /// One value held as it is: most entities have one join key, and an array for it cost an
    /// allocation per event and view on the online path and per row on the lookup path.
    private enum Storage: Sendable {
        case one(String)
        case many([String])
    }
    private let storage: Storage

    public init(_ value: String) { storage = .one(value) }

    public init(values: [String]) { storage = values.count == 1 ? .one(values[0]) : .many(values) }

    /// How many values; `self[index]` reads one without building `values`.
    public var count: Int {
        switch storage {
        case .one: 1
        case .many(let values): values.count
        }
    }

    public subscript(index: Int) -> String {
        switch storage {
        case .one(let value):
            precondition(index == 0, "an entity key of one value has no value \(index)")
            return value
        case .many(let values): return values[index]
        }
    }

    /// The values as an array (built for a one-value key: not for hot paths).
    public var values: [String] {
        switch storage {
        case .one(let value): [value]
        case .many(let values): values
        }
    }

    public static func == (lhs: EntityKey, rhs: EntityKey) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for index in 0..<lhs.count where !sameBytes(lhs[index], rhs[index]) { return false }
        return true
    }

    private static func sameBytes(_ left: String, _ right: String) -> Bool {
        var (left, right) = (left, right)
        return left.withUTF8 { leftBytes in right.withUTF8 { leftBytes.elementsEqual($0) } }
    }

    public func hash(into hasher: inout Hasher) {
        for index in 0..<count {
            var value = self[index]
            hasher.combine(value.utf8.count)
            // All bytes in one go (the lookup path hashes a key per entity row).
            value.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }

    /// A single string for Redis key names; the unit separator cannot appear in
    /// validated ids or normalised queries' ordinary text, and keeps keys readable.
    public var encoded: String {
        switch storage {
        case .one(let value): value
        case .many(let values): values.joined(separator: String(Self.separatorCharacter))
        }
    }

    /// The byte between the values of `encoded`.
    public static let separator: UInt8 = 0x1F
    private static let separatorCharacter = Character(Unicode.Scalar(separator))

    public init(encoded: String) {
        self.init(values: encoded.split(separator: Self.separatorCharacter, omittingEmptySubsequences: false).map(String.init))
    }

    public var description: String { values.joined(separator: "/") }
}
