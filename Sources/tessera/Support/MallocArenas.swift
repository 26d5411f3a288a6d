import CGlibcMalloc
import Glibc

/// glibc gives a thread that finds the allocator busy an arena of its own, up to eight per
/// core, and each arena keeps memory its threads freed for them alone. `tessera serve` runs
/// a dozen threads (the two ingestion paths, the roller, the event loops, librdkafka's), so
/// a backlog's drain spread its memory over many arenas. Two arenas a core: on the bench's
/// 2-core machine the 2-million-event drain peaked at 218 MB instead of 249 MB at the same
/// rates, and freshness at 20,000 events/s was as without a cap; one a core saved more
/// (209-211 MB) but serve's CPU rose by about a sixth and freshness p50 doubled, most likely
/// threads waiting on each other's arenas (docs/benchmarks.md). `MALLOC_ARENA_MAX` in the
/// environment decides when set.
enum MallocArenas {
    /// Must run before the process starts its threads: every command calls it first, for
    /// `serve`'s sake.
    static func limitToTwoPerCore() {
        guard getenv("MALLOC_ARENA_MAX") == nil else { return }
        let cores = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        _ = mallopt(M_ARENA_MAX, Int32(clamping: 2 * max(cores, 1)))
    }
}
