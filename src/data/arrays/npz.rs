//! Reading `.npz` archives as `np.savez` writes them: a zip of `.npy` files, stored
//! without compression (zip64 sizes included). Entries are found through the central
//! directory, every offset and size is checked against the archive's real size before
//! it is used, and every entry's CRC-32 is verified.
//!
//! `np.savez_compressed` archives (deflate) are refused with a message saying so.

use std::path::Path;

use super::npy::parse_npy;
use super::NdArray;
use crate::data::input::read_file;
use crate::error::{Error, Result};

/// Reads every array of an `.npz` file, in archive order, named without the `.npy`
/// suffix; errors name the file (and the entry).
pub fn read_npz(path: &Path) -> Result<Vec<(String, NdArray)>> {
    let bytes = read_file(path)?;
    parse_npz(&bytes).map_err(|message| Error::Format {
        path: path.to_path_buf(),
        line: None,
        message,
    })
}

/// [`read_npz`] on the bytes of an archive.
pub fn parse_npz(bytes: &[u8]) -> std::result::Result<Vec<(String, NdArray)>, String> {
    zip_entries(bytes)?
        .into_iter()
        .map(|(name, data)| {
            let array = parse_npy(data).map_err(|m| format!("{name}: {m}"))?;
            let name = name.strip_suffix(".npy").unwrap_or(&name).to_owned();
            Ok((name, array))
        })
        .collect()
}

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
const END64: u32 = 0x0606_4b50;
const END64_LOCATOR: u32 = 0x0706_4b50;
/// A 32-bit size or offset field that says "see the zip64 extra field".
const SATURATED: u64 = 0xffff_ffff;

