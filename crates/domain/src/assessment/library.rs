//! The shipped instruments: the TOML files of `crates/domain/instruments/`,
//! compiled in, parsed and validated once on first use. A test checks that
//! every file is valid, so `library()` failing means a file was broken
//! without running the tests; callers report it at start-up.

use std::sync::LazyLock;

use super::Instrument;
use crate::validation::FieldErrors;

/// The shipped definition files, in the order they are listed.
pub(super) const FILES: &[(&str, &str)] = &[
    ("phq-9.toml", include_str!("../../instruments/phq-9.toml")),
    ("gad-7.toml", include_str!("../../instruments/gad-7.toml")),
    ("pcl-5.toml", include_str!("../../instruments/pcl-5.toml")),
    ("dass-21.toml", include_str!("../../instruments/dass-21.toml")),
    ("wsas.toml", include_str!("../../instruments/wsas.toml")),
];

/// The shipped instruments.
#[derive(Debug)]
pub struct Library {
    instruments: Vec<Instrument>,
}

impl Library {
    pub fn all(&self) -> &[Instrument] {
        &self.instruments
    }

    pub fn get(&self, id: &str) -> Option<&Instrument> {
        self.instruments.iter().find(|i| i.id() == id)
    }
}

/// A shipped file that does not parse or validate, or a duplicate id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("instrument file {file} is invalid: {errors}")]
pub struct LibraryError {
    pub file: &'static str,
    pub errors: FieldErrors,
}

static LIBRARY: LazyLock<Result<Library, LibraryError>> = LazyLock::new(load);

/// The shipped instruments, parsed and validated on first use.
pub fn library() -> Result<&'static Library, LibraryError> {
    LIBRARY.as_ref().map_err(Clone::clone)
}

fn load() -> Result<Library, LibraryError> {
    let mut instruments: Vec<Instrument> = Vec::with_capacity(FILES.len());
    for (file, text) in FILES {
        let instrument = Instrument::from_toml(text).map_err(|errors| LibraryError { file, errors })?;
        if instruments.iter().any(|i| i.id() == instrument.id()) {
            let errors = crate::validation::FieldError::new("id", "Another shipped instrument has this id.").into();
            return Err(LibraryError { file, errors });
        }
        instruments.push(instrument);
    }
    Ok(Library { instruments })
}
