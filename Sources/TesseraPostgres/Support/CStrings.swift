#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Runs `body` with NUL-terminated copies of `strings` (nil stays NULL), the shape libpq
/// takes for keyword, value and parameter arrays; the copies are freed afterwards.
func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) throws -> R) rethrows -> R {
    let copies = strings.map { $0.map { strdup($0)! } }  // fails only when out of memory: trap, as Swift allocations do
    defer { copies.forEach { free($0) } }
    return try body(copies.map { $0.map { UnsafePointer($0) } })
}
