//! Where sealed files are kept: [`FolderBlobStore`] (a local folder, the
//! default) and [`S3BlobStore`] (S3-compatible object storage). Both write
//! each object once and stream it in and out; only sealed bytes reach them
//! (the app seals before `put`).

mod folder;
mod s3;

pub use folder::FolderBlobStore;
pub use s3::{S3BlobStore, S3Settings};

use cbt_ports::{BlobError, BlobName};
use uuid::Uuid;

/// The account and blob ids of `name`, which must be exactly
/// `{uuid}/{uuid}` in the hyphenated lower-case form: the only names that
/// become paths or object keys. `BlobName::new` only makes such names; this
/// check keeps a path from ever holding `..`, a `/` of its own or an
/// absolute path should that change.
fn checked(name: &BlobName) -> Result<(Uuid, Uuid), BlobError> {
    checked_str(name.as_str())
}

fn checked_str(name: &str) -> Result<(Uuid, Uuid), BlobError> {
    let refused = || BlobError::Failed("not a stored file's name".into());
    let (account, blob) = name.split_once('/').ok_or_else(refused)?;
    match (Uuid::try_parse(account), Uuid::try_parse(blob)) {
        // Round-tripping refuses the other spellings a UUID parser accepts
        // (braces, upper case, no hyphens, `urn:uuid:`).
        (Ok(a), Ok(b)) if a.to_string() == account && b.to_string() == blob => Ok((a, b)),
        _ => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_two_uuids_and_nothing_else() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(checked(&BlobName::new(a, b)).ok(), Some((a, b)));
        for bad in [
            "",
            "..",
            "../x",
            &format!("{a}/.."),
            &format!("../{b}"),
            &format!("/{a}/{b}"),
            &format!("{a}/{b}/"),
            &format!("{a}/{b}/.."),
            &format!("{a}/../{b}"),
            &format!("{a}//{b}"),
            &format!("{a}"),
            &format!("{}/{b}", a.simple()),
            &format!("{a}/{}", b.to_string().to_uppercase()),
            &format!("{{{a}}}/{b}"),
            &format!("urn:uuid:{a}/{b}"),
        ] {
            assert!(checked_str(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
