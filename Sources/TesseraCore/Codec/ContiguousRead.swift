/// Runs `read` on the bytes in one contiguous buffer: where they lie when they already are (an
/// array, or a slice of the lookup's packed MGET reply), else on a copy. The vector decoders
/// read this way, so the lookup path copies no vector before decoding it.
func readContiguously<Value, Failure: Error>(
    _ bytes: some Collection<UInt8>, _ read: (UnsafeBufferPointer<UInt8>) throws(Failure) -> Value
) throws(Failure) -> Value {
    let result = bytes.withContiguousStorageIfAvailable { buffer in Result { () throws(Failure) in try read(buffer) } }
        ?? Array(bytes).withUnsafeBufferPointer { buffer in Result { () throws(Failure) in try read(buffer) } }
    return try result.get()
}
