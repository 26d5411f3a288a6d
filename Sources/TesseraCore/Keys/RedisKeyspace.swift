/// Names of every Redis key and hash field Tessera uses, in one place.
///
/// All keys of one entity of one view share the hash tag `{view|entity}`, so the apply
/// script touches a single slot on Redis Cluster too.
public struct RedisKeyspace: Sendable {
    public var prefix: String

    public init(prefix: String) { self.prefix = prefix }

    /// `prefix:{view|entity}suffix`. Keys are made per entity on the lookup and ingestion
    /// paths: the bytes are appended in place, with no string per piece.
    private func appendEntityKey(view: String, entity: EntityKey, suffix: String, to bytes: inout [UInt8]) {
        appendKeyHead(view: view, to: &bytes)
        Self.appendKeyTail(entity: entity, suffix: suffix, to: &bytes)
    }

    /// `prefix:{view|`
    private func appendKeyHead(view: String, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: prefix.utf8)
        bytes.append(contentsOf: ":{".utf8)
        bytes.append(contentsOf: view.utf8)
        bytes.append(UInt8(ascii: "|"))
    }

    /// `entity}suffix`
    private static func appendKeyTail(entity: EntityKey, suffix: String, to bytes: inout [UInt8]) {
        for index in 0..<entity.count {
            if index > 0 { bytes.append(EntityKey.separator) }
            bytes.append(contentsOf: entity[index].utf8)
        }
        bytes.append(UInt8(ascii: "}"))
        bytes.append(contentsOf: suffix.utf8)
    }

    private func entityKey(view: String, entity: EntityKey, suffix: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(prefix.utf8.count + view.utf8.count + (0..<entity.count).reduce(0) { $0 + entity[$1].utf8.count + 1 } + suffix.utf8.count + 3)
        appendEntityKey(view: view, entity: entity, suffix: suffix, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Hash of tiles, lifetime aggregates, fences and the newest event time.
    public func stateKey(view: String, entity: EntityKey) -> String { entityKey(view: view, entity: entity, suffix: ":s") }

    /// The same key's bytes appended to `bytes`: script calls are built as bytes.
    public func appendStateKey(view: String, entity: EntityKey, to bytes: inout [UInt8]) {
        appendEntityKey(view: view, entity: entity, suffix: ":s", to: &bytes)
    }

    /// The packed feature vector the lookup API reads.
    public func vectorKey(view: String, entity: EntityKey) -> String { entityKey(view: view, entity: entity, suffix: ":v") }

    /// The same key's bytes appended to `bytes`.
    public func appendVectorKey(view: String, entity: EntityKey, to bytes: inout [UInt8]) {
        appendEntityKey(view: view, entity: entity, suffix: ":v", to: &bytes)
    }

    /// What every vector key of `view` starts with: the lookup path makes it once per view and
    /// packs each entity's key in one buffer with `appendVectorKey(head:entity:to:)`.
    public func vectorKeyHead(view: String) -> [UInt8] {
        var head: [UInt8] = []
        appendKeyHead(view: view, to: &head)
        return head
    }

    /// The vector key of `entity` under a `vectorKeyHead`, appended to `bytes`.
    public static func appendVectorKey(head: [UInt8], entity: EntityKey, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: head)
        appendKeyTail(entity: entity, suffix: ":v", to: &bytes)
    }

    /// A SCAN pattern matching every vector key of a view (glob characters escaped).
    public func vectorKeyPattern(view: String) -> String {
        "\(Self.globEscaped(prefix)):{\(Self.globEscaped(view))|*}:v"
    }

    /// The entity a vector key of `view` names, or nil for another key.
    public func entity(fromVectorKey key: String, view: String) -> EntityKey? {
        let bytes = Array(key.utf8), head = Array("\(prefix):{\(view)|".utf8), tail = Array("}:v".utf8)
        guard bytes.count >= head.count + tail.count, bytes.starts(with: head), bytes.suffix(tail.count).elementsEqual(tail) else { return nil }
        return EntityKey(encoded: String(decoding: bytes[head.count..<(bytes.count - tail.count)], as: UTF8.self))
    }

    private static func globEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "*?[]\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// One HyperLogLog per approx-distinct slot and tile: its key is this stem,
    /// `prefix:{view|entity}:h:<slot>:`, and the tile number, so a script call's run of them
    /// is built from one stem.
    public func appendDistinctKeyStem(view: String, entity: EntityKey, slot: String, to bytes: inout [UInt8]) {
        appendEntityKey(view: view, entity: entity, suffix: ":h:", to: &bytes)
        bytes.append(contentsOf: slot.utf8)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Entities to recompute when a tile leaves a window at `boundaryMs`.
    public func rollKey(view: String, boundaryMs: Int64) -> String { "\(prefix):roll:\(view):\(boundaryMs)" }

    /// The roller's progress: every boundary up to this time is done.
    public func rollerCursorKey(view: String) -> String { "\(prefix):roller:\(view)" }

    // The snapshotter's keys of a view share the hash tag `{snap|view}`, so the RENAME
    // from the changed set to the processing set stays on one Redis Cluster slot.
    private func snapshotPrefix(view: String) -> String { "\(prefix):{snap|\(view)}" }

    /// Set of entities whose vector changed since the last snapshot took the set.
    public func changedKey(view: String) -> String { snapshotPrefix(view: view) + ":changed" }

    /// The changed set a snapshot run took; members leave it once written to PostgreSQL.
    public func snapshotProcessingKey(view: String) -> String { snapshotPrefix(view: view) + ":processing" }

    /// Lease naming the daemon that is snapshotting the view, so several daemons take turns.
    public func snapshotLeaseKey(view: String) -> String { snapshotPrefix(view: view) + ":lease" }

    // Fields of the state hash; the apply script builds the same names.
    /// `slot` is an `AggregationSlot.storageName`.
    public static func tileField(slot: String, tile: Int64) -> String {
        var bytes: [UInt8] = []
        appendTileField(slot: slot, tile: tile, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The same field's bytes appended to `bytes`: script calls are built as bytes.
    public static func appendTileField(slot: String, tile: Int64, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: slot.utf8)
        bytes.append(UInt8(ascii: ":"))
        DecimalText.append(tile, to: &bytes)
    }

    /// For `last`: the event time that goes with the value in `tileField`/`lifetimeField`.
    public static func timeField(of field: String) -> String { field + "t" }
    public static func lifetimeField(slot: String) -> String { slot }
    public static func fenceField(partition: Int32) -> String { fencePrefix + String(partition) }
    /// The partition a fence field is for, or nil when the field is not a fence.
    public static func fencePartition(field: String) -> Int32? {
        field.hasPrefix(fencePrefix) ? Int32(field.dropFirst(fencePrefix.count)) : nil
    }
    private static let fencePrefix = "f:"
    public static let newestEventField = "e"
}
