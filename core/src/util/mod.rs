//! Small helpers shared by the modules.

pub(crate) mod serde_array;
