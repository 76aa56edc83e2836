// The platform's C library, for every module that imports NuGetCore: the one place that names
// it, so that no other file depends on which platform it is built for.
#if canImport(Glibc)
    @_exported import Glibc
#elseif canImport(Musl)
    @_exported import Musl
#elseif canImport(Darwin)
    @_exported import Darwin
#endif

/// The C library calls whose Swift names differ between platforms, under one name.
///
/// Shelf makes plain POSIX calls where Foundation would copy or allocate on a path taken once per
/// file of a feed (hundreds of thousands of times). Most of those calls are spelled the same on
/// glibc, musl and Darwin, and this file brings in the platform's library for every module that
/// imports NuGetCore. These are the ones that are not spelled the same: names a Swift type of
/// ours also uses (`rename`, `read`, `write`, `pread`), which must be qualified with the C
/// module's name, and the time fields of `stat` (`st_mtim` on Linux, `st_mtimespec` on Darwin).
public enum POSIX {
    /// `rename(2)`: 0, or -1 with `errno` set.
    @inlinable
    public static func rename(_ from: String, _ to: String) -> Int32 {
        #if canImport(Glibc)
            return Glibc.rename(from, to)
        #elseif canImport(Musl)
            return Musl.rename(from, to)
        #else
            return Darwin.rename(from, to)
        #endif
    }

    /// `read(2)`.
    @inlinable
    public static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
            return Glibc.read(fd, buffer, count)
        #elseif canImport(Musl)
            return Musl.read(fd, buffer, count)
        #else
            return Darwin.read(fd, buffer, count)
        #endif
    }

    /// `write(2)`.
    @inlinable
    public static func write(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
            return Glibc.write(fd, buffer, count)
        #elseif canImport(Musl)
            return Musl.write(fd, buffer, count)
        #else
            return Darwin.write(fd, buffer, count)
        #endif
    }

    /// `pread(2)`.
    @inlinable
    public static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int, _ offset: Int) -> Int {
        #if canImport(Glibc)
            return Glibc.pread(fd, buffer, count, off_t(offset))
        #elseif canImport(Musl)
            return Musl.pread(fd, buffer, count, off_t(offset))
        #else
            return Darwin.pread(fd, buffer, count, off_t(offset))
        #endif
    }

    /// The modification time of a `stat`, in nanoseconds since 1970.
    @inlinable
    public static func modificationTime(_ st: stat) -> Int64 {
        #if canImport(Darwin)
            return Int64(st.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(st.st_mtimespec.tv_nsec)
        #else
            return Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        #endif
    }

    /// The status-change time of a `stat`, in nanoseconds since 1970.
    @inlinable
    public static func changeTime(_ st: stat) -> Int64 {
        #if canImport(Darwin)
            return Int64(st.st_ctimespec.tv_sec) * 1_000_000_000 + Int64(st.st_ctimespec.tv_nsec)
        #else
            return Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
        #endif
    }

    /// The message `strerror` gives for an error number.
    public static func message(_ error: Int32) -> String { String(cString: strerror(error)) }
}