/// Little-endian fields of an archive, each read checked against its end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&self, at: usize, len: usize) -> std::result::Result<&'a [u8], String> {
        at.checked_add(len)
            .and_then(|end| self.0.get(at..end))
            .ok_or_else(|| {
                format!(
                    "the archive is truncated: {len} bytes at offset {at} lie past its end ({} bytes)",
                    self.0.len()
                )
            })
    }

    fn u16(&self, at: usize) -> std::result::Result<u16, String> {
        let b = self.bytes(at, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&self, at: usize) -> std::result::Result<u32, String> {
        let b = self.bytes(at, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&self, at: usize) -> std::result::Result<u64, String> {
        let b = self.bytes(at, 8)?;
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        Ok(u64::from_le_bytes(w))
    }
}

/// An offset or size read from the archive, as a position in it.
fn position(value: u64, what: &str) -> std::result::Result<usize, String> {
    usize::try_from(value)
        .map_err(|_| format!("{what} {value} is beyond this machine's address space"))
}

/// The `(name, data)` of every entry of a stored (uncompressed) zip, from its central
/// directory, each checked against its CRC-32.
fn zip_entries(bytes: &[u8]) -> std::result::Result<Vec<(String, &[u8])>, String> {
    let zip = Reader(bytes);
    if bytes.len() < 22 || zip.u32(0)? != LOCAL {
        return Err("not a zip (.npz) file".into());
    }
    // The end record: 22 bytes plus a comment of at most 65535, at the very end.
    let earliest = bytes.len().saturating_sub(22 + usize::from(u16::MAX));
    let end = (earliest..=bytes.len() - 22)
        .rev()
        .find(|&at| zip.u32(at).ok() == Some(END))
        .ok_or("no end-of-central-directory record: the archive is truncated or not a zip")?;
    let mut count = u64::from(zip.u16(end + 10)?);
    let mut directory = u64::from(zip.u32(end + 16)?);
    if count == 0xffff || directory == SATURATED {
        // Zip64: the locator right before the end record points at the zip64 end record.
        let locator = end
            .checked_sub(20)
            .filter(|&at| zip.u32(at).ok() == Some(END64_LOCATOR))
            .ok_or("zip64 sizes without a zip64 end-of-directory locator")?;
        let end64 = position(zip.u64(locator + 8)?, "zip64 end record offset")?;
        if zip.u32(end64)? != END64 {
            return Err(format!(
                "no zip64 end-of-directory record at offset {end64}"
            ));
        }
        count = zip.u64(end64 + 32)?;
        directory = zip.u64(end64 + 48)?;
    }
    // A central header takes at least 46 bytes: that bounds the entry count by the file.
    if count > (bytes.len() / 46) as u64 {
        return Err(format!(
            "the directory claims {count} entries, more than the {} bytes can hold",
            bytes.len()
        ));
    }
    let mut at = position(directory, "central directory offset")?;
    let mut entries = Vec::with_capacity(count as usize);
    for _ in 0..count {
        if zip.u32(at)? != CENTRAL {
            return Err(format!("no central directory header at offset {at}"));
        }
        let flags = zip.u16(at + 8)?;
        let method = zip.u16(at + 10)?;
        let crc = zip.u32(at + 16)?;
        let mut compressed = u64::from(zip.u32(at + 20)?);
        let mut size = u64::from(zip.u32(at + 24)?);
        let name_len = usize::from(zip.u16(at + 28)?);
        let extra_len = usize::from(zip.u16(at + 30)?);
        let comment_len = usize::from(zip.u16(at + 32)?);
        let mut local = u64::from(zip.u32(at + 42)?);
        let name = String::from_utf8_lossy(zip.bytes(at + 46, name_len)?).into_owned();
        let extra = zip.bytes(at + 46 + name_len, extra_len)?;
        if size == SATURATED || compressed == SATURATED || local == SATURATED {
            // The zip64 field (id 1) holds, in this order, each saturated one of: the
            // size, the compressed size, the local header's offset.
            let mut wide = zip64_fields(extra).ok_or_else(|| {
                format!("entry `{name}` has saturated 32-bit fields but no zip64 field")
            })?;
            let mut next = |field: &mut u64| -> std::result::Result<(), String> {
                if *field == SATURATED {
                    *field = wide
                        .next()
                        .ok_or_else(|| format!("entry `{name}`: the zip64 field is short"))?;
                }
                Ok(())
            };
            next(&mut size)?;
            next(&mut compressed)?;
            next(&mut local)?;
        }
        if flags & 1 != 0 {
            return Err(format!("entry `{name}` is encrypted"));
        }
        if method != 0 {
            return Err(format!(
                "entry `{name}` is compressed (method {method}); only uncompressed archives \
                 (np.savez, not np.savez_compressed) are supported"
            ));
        }
        if size != compressed {
            return Err(format!("entry `{name}`: stored size differs from size"));
        }
        let local = position(local, "local header offset")?;
        if zip.u32(local)? != LOCAL {
            return Err(format!("entry `{name}`: no local header at offset {local}"));
        }
        let data_start =
            local + 30 + usize::from(zip.u16(local + 26)?) + usize::from(zip.u16(local + 28)?);
        let data = zip.bytes(data_start, position(size, "entry size")?)?;
        if crc32(data) != crc {
            return Err(format!(
                "entry `{name}` fails its CRC-32 check (corrupt file)"
            ));
        }
        entries.push((name, data));
        at += 46 + name_len + extra_len + comment_len;
    }
    if entries.is_empty() {
        return Err("the archive has no entries".into());
    }
    Ok(entries)
}

/// The 64-bit values of the zip64 extended-information extra field, if present.
fn zip64_fields(mut extra: &[u8]) -> Option<impl Iterator<Item = u64> + '_> {
    while extra.len() >= 4 {
        let id = u16::from_le_bytes([extra[0], extra[1]]);
        let len = usize::from(u16::from_le_bytes([extra[2], extra[3]]));
        let body = extra.get(4..4 + len)?;
        if id == 1 {
            return Some(body.chunks_exact(8).map(|c| {
                let mut w = [0u8; 8];
                w.copy_from_slice(c);
                u64::from_le_bytes(w)
            }));
        }
        extra = &extra[4 + len..];
    }
    None
}

