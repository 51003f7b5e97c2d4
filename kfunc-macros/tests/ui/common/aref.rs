// The kernel's `ARef<T>` (7.3: `kernel::sync::aref::ARef`), for the typed compile-fail
// cases: include!("common/aref.rs") after the prelude. The cases fail before the shim would
// call `from_raw`/`into_raw`, so the type alone is enough.

mod kernel {
    pub mod sync {
        pub mod aref {
            pub struct ARef<T>(core::ptr::NonNull<T>);
        }
    }
}
use kernel::sync::aref::ARef;
