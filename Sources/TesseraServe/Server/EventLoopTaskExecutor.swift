import NIOCore

/// Runs a task's jobs on one NIO event loop. A connection's requests run on the loop that
/// owns its socket, so reading the request, the Redis read (on that loop's connection) and
/// writing the answer stay on one thread: no hop to Swift's global pool and back for each.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
