//! The bounds on what trailwatch reads whole, in one place (the README's
//! limits table lists them): each such read is of a regular file, refused
//! past its size with a message that names the limit. Log files are never
//! read whole: they stream, one record (at most 1 MiB) at a time.

use std::fs::File;
use std::io::{Error, ErrorKind, Read};
use std::path::Path;

/// A digest file, compressed or as inflated. CloudTrail's digests list an
/// hour of one region's log files, a few hundred bytes each: even a trail
/// delivering a file every few seconds stays far below this.
pub const MAX_DIGEST_BYTES: u64 = 64 << 20;

/// The output of `aws cloudtrail list-public-keys` (a few keys of ~400 bytes).
pub const MAX_PUBLIC_KEYS_BYTES: u64 = 1 << 20;

/// A digest's signature saved next to it (512 hex digits).
pub const MAX_SIGNATURE_BYTES: u64 = 64 << 10;

/// A rule file (the built-in catalogue of every rule is under 100 KiB).
pub const MAX_RULE_FILE_BYTES: u64 = 4 << 20;

/// A previous summary (`summary --format json`), whose lists are capped.
pub const MAX_SUMMARY_BYTES: u64 = 64 << 20;

/// A regular expression once compiled, and its lazy DFA's cache: a filter
/// pattern's `%regex%` (two at most per pattern) and each wildcard text
/// filter of `query`. `\w{1000}` is refused rather than taking tens of MB.
pub const MAX_REGEX_BYTES: usize = 1 << 20;

/// A regular expression compiled within [`MAX_REGEX_BYTES`]; past it, an
/// error that says so.
pub fn regex(source: &str) -> std::result::Result<regex::Regex, String> {
    regex::RegexBuilder::new(source).size_limit(MAX_REGEX_BYTES).dfa_size_limit(MAX_REGEX_BYTES).build().map_err(|e| {
        match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("larger than {} once compiled: refused (use fewer or smaller repetitions)", size(limit as u64))
            }
            e => e.to_string(),
        }
    })
}

/// A value held in memory (a row kept for sorting, a group's key, a
/// finding kept for printing) is cut past this many bytes, and the cut is
/// shown (`…(+N bytes)`). Text output shows at most 300 characters of a
/// field, so there the cut is never seen.
pub const MAX_HELD_VALUE_BYTES: usize = 2 << 10;

/// Everything held at once by `query --sort`, grouped reports, or `scan`'s
/// text output (findings held to print the most severe first).
pub const MAX_HELD_BYTES: usize = 128 << 20;

/// What kind of file this is, in words, when it is not a regular file.
fn not_regular(kind: std::fs::FileType) -> Option<&'static str> {
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some("a FIFO");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
        if kind.is_char_device() || kind.is_block_device() {
            return Some("a device");
        }
    }
    Some("not a regular file")
}

/// Refuses anything but a regular file (after symbolic links; a loop of
/// links is the system's "too many levels of symbolic links").
pub fn check_regular(path: &Path) -> std::io::Result<()> {
    let kind = std::fs::metadata(path)?.file_type();
    match not_regular(kind) {
        None => Ok(()),
        Some(what) => Err(Error::new(ErrorKind::InvalidInput, format!("{what}, not a regular file: refused"))),
    }
}

/// The whole content of a regular file of at most `max` bytes.
pub fn read_regular(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    check_regular(path)?;
    read_at_most(File::open(path)?, max)
}

/// Everything `input` holds, refused past `max` bytes (never holding more
/// than `max + 1`).
pub fn read_at_most(input: impl Read, max: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    input.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(Error::new(ErrorKind::InvalidData, format!("larger than {}: refused", size(max))));
    }
    Ok(bytes)
}

/// `64 MiB`, `4 KiB`, `100 bytes`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_refused_past_their_bound_and_sizes_read_in_binary_units() {
        assert_eq!(read_at_most(&b"12345"[..], 5).unwrap(), b"12345");
        let e = read_at_most(&b"123456"[..], 5).unwrap_err();
        assert_eq!(e.to_string(), "larger than 5 bytes: refused");
        let e = read_at_most(std::io::repeat(0), MAX_PUBLIC_KEYS_BYTES).unwrap_err();
        assert_eq!(e.to_string(), "larger than 1 MiB: refused");
        assert_eq!(
            (size(64 << 20), size(64 << 10), size(1000)),
            ("64 MiB".into(), "64 KiB".into(), "1000 bytes".into())
        );
    }

    #[test]
    fn given_a_huge_repetition_when_compiled_then_the_regex_is_refused_and_a_small_one_is_not() {
        assert!(regex("[a-z]+@example\\.com").is_ok());
        let e = regex("\\w{1000}\\w{1000}").unwrap_err();
        assert_eq!(e, "larger than 1 MiB once compiled: refused (use fewer or smaller repetitions)");
    }

    #[cfg(unix)]
    #[test]
    fn given_a_device_or_a_directory_when_read_then_it_is_refused_with_what_it_is() {
        let e = read_regular(Path::new("/dev/zero"), 10).unwrap_err();
        assert_eq!(e.to_string(), "a device, not a regular file: refused");
        let e = read_regular(Path::new("/"), 10).unwrap_err();
        assert_eq!(e.to_string(), "a directory, not a regular file: refused");
    }
}
