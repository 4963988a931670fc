//! Logging that compiles away on the host.
//!
//! With the `defmt` feature (the default, and what every firmware uses) these macros are
//! defmt's. Without it (host builds: the power-cut tests, the fuzz targets) they only borrow
//! their arguments, so a host binary needs no defmt logger.

#[cfg(feature = "defmt")]
pub(crate) use defmt::{debug, error, info, warn};

#[cfg(not(feature = "defmt"))]
mod host {
    /// Borrows the arguments (so they count as used) and logs nothing.
    macro_rules! quiet {
        ($fmt:literal $(, $arg:expr)* $(,)?) => {{
            $( let _ = &$arg; )*
        }};
    }
    pub(crate) use quiet as debug;
    pub(crate) use quiet as error;
    pub(crate) use quiet as info;
    pub(crate) use quiet as warn;
}
#[cfg(not(feature = "defmt"))]
pub(crate) use host::{debug, error, info, warn};