/// CRC-32 (IEEE 802.3, reflected), as zip uses: a byte at a time through a table.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[n] = c;
            n += 1;
        }
        table
    };
    let mut crc = !0u32;
    for &byte in data {
        crc = TABLE[((crc ^ u32::from(byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::super::{encode_npy, ArrayData};
    use super::*;

    /// A stored zip of `entries`, as Python's zipfile writes it (optionally with zip64
    /// extra fields that hold the sizes).
    fn zip(entries: &[(&str, Vec<u8>)], zip64: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data) in entries {
            let offset = out.len() as u32;
            let crc = crc32(data);
            let (small, extra) = if zip64 {
                let mut extra = vec![1, 0, 16, 0];
                extra.extend((data.len() as u64).to_le_bytes());
                extra.extend((data.len() as u64).to_le_bytes());
                (u32::MAX, extra)
            } else {
                (data.len() as u32, Vec::new())
            };
            out.extend(LOCAL.to_le_bytes());
            out.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend(crc.to_le_bytes());
            out.extend(small.to_le_bytes());
            out.extend(small.to_le_bytes());
            out.extend((name.len() as u16).to_le_bytes());
            out.extend((extra.len() as u16).to_le_bytes());
            out.extend(name.as_bytes());
            out.extend(&extra);
            out.extend(data);
            central.extend(CENTRAL.to_le_bytes());
            central.extend([20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend(crc.to_le_bytes());
            central.extend(small.to_le_bytes());
            central.extend(small.to_le_bytes());
            central.extend((name.len() as u16).to_le_bytes());
            central.extend((extra.len() as u16).to_le_bytes());
            // Comment length, disk, internal and external attributes.
            central.extend([0; 10]);
            central.extend(offset.to_le_bytes());
            central.extend(name.as_bytes());
            central.extend(&extra);
        }
        let directory = out.len() as u32;
        out.extend(&central);
        out.extend(END.to_le_bytes());
        out.extend([0, 0, 0, 0]);
        out.extend((entries.len() as u16).to_le_bytes());
        out.extend((entries.len() as u16).to_le_bytes());
        out.extend((central.len() as u32).to_le_bytes());
        out.extend(directory.to_le_bytes());
        out.extend([0, 0]);
        out
    }

    fn arrays() -> Vec<(&'static str, NdArray)> {
        vec![
            (
                "edges",
                NdArray::new(vec![2, 2], ArrayData::I64(vec![0, 1, 1, 2])).unwrap(),
            ),
            (
                "x",
                NdArray::new(vec![3], ArrayData::F32(vec![0.5, -1.0, 2.0])).unwrap(),
            ),
        ]
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn stored_archives_read_back_with_and_without_zip64() {
        for zip64 in [false, true] {
            let entries: Vec<(String, Vec<u8>)> = arrays()
                .into_iter()
                .map(|(n, a)| (format!("{n}.npy"), encode_npy(&a)))
                .collect();
            let refs: Vec<(&str, Vec<u8>)> = entries
                .iter()
                .map(|(n, d)| (n.as_str(), d.clone()))
                .collect();
            let read = parse_npz(&zip(&refs, zip64)).unwrap();
            let expected: Vec<(String, NdArray)> = arrays()
                .into_iter()
                .map(|(n, a)| (n.to_owned(), a))
                .collect();
            assert_eq!(read, expected, "zip64 {zip64}");
        }
    }

    #[test]
    fn damaged_archives_are_errors_not_panics() {
        let good = zip(&[("a.npy", encode_npy(&arrays()[0].1))], false);
        assert!(parse_npz(&good).is_ok());
        assert!(parse_npz(b"").unwrap_err().contains("not a zip"));
        assert!(parse_npz(b"hello world, this is not a zip file")
            .unwrap_err()
            .contains("not a zip"));
        // Every truncation and every single flipped byte: an error or, where the flip
        // only touched a field that is not used, the same arrays.
        for cut in 0..good.len() {
            assert!(parse_npz(&good[..cut]).is_err(), "cut at {cut}");
        }
        for at in 0..good.len() {
            for bit in [0x01, 0x80] {
                let mut bad = good.clone();
                bad[at] ^= bit;
                if let Ok(arrays) = parse_npz(&bad) {
                    assert_eq!(arrays.len(), 1, "flip at {at}");
                }
            }
        }
        let mut flipped = good.clone();
        flipped[100] ^= 0x40;
        assert!(parse_npz(&flipped).unwrap_err().contains("CRC-32"));
        // Compressed entries are named.
        let mut deflated = good.clone();
        let central = deflated.len() - 22 - 46 - 5;
        deflated[central + 10] = 8;
        assert!(parse_npz(&deflated)
            .unwrap_err()
            .contains("np.savez_compressed"));
    }
}
