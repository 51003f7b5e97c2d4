//! Host (userspace) runtime of `#[kfunc]`.
//!
//! `use kfunc::{kfunc, kfunc_set};` gives the same macros as `kfunc_macros` (same
//! expansion), plus one entry per kfunc in the linkme distributed slice [`KFUNCS`], so a
//! userspace test can enumerate the kfuncs of its binary, their flags and metadata records.
//! Kernel modules do not use this crate: they import `kfunc_macros` directly (only `core`
//! in the expansion).

pub use kfunc_macros::__kfunc_host as kfunc;
pub use kfunc_macros::kfunc_set;

/// One kfunc registered by host-mode `#[kfunc]`.
#[derive(Debug, Clone, Copy)]
pub struct KfuncInfo {
    /// The kfunc's symbol name.
    pub name: &'static str,
    /// `KF_*` function flags, then `KF_PARAM_*` of arguments 0..5 (`__kfunc_flags_<name>`).
    pub flags: [u32; 6],
    /// The bytes of its metadata record (the static placed in `.kfunc.meta`).
    pub record: &'static [u8],
    /// The function's address.
    pub addr: __private::FnAddr,
}

/// Every host-mode `#[kfunc]` of the program.
#[linkme::distributed_slice]
pub static KFUNCS: [KfuncInfo];

/// Support for the expansion; not public API.
#[doc(hidden)]
pub mod __private {
    pub use linkme;

    /// A function address (`Sync` so it can sit in a static).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct FnAddr(pub *const ());

    // SAFETY: the address is only read, never dereferenced as data.
    unsafe impl Sync for FnAddr {}
    // SAFETY: as above.
    unsafe impl Send for FnAddr {}

    /// View a record as bytes.
    ///
    /// # Safety
    ///
    /// `T` must have no padding (the expansion checks the record's layout at compile time).
    pub const unsafe fn record_bytes<T>(r: &'static T) -> &'static [u8] {
        // SAFETY: `r` is a valid `T` of `size_of::<T>()` initialised bytes (no padding,
        // per the caller's contract), alive for `'static`.
        unsafe {
            core::slice::from_raw_parts((r as *const T).cast::<u8>(), core::mem::size_of::<T>())
        }
    }
}
