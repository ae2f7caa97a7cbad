//! Files that hold secrets or personal data — the local CA's private key, journals with names and ID numbers in
//! clear, certify's reports — are the owner's alone (0600), also when the file was there before with wider
//! permissions.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Creates `path` (or truncates it) for writing, private.
pub fn create(path: &Path) -> io::Result<File> {
    open(path, OpenOptions::new().write(true).create(true).truncate(true))
}

/// Opens `path` for appending (creating it), private.
pub fn append(path: &Path) -> io::Result<File> {
    open(path, OpenOptions::new().create(true).append(true))
}

/// Writes `bytes` to a private file at `path`.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) -> io::Result<()> {
    io::Write::write_all(&mut create(path)?, bytes.as_ref())
}

/// Makes an existing file private; true when its permissions were wider.
pub fn tighten(path: &Path) -> io::Result<bool> {
    restrict(&File::open(path)?)
}

fn open(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    // `mode` applies only to a file this call creates; one that was there keeps its permissions unless changed.
    restrict(&file)?;
    Ok(file)
}

#[cfg(unix)]
fn restrict(file: &File) -> io::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file.metadata()?.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return Ok(false);
    }
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(true)
}

#[cfg(not(unix))]
fn restrict(_: &File) -> io::Result<bool> {
    Ok(false)
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn new_and_existing_files_end_up_0600() {
        let dir = std::env::temp_dir().join(format!("nppa-private-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let fresh = dir.join("fresh");
        write(&fresh, "x").expect("write");
        assert_eq!(mode(&fresh), 0o600);
        let loose = dir.join("loose");
        std::fs::write(&loose, "old").expect("write");
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        append(&loose).expect("append");
        assert_eq!(mode(&loose), 0o600, "an existing 0644 file is tightened");
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        assert!(tighten(&loose).expect("tighten"));
        assert!(!tighten(&loose).expect("tighten"), "already private");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
