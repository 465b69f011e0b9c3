//! Prints the glibc it runs on: on provided.al2, `/opt/bin/glibc-al2` says 2.26.

unsafe extern "C" {
    fn gnu_get_libc_version() -> *const std::ffi::c_char;
}

fn main() {
    // SAFETY: glibc returns a pointer to a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(gnu_get_libc_version()) };
    println!("glibc-al2 runs on glibc {}", version.to_string_lossy());
}
