//! NATS subjects of the write log: one per dataset, so a consumer can follow one dataset and
//! the stream's per-subject order is the dataset's write order.
//!
//! A dataset RID holds dots, which NATS reads as token separators, so a RID is escaped into
//! one token: bytes outside `[A-Za-z0-9_-]` become `~XX` (hex). The escape is reversible.

/// Subject of the writes to `dataset` under `prefix` (`sightline.write`).
pub(crate) fn for_dataset(prefix: &str, dataset: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1 + dataset.len() + 8);
    out.push_str(prefix);
    out.push('.');
    for b in dataset.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            out.push('~');
            out.push_str(&format!("{b:02X}"));
        }
    }
    out
}

/// The subject filter of every write under `prefix`.
pub(crate) fn all(prefix: &str) -> String {
    format!("{prefix}.>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rids_become_one_token() {
        let s = for_dataset("sightline.write", "ri.nominal.main.dataset.a b*>~");
        assert_eq!(
            s,
            "sightline.write.ri~2Enominal~2Emain~2Edataset~2Ea~20b~2A~3E~7E"
        );
        assert_eq!(s.matches('.').count(), 2);
    }

    #[test]
    fn non_ascii_is_escaped_bytewise() {
        assert_eq!(for_dataset("p", "é"), "p.~C3~A9");
    }
}
