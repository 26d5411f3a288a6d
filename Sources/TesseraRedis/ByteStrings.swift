/// Byte strings packed back to back in one buffer, each present or nil: the keys of one
/// MGET and its values, with two allocations for all of them instead of one per string.
public struct ByteStrings: Sendable, Equatable {
    public private(set) var bytes: [UInt8] = []
    /// Per string: its bytes in `bytes`, nil for a missing value.
    private var ranges: [Range<Int>?] = []

    public init() {}

    /// `count` strings of about `bytes` bytes in all, without growing.
    public init(reservingCount count: Int, bytes byteCount: Int) {
        bytes.reserveCapacity(byteCount)
        ranges.reserveCapacity(count)
    }

    public init(_ strings: [[UInt8]?]) {
        self.init(reservingCount: strings.count, bytes: strings.reduce(0) { $0 + ($1?.count ?? 0) })
        for string in strings {
            if let string { append(string) } else { appendNil() }
        }
    }

    /// The arguments of one command, packed.
    public init<Argument: Collection<UInt8>>(arguments: [Argument]) {
        self.init(reservingCount: arguments.count, bytes: arguments.reduce(0) { $0 + $1.count })
        for argument in arguments { append(argument) }
    }

    /// The same from text arguments.
    public init(arguments: [String]) { self.init(arguments: arguments.map(\.utf8)) }

    public var count: Int { ranges.count }

    /// The i-th string's bytes (indexed into `bytes`, so not from 0), or nil.
    public subscript(index: Int) -> ArraySlice<UInt8>? {
        ranges[index].map { bytes[$0] }
    }

    /// The i-th string's place in `bytes`, or nil: to read many inside one `bytes.withUnsafeBytes`.
    public func range(_ index: Int) -> Range<Int>? { ranges[index] }

    public mutating func append(_ string: some Collection<UInt8>) { appendBytes(of: string) }

    /// The same for text and for arrays, the arguments commands are built of. Not generic: a
    /// generic function called from another module is not specialised there, and its
    /// `append(contentsOf:)` went through the collection's witnesses for every argument.
    public mutating func append(_ string: String.UTF8View) { appendBytes(of: string) }

    public mutating func append(_ string: [UInt8]) { appendBytes(of: string) }

    /// Specialised for each caller above (same module).
    private mutating func appendBytes(of string: some Collection<UInt8>) {
        let start = bytes.count
        bytes.append(contentsOf: string)
        ranges.append(start..<bytes.count)
    }

    /// One string written in pieces by `write`, which appends to the buffer.
    public mutating func append(writing write: (inout [UInt8]) -> Void) {
        let start = bytes.count
        write(&bytes)
        ranges.append(start..<bytes.count)
    }

    public mutating func appendNil() { ranges.append(nil) }
}
