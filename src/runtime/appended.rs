//! What a followed journal gained since the last look (`watch --follow`): a file from where
//! the last look stopped, or a run's folder in a state store (its batches in order), a piece at
//! a time; nothing at all while it has not changed.

/// The most read at once: a long journal is taken a piece at a time, so memory stays flat.
const PIECE: u64 = 4 << 20;

/// What was appended to `journal` since byte `from`, at most [`PIECE`] bytes, and whether that
/// reaches its end (`None`: it has not changed since the last look). A journal shorter than what
/// was read was replaced or cut.
pub(super) async fn appended(
    journal: &std::path::Path,
    from: u64,
    looked_at: &mut Option<u64>,
) -> Result<Option<(Vec<u8>, bool)>, (String, bool)> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let io = |e: std::io::Error| (e.to_string(), false);
    // A run's folder in a state store: its batches, in order, read as one journal.
    if tokio::fs::metadata(journal).await.map_err(io)?.is_dir() {
        return appended_batches(journal, from, looked_at).await;
    }
    let len = tokio::fs::metadata(journal).await.map_err(io)?.len();
    if len < from {
        let why = format!(
            "it is shorter ({len} bytes) than the {from} bytes already read: it was replaced or cut"
        );
        return Err((why, true));
    }
    if *looked_at == Some(len) {
        return Ok(None);
    }
    let mut file = tokio::fs::File::open(journal).await.map_err(io)?;
    file.seek(std::io::SeekFrom::Start(from))
        .await
        .map_err(io)?;
    let want = (len - from).min(PIECE);
    let mut bytes = Vec::with_capacity(want as usize);
    (&mut file)
        .take(want)
        .read_to_end(&mut bytes)
        .await
        .map_err(io)?;
    let at_end = from + bytes.len() as u64 >= len;
    // Looked at all of it only once the end was reached.
    *looked_at = at_end.then_some(len);
    Ok(Some((bytes, at_end)))
}

/// As [`appended`], for a run's folder in a state store: its batches (`journal/SEQ.jsonl`, each
/// written once) in order are the journal.
async fn appended_batches(
    run: &std::path::Path,
    from: u64,
    looked_at: &mut Option<u64>,
) -> Result<Option<(Vec<u8>, bool)>, (String, bool)> {
    let io = |e: std::io::Error| (e.to_string(), false);
    let mut batches = Vec::new();
    let mut dir = tokio::fs::read_dir(run.join("journal")).await.map_err(io)?;
    while let Some(e) = dir.next_entry().await.map_err(io)? {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".jsonl") && !name.starts_with('.') {
            batches.push((name, e.metadata().await.map_err(io)?.len()));
        }
    }
    batches.sort();
    let total: u64 = batches.iter().map(|(_, len)| len).sum();
    if total < from {
        let why = format!(
            "its batches hold {total} bytes, fewer than the {from} already read: one was removed"
        );
        return Err((why, true));
    }
    if *looked_at == Some(total) {
        return Ok(None);
    }
    let mut out = Vec::new();
    let mut start = 0u64;
    for (name, len) in batches {
        let end = start + len;
        if end > from && (out.len() as u64) < PIECE {
            let bytes = tokio::fs::read(run.join("journal").join(&name))
                .await
                .map_err(io)?;
            let skip = from.saturating_sub(start) as usize;
            out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
        }
        start = end;
    }
    let at_end = from + out.len() as u64 >= total;
    *looked_at = at_end.then_some(total);
    Ok(Some((out, at_end)))
}
