import Synchronization

/// Counters and state the ingestion thread publishes for readiness and tests.
public final class IngestionStatus: Sendable {
    private let assigned = Atomic<Int>(0)
    private let applied = Atomic<Int>(0)
    private let deadLettered = Atomic<Int>(0)
    private let ignored = Atomic<Int>(0)
    private let batches = Atomic<Int>(0)
    private let logged = Atomic<Int>(0)

    public init() {}

    public var assignedPartitions: Int { assigned.load(ordering: .relaxed) }
    public var appliedEvents: Int { applied.load(ordering: .relaxed) }
    public var deadLetteredEvents: Int { deadLettered.load(ordering: .relaxed) }
    /// Valid events that changed no view (too old for every window, no lifetime aggregate): kept offline only.
    public var ignoredEvents: Int { ignored.load(ordering: .relaxed) }
    public var committedBatches: Int { batches.load(ordering: .relaxed) }
    /// Events written to the offline log.
    public var loggedEvents: Int { logged.load(ordering: .relaxed) }

    func recordLogged(_ count: Int) { logged.add(count, ordering: .relaxed) }

    func setAssignedPartitions(_ count: Int) { assigned.store(count, ordering: .relaxed) }

    func recordBatch(applied appliedCount: Int, deadLettered deadCount: Int, ignored ignoredCount: Int) {
        applied.add(appliedCount, ordering: .relaxed)
        deadLettered.add(deadCount, ordering: .relaxed)
        ignored.add(ignoredCount, ordering: .relaxed)
        batches.add(1, ordering: .relaxed)
    }
}
